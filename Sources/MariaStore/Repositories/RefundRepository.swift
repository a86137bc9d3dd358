import Foundation

/// Refunds as Stripe reports them (`refund.*`, `charge.refund.updated`), latest status by
/// event time, so that a refund which fails or is cancelled after it was counted can be taken
/// back.
public struct RefundRepository {
    let connection: Connection
    let table: String

    public init(_ connection: Connection, prefix: TablePrefix) {
        self.connection = connection
        table = prefix.table("refunds")
    }

    /// Statuses of a refund that never returned the money.
    public static let undone: Set<String> = ["failed", "canceled"]

    /// Applies a reported status if at least as new as the stored one; returns the status it
    /// had before (nil: new), or `.none` when the report was older and nothing changed.
    public func report(refund: String, paymentIntent: String?, amount: Int64, status: String, eventCreated: Int64, now: Date) throws -> (
        applied: Bool, before: String?
    ) {
        guard let row = try connection.queryOne("SELECT status, status_event_created FROM \(table) WHERE refund = ? FOR UPDATE", [refund]) else {
            try connection.insertNew(
                """
                INSERT INTO \(table) (refund, payment_intent, amount, status, status_event_created, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
                """, [refund, paymentIntent, amount, status, eventCreated, now, now])
            return (true, nil)
        }
        let before = try row.string("status")
        // An undone refund stays undone: Stripe does not retry a failed refund, it makes a new one.
        guard try row.int("status_event_created") <= eventCreated, !Self.undone.contains(before) else { return (false, before) }
        try connection.execute(
            "UPDATE \(table) SET status = ?, amount = ?, status_event_created = ?, updated_at = ? WHERE refund = ?",
            [status, amount, eventCreated, now, refund])
        return (true, before)
    }

    /// The total of a PaymentIntent's refunds that failed or were cancelled.
    public func undoneTotal(paymentIntent: String) throws -> Int64 {
        try connection.queryOne(
            "SELECT COALESCE(SUM(amount), 0) AS total FROM \(table) WHERE payment_intent = ? AND status IN ('failed', 'canceled')",
            [paymentIntent])?.int("total") ?? 0
    }
}
