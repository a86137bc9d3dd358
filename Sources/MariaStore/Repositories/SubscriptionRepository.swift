import Foundation

/// Subscriptions as Stripe reports them, latest state by event time.
public struct SubscriptionRepository {
    let connection: Connection
    let table: String

    public init(_ connection: Connection, prefix: TablePrefix) {
        self.connection = connection
        table = prefix.table("subscriptions")
    }

    /// Statuses a subscription never leaves.
    public static let terminal: Set<String> = ["canceled", "incomplete_expired"]

    public struct Subscription: Sendable, Equatable {
        public let subscription: String
        public let status: String
        public let currentPeriodEnd: Date?
        public let cancelAtPeriodEnd: Bool
    }

    /// Applies a reported state if at least as new as the stored one; returns whether it did.
    @discardableResult
    public func report(subscription: String, stripeCustomerID: String?, status: String, currentPeriodEnd: Date?, cancelAtPeriodEnd: Bool,
                       eventCreated: Int64, now: Date) throws -> Bool {
        let stamp = SQLTimestamp.string(from: now)
        let periodEnd = currentPeriodEnd.map(SQLTimestamp.string(from:))
        if try connection.queryOne("SELECT id FROM \(table) WHERE subscription = ? FOR UPDATE", [subscription]) == nil {
            try connection.insertNew("""
                INSERT INTO \(table) (subscription, stripe_customer_id, status, current_period_end, cancel_at_period_end, status_event_created, created_at, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """, [subscription, stripeCustomerID, status, periodEnd, cancelAtPeriodEnd, eventCreated, stamp, stamp])
            return true
        }
        // Newer states win, except that an ended subscription never comes back (Stripe cannot
        // reactivate it), so its end applies whenever it arrives and nothing applies after it.
        let ending = Self.terminal.contains(status)
        return try connection.execute("""
            UPDATE \(table) SET status = ?, current_period_end = COALESCE(?, current_period_end), cancel_at_period_end = ?,
                status_event_created = GREATEST(status_event_created, ?), updated_at = ?
            WHERE subscription = ? AND status NOT IN ('canceled', 'incomplete_expired') AND (status_event_created <= ? OR ?)
            """, [status, periodEnd, cancelAtPeriodEnd, eventCreated, stamp, subscription, eventCreated, ending]).affectedRows > 0
    }

    public func find(_ subscription: String) throws -> Subscription? {
        try connection.queryOne("SELECT subscription, status, current_period_end, cancel_at_period_end FROM \(table) WHERE subscription = ?", [subscription]).map { row in
            Subscription(subscription: try row.string("subscription"), status: try row.string("status"),
                         currentPeriodEnd: try row.optionalString("current_period_end").flatMap(SQLTimestamp.date(from:)),
                         cancelAtPeriodEnd: try row.int("cancel_at_period_end") == 1)
        }
    }
}
