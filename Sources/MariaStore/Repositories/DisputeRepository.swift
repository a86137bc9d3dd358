import Foundation

/// Disputes (chargebacks), keyed by Stripe's dispute id, latest state by event time.
public struct DisputeRepository {
    let connection: Connection
    let table: String

    public init(_ connection: Connection, prefix: TablePrefix) {
        self.connection = connection
        table = prefix.table("disputes")
    }

    public struct Dispute: Sendable, Equatable {
        public let dispute: String
        public let paymentIntent: String?
        public let status: String
    }

    /// Applies a reported status if at least as new as the stored one; returns whether it did,
    /// and the status it replaced (nil for a new dispute).
    @discardableResult
    public func report(
        dispute: String, paymentIntent: String?, status: String, amount: Int64, currency: String, reason: String?,
        eventCreated: Int64, now: Date
    ) throws -> (applied: Bool, before: String?) {
        guard let before = try connection.queryOne("SELECT status FROM \(table) WHERE dispute = ? FOR UPDATE", [dispute])?.string("status") else {
            try connection.insertNew(
                """
                INSERT INTO \(table) (dispute, payment_intent, status, amount, currency, reason, status_event_created, created_at, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, [dispute, paymentIntent, status, amount, currency, reason, eventCreated, now, now])
            return (true, nil)
        }
        let applied =
            try connection.execute(
                """
                UPDATE \(table) SET status = ?, status_event_created = ?, updated_at = ? WHERE dispute = ? AND status_event_created <= ?
                """, [status, eventCreated, now, dispute, eventCreated]
            ).affectedRows > 0
        return (applied, before)
    }

    /// The disputes about a payment.
    public func disputes(paymentIntent: String) throws -> [Dispute] {
        try connection.query("SELECT dispute, payment_intent, status FROM \(table) WHERE payment_intent = ? ORDER BY id", [paymentIntent]).map { row in
            Dispute(dispute: try row.string("dispute"), paymentIntent: try row.optionalString("payment_intent"), status: try row.string("status"))
        }
    }
}
