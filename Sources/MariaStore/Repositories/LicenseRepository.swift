import Foundation

/// License rows: their status and expiry, as fulfilment changes them.
public struct LicenseRepository {
    let connection: Connection
    let table: String
    let orders: String
    let customers: String
    let activations: String

    public init(_ connection: Connection, prefix: TablePrefix) {
        self.connection = connection
        table = prefix.table("licenses")
        orders = prefix.table("orders")
        customers = prefix.table("customers")
        activations = prefix.table("activations")
    }

    /// The statuses a license can have; the license API answers with them.
    public enum Status: String, Sendable, CaseIterable {
        case active, expired, disabled, refunded, suspended
    }

    public struct License: Sendable, Equatable {
        public let id: Int64
        public let status: Status
        public let expiresAt: Date?
        public let product: String
    }

    private static let columns = "l.id, l.status, l.expires_at, l.product"

    /// Licenses issued for an order, locked.
    public func licenses(orderID: Int64) throws -> [License] {
        try connection.query("SELECT \(Self.columns) FROM \(table) l WHERE l.order_id = ? ORDER BY l.id FOR UPDATE", [orderID]).map(Self.decode)
    }

    /// Licenses issued for a subscription's orders, locked.
    public func licenses(subscription: String) throws -> [License] {
        try connection.query(
            """
            SELECT \(Self.columns) FROM \(table) l JOIN \(orders) o ON o.id = l.order_id WHERE o.subscription = ? ORDER BY l.id FOR UPDATE
            """, [subscription]
        ).map(Self.decode)
    }

    /// A customer's license as the shop's site may show it (never its key).
    public struct Summary: Sendable, Equatable {
        public let id: Int64
        public let product: String
        public let tier: String?
        public let status: Status
        public let expiresAt: Date?
        public let activationLimit: Int
        public let seatsUsed: Int
    }

    /// A customer's licenses with the production seats they use, newest first.
    public func summaries(customerID: Int64) throws -> [Summary] {
        try connection.query(
            """
            SELECT l.id, l.product, l.tier, l.status, l.expires_at, l.activation_limit,
                   (SELECT COUNT(*) FROM \(activations) a WHERE a.license_id = l.id AND a.kind = 'production') AS seats
            FROM \(table) l WHERE l.customer_id = ? ORDER BY l.id DESC
            """, [customerID]
        ).map { row in
            Summary(
                id: try row.int("id"), product: try row.string("product"), tier: try row.optionalString("tier"),
                status: try row.value("status", as: Status.self), expiresAt: try row.optionalDate("expires_at"),
                activationLimit: Int(try row.int("activation_limit")), seatsUsed: Int(try row.int("seats")))
        }
    }

    /// Everything a license check needs, found by the key's selector.
    public struct Record: Sendable, Equatable {
        public let id: Int64
        public let verifier: [UInt8]
        public let product: String
        public let tier: String?
        public let activationLimit: Int
        public let status: Status
        public let expiresAt: Date?
    }

    /// The license with this selector; `lock` holds its row until the transaction ends (every
    /// activation of one license is serialised on it).
    public func record(selector: String, lock: Bool) throws -> Record? {
        try connection.queryOne(
            """
            SELECT id, verifier, product, tier, activation_limit, status, expires_at FROM \(table) WHERE selector = ?\(lock ? " FOR UPDATE" : "")
            """, [selector]
        ).map(Self.decodeRecord)
    }

    /// The license with this selector and all its activations, in one consistent read and one
    /// round trip: the whole of a verify when nothing needs writing.
    public func recordWithActivations(selector: String) throws -> (record: Record, activations: [ActivationRepository.Activation])? {
        let rows = try connection.query(
            """
            SELECT l.id, l.verifier, l.product, l.tier, l.activation_limit, l.status, l.expires_at,
                   a.activation_id, a.site, a.kind, a.last_seen
            FROM \(table) l LEFT JOIN \(activations) a ON a.license_id = l.id WHERE l.selector = ? ORDER BY a.id
            """, [selector])
        guard let first = rows.first else { return nil }
        let activations = try rows.filter { try !$0.isNull("activation_id") }.map(ActivationRepository.decode)
        return (try Self.decodeRecord(first), activations)
    }

    /// Locks a license for a decision about it (a status changed, a seat freed by an operator)
    /// and writes its row (`countSeatChange`), returning it as it stands.
    public func lockForDecision(id: Int64) throws -> Record? {
        guard try countSeatChange(id) else { return nil }
        return try record(id: id)
    }

