import Foundation

/// What was granted for each order line, and the licenses behind it (credits: `CreditLedger`).
/// `(order, line)` is unique, so a line can be granted once only.
public struct GrantRepository {
    let connection: Connection
    let grants: String
    let licenses: String
    let orders: String
    let disputes: String

    public init(_ connection: Connection, prefix: TablePrefix) {
        self.connection = connection
        grants = prefix.table("grants")
        licenses = prefix.table("licenses")
        orders = prefix.table("orders")
        disputes = prefix.table("disputes")
    }

    /// The entitlements a customer holds: granted by paid orders, not refunded or lost.
    public func entitlements(customerID: Int64) throws -> [(entitlement: String, product: String, order: String)] {
        try connection.query(
            """
            SELECT g.entitlement, g.product, o.session_id FROM \(grants) g JOIN \(orders) o ON o.id = g.order_id
            WHERE o.customer_id = ? AND o.status = 'paid' AND g.entitlement IS NOT NULL
              AND NOT EXISTS (SELECT 1 FROM \(disputes) d WHERE d.payment_intent = o.payment_intent AND d.status = 'lost')
            ORDER BY g.id
            """, [customerID]
        ).map { (try $0.string("entitlement"), try $0.string("product"), try $0.string("session_id")) }
    }

    /// The lines of an order already granted.
    public func grantedLines(orderID: Int64) throws -> Set<Int> {
        Set(try connection.query("SELECT line FROM \(grants) WHERE order_id = ?", [orderID]).map { Int(try $0.int("line")) })
    }

    public struct Grant: Sendable, Equatable {
        public let line: Int
        public let product: String
        public let kind: String
        public let quantity: Int
        public let licenseID: Int64?
        public let credits: Int64?
        public let entitlement: String?
    }

    public func grants(orderID: Int64) throws -> [Grant] {
        try connection.query(
            "SELECT line, product, kind, quantity, license_id, credits, entitlement FROM \(grants) WHERE order_id = ? ORDER BY line", [orderID]
        ).map { row in
            Grant(
                line: Int(try row.int("line")), product: try row.string("product"), kind: try row.string("kind"),
                quantity: Int(try row.int("quantity")), licenseID: try row.optionalInt("license_id"),
                credits: try row.optionalInt("credits"), entitlement: try row.optionalString("entitlement"))
        }
    }

    public func recordGrant(
        orderID: Int64, line: Int, product: String, kind: String, quantity: Int,
        licenseID: Int64?, credits: Int64?, entitlement: String?, now: Date
    ) throws {
        try connection.execute(
            """
            INSERT INTO \(grants) (order_id, line, product, kind, quantity, license_id, credits, entitlement, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, [orderID, line, product, kind, quantity, licenseID, credits, entitlement, now])
    }

    /// Stores a new license by selector and verifier (never the key). Throws `.duplicateKey`
    /// if the selector is taken (the caller draws a new key).
    public func insertLicense(
        selector: String, verifier: [UInt8], product: String, tier: String?, activationLimit: Int,
        expiresAt: Date?, customerID: Int64?, orderID: Int64?, now: Date
    ) throws -> Int64 {
        return Int64(
            try connection.execute(
                """
                INSERT INTO \(licenses) (selector, verifier, product, tier, activation_limit, status, expires_at, customer_id, order_id, created_at, updated_at)
                VALUES (?, ?, ?, ?, ?, 'active', ?, ?, ?, ?, ?)
                """, [selector, verifier, product, tier, activationLimit, expiresAt, customerID, orderID, now, now]
            ).lastInsertID)
    }
}
