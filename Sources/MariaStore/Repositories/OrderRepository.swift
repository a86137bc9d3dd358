import Foundation

/// Orders: one per Checkout Session, keyed by the session id.
public struct OrderRepository {
    let connection: Connection
    let table: String

    public init(_ connection: Connection, prefix: TablePrefix) {
        self.connection = connection
        self.table = prefix.table("orders")
    }

    public enum Status: String, Sendable, CaseIterable {
        /// Completed, payment still on its way (bank debits).
        case pending
        case paid
        case failed
        case expired
        case refunded
    }

    public struct Order: Sendable, Equatable {
        public let id: Int64
        public let sessionID: String
        public let customerID: Int64?
        public let status: Status
        public let mode: String
        public let paymentIntent: String?
        public let amountTotal: Int64
        public let amountRefunded: Int64
        public let currency: String
        public let attention: String?
        public var clientReferenceID: String? = nil
        public var createdAt: Date? = nil
    }

    /// What a new order is made of.
    public struct NewOrder: Sendable {
        public var sessionID: String
        public var customerID: Int64?
        public var status: Status
        public var mode: String
        public var paymentIntent: String?
        public var subscription: String?
        public var amountTotal: Int64
        public var currency: String
        public var clientReferenceID: String?
        public var metadata: String?
        public var livemode: Bool
        public var siteURL: String? = nil

        public init(
            sessionID: String, customerID: Int64?, status: Status, mode: String, paymentIntent: String?, subscription: String?,
            amountTotal: Int64, currency: String, clientReferenceID: String?, metadata: String?, livemode: Bool
        ) {
            self.sessionID = sessionID
            self.customerID = customerID
            self.status = status
            self.mode = mode
            self.paymentIntent = paymentIntent
            self.subscription = subscription
            self.amountTotal = amountTotal
            self.currency = currency
            self.clientReferenceID = clientReferenceID
            self.metadata = metadata
            self.livemode = livemode
        }
    }

    private static let columns =
        "id, session_id, customer_id, status, mode, payment_intent, amount_total, amount_refunded, currency, attention, client_reference_id, created_at"

    /// The order of a session, locked until the transaction ends: every change to one order
    /// is serialised on this row.
    public func lock(sessionID: String) throws -> Order? {
        try connection.queryOne("SELECT \(Self.columns) FROM \(table) WHERE session_id = ? FOR UPDATE", [sessionID]).map(Self.decode)
    }

    public func find(sessionID: String) throws -> Order? {
        try connection.queryOne("SELECT \(Self.columns) FROM \(table) WHERE session_id = ?", [sessionID]).map(Self.decode)
    }

    /// Inserts the order and returns it locked (the insert holds the row lock).
    public func insert(_ order: NewOrder, now: Date) throws -> Order {
        let id = try connection.insertNew(
            """
            INSERT INTO \(table) (session_id, customer_id, status, mode, payment_intent, subscription, amount_total, currency,
                client_reference_id, metadata, livemode, site_url, created_at, updated_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                order.sessionID, order.customerID, order.status.rawValue, order.mode, order.paymentIntent, order.subscription,
                order.amountTotal, order.currency, order.clientReferenceID, order.metadata, order.livemode, order.siteURL, now, now,
            ]
        ).lastInsertID
        return Order(
            id: Int64(id), sessionID: order.sessionID, customerID: order.customerID, status: order.status, mode: order.mode,
            paymentIntent: order.paymentIntent, amountTotal: order.amountTotal, amountRefunded: 0, currency: order.currency, attention: nil)
    }

    /// The order paid by a PaymentIntent, locked.
    public func lock(paymentIntent: String) throws -> Order? {
        try connection.queryOne("SELECT \(Self.columns) FROM \(table) WHERE payment_intent = ? ORDER BY id LIMIT 1 FOR UPDATE", [paymentIntent]).map(
            Self.decode)
    }

    /// Records the refunded total (it only grows).
    public func setRefunded(_ id: Int64, amount: Int64, now: Date) throws {
        try connection.execute(
            "UPDATE \(table) SET amount_refunded = GREATEST(amount_refunded, ?), updated_at = ? WHERE id = ?",
            [amount, now, id])
    }

    /// Records the buyer of an order first seen without one.
    public func setCustomer(_ id: Int64, _ customerID: Int64, now: Date) throws {
        try connection.execute(
            "UPDATE \(table) SET customer_id = ?, updated_at = ? WHERE id = ? AND customer_id IS NULL",
            [customerID, now, id])
    }

    /// Records the refunded total as it is now (a refund that failed makes it smaller).
    public func setRefundedExactly(_ id: Int64, amount: Int64, now: Date) throws {
        try connection.execute("UPDATE \(table) SET amount_refunded = ?, updated_at = ? WHERE id = ?", [amount, now, id])
    }

    public func setStatus(_ id: Int64, _ status: Status, now: Date) throws {
        try connection.execute("UPDATE \(table) SET status = ?, updated_at = ? WHERE id = ?", [status.rawValue, now, id])
    }

    /// Marks an order as needing an operator (an unknown price, say), with the reason.
    public func flag(_ id: Int64, attention: String, now: Date) throws {
        try connection.execute("UPDATE \(table) SET attention = ?, updated_at = ? WHERE id = ?", [attention, now, id])
    }

    public func clearAttention(_ id: Int64, now: Date) throws {
        try connection.execute("UPDATE \(table) SET attention = NULL, updated_at = ? WHERE id = ?", [now, id])
    }

    /// A customer's orders, newest first.
    public func orders(customerID: Int64, limit: Int = 100) throws -> [Order] {
        try connection.query("SELECT \(Self.columns) FROM \(table) WHERE customer_id = ? ORDER BY id DESC LIMIT ?", [customerID, limit]).map(Self.decode)
    }

    /// Orders that need an operator.
    public func needingAttention() throws -> [Order] {
        try connection.query("SELECT \(Self.columns) FROM \(table) WHERE attention IS NOT NULL ORDER BY id").map(Self.decode)
    }

    static func decode(_ row: Row) throws -> Order {
        Order(
            id: try row.int("id"), sessionID: try row.string("session_id"), customerID: try row.optionalInt("customer_id"),
            status: try row.value("status", as: Status.self), mode: try row.string("mode"),
            paymentIntent: try row.optionalString("payment_intent"), amountTotal: try row.int("amount_total"),
            amountRefunded: try row.int("amount_refunded"), currency: try row.string("currency"), attention: try row.optionalString("attention"),
            clientReferenceID: try row.optionalString("client_reference_id"), createdAt: try row.optionalDate("created_at"))
    }
}
