import Foundation

/// Recurring revenue and the subscriptions behind it — the queries behind the dashboard's
/// subscription figures and `payments-fcgi report subscriptions`.
///
/// MRR at a moment is the sum, per currency, of the paid (and not wholly refunded) invoices
/// whose period covers that moment, each scaled to a month of 30.436875 days (an average
/// Gregorian month): a yearly plan of 120.00 counts 10.00.
public struct SubscriptionReport {
    let connection: Connection
    let prefix: TablePrefix

    public init(_ connection: Connection, prefix: TablePrefix) {
        self.connection = connection
        self.prefix = prefix
    }

    /// Seconds in the month MRR is scaled to.
    public static let monthSeconds: Int64 = 2_629_746

    /// Monthly recurring revenue of one currency (and plan, where grouped by plan).
    public struct Amount: Sendable, Equatable {
        public let currency: String
        public let plan: String
        public let amount: Int64
        public let subscriptions: Int64

        public init(currency: String, plan: String, amount: Int64, subscriptions: Int64) {
            self.currency = currency
            self.plan = plan
            self.amount = amount
            self.subscriptions = subscriptions
        }
    }

    /// MRR at `moment`, per currency and plan (catalogue product).
    public func mrr(at moment: Date) throws -> [Amount] {
        let stamp = moment
        return try connection.query(
            """
            SELECT UPPER(i.currency) AS currency, COALESCE(s.product, '(unknown)') AS plan,
                   CAST(ROUND(SUM((i.amount_paid - i.amount_refunded) * ? / GREATEST(TIMESTAMPDIFF(SECOND, i.period_start, i.period_end), 1))) AS SIGNED) AS amount,
                   COUNT(DISTINCT i.subscription) AS subscriptions
            FROM \(prefix.table("invoices")) i LEFT JOIN \(prefix.table("subscriptions")) s ON s.subscription = i.subscription
            WHERE i.amount_paid > i.amount_refunded AND i.period_start <= ? AND i.period_end > ?
            GROUP BY currency, plan ORDER BY currency, plan
            """, [Self.monthSeconds, stamp, stamp]
        ).map { row in
            Amount(
                currency: try row.string("currency"), plan: try row.string("plan"), amount: try row.int("amount"),
                subscriptions: try row.int("subscriptions"))
        }
    }

    /// `amounts` summed over plans: one per currency.
    public static func byCurrency(_ amounts: [Amount]) -> [Amount] {
        var order: [String] = []
        var totals: [String: Amount] = [:]
        for amount in amounts {
            if let sum = totals[amount.currency] {
                totals[amount.currency] = Amount(
                    currency: amount.currency, plan: "*", amount: sum.amount + amount.amount,
                    subscriptions: sum.subscriptions + amount.subscriptions)
            } else {
                order.append(amount.currency)
                totals[amount.currency] = Amount(currency: amount.currency, plan: "*", amount: amount.amount, subscriptions: amount.subscriptions)
            }
        }
        return order.map { totals[$0]! }
    }

    /// Subscriptions by status and plan as they stand.
    public struct Counts: Sendable, Equatable {
        /// Active, trialing or past due (still being paid for or retried).
        public var active: Int64 = 0
        /// Started in the range.
        public var started: Int64 = 0
        /// Canceled in the range (their last change was the cancellation).
        public var churned: Int64 = 0
        /// Active subscriptions per plan.
        public var activeByPlan: [(plan: String, count: Int64)] = []

        public init() {}

        public static func == (a: Counts, b: Counts) -> Bool {
            a.active == b.active && a.started == b.started && a.churned == b.churned
                && a.activeByPlan.map(\.plan) == b.activeByPlan.map(\.plan) && a.activeByPlan.map(\.count) == b.activeByPlan.map(\.count)
        }
    }

    /// Subscription counts: active now, started and canceled in [`from`, `to`).
    public func counts(from: Date, to: Date) throws -> Counts {
        let table = prefix.table("subscriptions")
        let range = [from, to]
        var counts = Counts()
        let live = "status IN ('active', 'trialing', 'past_due')"
        counts.active = try connection.queryOne("SELECT COUNT(*) AS n FROM \(table) WHERE \(live)")?.int("n") ?? 0
        counts.started = try connection.queryOne("SELECT COUNT(*) AS n FROM \(table) WHERE created_at >= ? AND created_at < ?", range)?.int("n") ?? 0
        counts.churned =
            try connection.queryOne(
                "SELECT COUNT(*) AS n FROM \(table) WHERE status = 'canceled' AND updated_at >= ? AND updated_at < ?",
                range)?.int("n") ?? 0
        counts.activeByPlan = try connection.query(
            "SELECT COALESCE(product, '(unknown)') AS plan, COUNT(*) AS n FROM \(table) WHERE \(live) GROUP BY plan ORDER BY plan"
        )
        .map { (try $0.string("plan"), try $0.int("n")) }
        return counts
    }
}
