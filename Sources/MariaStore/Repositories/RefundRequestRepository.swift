import Foundation

/// Refunds asked for through the API, recorded before Stripe is called, by the caller's
/// Idempotency-Key: a request retried after a timeout finds its first record (and the same
/// Stripe idempotency key), so one request never becomes two refunds.
public struct RefundRequestRepository {
    let connection: Connection
    let table: String

    public init(_ connection: Connection, prefix: TablePrefix) {
        self.connection = connection
        table = prefix.table("refund_requests")
    }

    public struct Request: Sendable, Equatable {
        public var idempotencyKey: String
        public var paymentIntent: String
        /// nil: the whole remaining amount.
        public var amount: Int64?
        public var reason: String?
        /// Stripe's refund id once Stripe answered.
        public var refund: String?
        public var status: String
        public var refundedAmount: Int64?

        public init(
            idempotencyKey: String, paymentIntent: String, amount: Int64?, reason: String?, refund: String? = nil,
            status: String = "requested", refundedAmount: Int64? = nil
        ) {
            self.idempotencyKey = idempotencyKey
            self.paymentIntent = paymentIntent
            self.amount = amount
            self.reason = reason
            self.refund = refund
            self.status = status
            self.refundedAmount = refundedAmount
        }

        /// Whether `other` asks for the same refund (a retry, not a new request).
        public func asksTheSame(as other: Request) -> Bool {
            paymentIntent == other.paymentIntent && amount == other.amount && reason == other.reason
        }
    }

    /// Records `request` unless its key is known; returns the request stored under the key
    /// (locked until the transaction ends), which is `request` itself when it is new.
    public func recordOrFind(_ request: Request, actor: String, now: Date) throws -> Request {
        // The key's row lock serialises two simultaneous requests with one key.
        try connection.execute(
            """
            INSERT INTO \(table) (idempotency_key, payment_intent, amount, reason, status, actor, created_at, updated_at)
            VALUES (?, ?, ?, ?, 'requested', ?, ?, ?) ON DUPLICATE KEY UPDATE id = id
            """, [request.idempotencyKey, request.paymentIntent, request.amount, request.reason, actor, now, now])
        guard
            let row = try connection.queryOne(
                """
                SELECT idempotency_key, payment_intent, amount, reason, refund, status, refunded_amount FROM \(table) WHERE idempotency_key = ? FOR UPDATE
                """, [request.idempotencyKey])
        else {
            throw DatabaseError(kind: .misuse, message: "a refund request vanished inside its own transaction")
        }
        return Request(
            idempotencyKey: try row.string("idempotency_key"), paymentIntent: try row.string("payment_intent"),
            amount: try row.optionalInt("amount"), reason: try row.optionalString("reason"), refund: try row.optionalString("refund"),
            status: try row.string("status"), refundedAmount: try row.optionalInt("refunded_amount"))
    }

    /// Stores Stripe's answer for a request.
    public func complete(_ idempotencyKey: String, refund: String, status: String, refundedAmount: Int64, now: Date) throws {
        try connection.execute(
            "UPDATE \(table) SET refund = ?, status = ?, refunded_amount = ?, updated_at = ? WHERE idempotency_key = ?",
            [refund, status, refundedAmount, now, idempotencyKey])
    }
}