    /// Writes the license row (`seat_version + 1`) in a transaction that takes or frees a seat.
    /// That write is what makes two seat decisions conflict on a Galera cluster, where
    /// `FOR UPDATE` locks only on the node that runs it: both write this row, so the later
    /// commit fails certification (1213) and its transaction runs again on the seats the first
    /// one left. On one server it is the same exclusive lock `FOR UPDATE` already holds.
    /// Decisions that change nothing (a refusal, a site already active) need not write it.
    @discardableResult
    public func countSeatChange(_ id: Int64) throws -> Bool {
        try connection.execute("UPDATE \(table) SET seat_version = seat_version + 1 WHERE id = ?", [id]).affectedRows == 1
    }

    public func record(id: Int64) throws -> Record? {
        try connection.queryOne("SELECT id, verifier, product, tier, activation_limit, status, expires_at FROM \(table) WHERE id = ? FOR UPDATE", [id])
            .map(Self.decodeRecord)
    }

    static func decodeRecord(_ row: Row) throws -> Record {
        Record(
            id: try row.int("id"), verifier: try row.bytes("verifier"), product: try row.string("product"), tier: try row.optionalString("tier"),
            activationLimit: Int(try row.int("activation_limit")), status: try row.value("status", as: Status.self),
            expiresAt: try row.optionalDate("expires_at"))
    }

    public func find(_ id: Int64) throws -> License? {
        try connection.queryOne("SELECT \(Self.columns) FROM \(table) l WHERE l.id = ?", [id]).map(Self.decode)
    }

    /// Replaces the key of a license (the old key stops working at commit). Throws
    /// `.duplicateKey` if the new selector is taken.
    public func replaceKey(_ id: Int64, selector: String, verifier: [UInt8], now: Date) throws {
        try connection.execute(
            "UPDATE \(table) SET selector = ?, verifier = ?, updated_at = ? WHERE id = ?",
            [selector, verifier, now, id])
    }

    /// A license locked, with its product and the buyer's email (for the key's email).
    public func lockForKeyChange(_ id: Int64) throws -> (license: License, email: String?)? {
        guard
            let row = try connection.queryOne(
                """
                SELECT \(Self.columns), c.email FROM \(table) l LEFT JOIN \(customers) c ON c.id = l.customer_id WHERE l.id = ? FOR UPDATE
                """, [id])
        else { return nil }
        return (try Self.decode(row), try row.optionalString("email"))
    }

    /// Keeps a new key sealed for the success page until `until`.
    public func setDisplay(_ id: Int64, sealed: [UInt8]?, until: Date?) throws {
        try connection.execute(
            "UPDATE \(table) SET display_sealed = ?, display_until = ? WHERE id = ?",
            [sealed, until, id])
    }

    /// The licenses of an order with their display copies (for the success page).
    public func displays(orderID: Int64) throws -> [(id: Int64, product: String, status: Status, sealed: [UInt8]?, until: Date?)] {
        try connection.query("SELECT id, product, status, display_sealed, display_until FROM \(table) WHERE order_id = ? ORDER BY id", [orderID]).map { row in
            (
                try row.int("id"), try row.string("product"), try row.value("status", as: Status.self),
                try row.value("display_sealed") == .null ? nil : try row.bytes("display_sealed"),
                try row.optionalDate("display_until")
            )
        }
    }

    /// Erases display copies whose window has passed.
    public func eraseExpiredDisplays(now: Date) throws {
        try connection.execute(
            "UPDATE \(table) SET display_sealed = NULL, display_until = NULL WHERE display_until IS NOT NULL AND display_until < ?",
            [now])
    }

    /// Moves a license to another plan: its product, tier and activation limit. Seats above a
    /// lower limit stay until deactivated; new activations are refused meanwhile.
    public func changePlan(_ id: Int64, product: String, tier: String?, activationLimit: Int, now: Date) throws {
        try connection.execute(
            "UPDATE \(table) SET product = ?, tier = ?, activation_limit = ?, updated_at = ? WHERE id = ?",
            [product, tier, activationLimit, now, id])
    }

    /// A license's plan as stored (product, tier, limit).
    public func plan(_ id: Int64) throws -> (product: String, tier: String?, activationLimit: Int)? {
        try connection.queryOne("SELECT product, tier, activation_limit FROM \(table) WHERE id = ?", [id]).map {
            (try $0.string("product"), try $0.optionalString("tier"), Int(try $0.int("activation_limit")))
        }
    }

    public func update(_ id: Int64, status: Status, expiresAt: Date?, now: Date) throws {
        try connection.execute(
            "UPDATE \(table) SET status = ?, expires_at = ?, updated_at = ? WHERE id = ?",
            [status.rawValue, expiresAt, now, id])
    }

    static func decode(_ row: Row) throws -> License {
        License(
            id: try row.int("id"), status: try row.value("status", as: Status.self),
            expiresAt: try row.optionalDate("expires_at"), product: try row.string("product"))
    }
}
