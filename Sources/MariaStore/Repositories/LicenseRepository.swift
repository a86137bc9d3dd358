import Foundation

/// License rows: their status and expiry, as fulfilment changes them.
public struct LicenseRepository {
    let connection: Connection
    let table: String
    let orders: String

    public init(_ connection: Connection, prefix: TablePrefix) {
        self.connection = connection
        table = prefix.table("licenses")
        orders = prefix.table("orders")
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
        try connection.query("""
            SELECT \(Self.columns) FROM \(table) l JOIN \(orders) o ON o.id = l.order_id WHERE o.subscription = ? ORDER BY l.id FOR UPDATE
            """, [subscription]).map(Self.decode)
    }

    public func find(_ id: Int64) throws -> License? {
        try connection.queryOne("SELECT \(Self.columns) FROM \(table) l WHERE l.id = ?", [id]).map(Self.decode)
    }

    public func update(_ id: Int64, status: Status, expiresAt: Date?, now: Date) throws {
        try connection.execute("UPDATE \(table) SET status = ?, expires_at = ?, updated_at = ? WHERE id = ?",
                               [status.rawValue, expiresAt.map(SQLTimestamp.string(from:)), SQLTimestamp.string(from: now), id])
    }

    static func decode(_ row: Row) throws -> License {
        License(id: try row.int("id"), status: Status(rawValue: try row.string("status")) ?? .disabled,
                expiresAt: try row.optionalString("expires_at").flatMap(SQLTimestamp.date(from:)), product: try row.string("product"))
    }
}
