import Foundation
import MariaStore

/// The numbers of the dashboard, gathered in one read: revenue (today, this month, the last
/// twelve months) per currency, daily and monthly revenue per product, MRR now and at each
/// month's end, subscriptions, licenses, activations, credits, webhook and outbox health.
/// The reports (`payments-fcgi report …`) run the same queries.
struct BusinessFigures {
    let now: Date
    let today: Date
    let monthStart: Date
    let yearStart: Date
    /// Per day, currency and product, from `yearStart` to now.
    let revenue: [RevenueReport.Line]
    let mrrNow: [SubscriptionReport.Amount]
    /// MRR per currency at the end of each of the last twelve months (the current one: now).
    let mrrByMonth: [(month: String, amounts: [SubscriptionReport.Amount])]
    let subscriptions: SubscriptionReport.Counts
    let activity: OperationsReport.Activity
    let activationsPerDay: [(day: String, count: Int64)]
    let webhook: OperationsReport.WebhookHealth
    let outbox: OperationsReport.OutboxState
    let attention: [OrderRepository.Order]

    static func gather(_ context: Context) throws -> BusinessFigures {
        let now = context.clock.now
        let today = BusinessCalendar.startOfDay(now)
        let monthStart = BusinessCalendar.startOfMonth(now)
        let yearStart = BusinessCalendar.adding(months: -11, to: monthStart)
        let tomorrow = BusinessCalendar.adding(days: 1, to: today)
        let store = context.store
        return try store.withConnection { connection in
            let subscriptions = SubscriptionReport(connection, prefix: store.prefix)
            let operations = OperationsReport(connection, prefix: store.prefix)
            var mrrByMonth: [(String, [SubscriptionReport.Amount])] = []
            for offset in 0..<12 {
                let month = BusinessCalendar.adding(months: offset, to: yearStart)
                let end = min(now, BusinessCalendar.adding(months: 1, to: month).addingTimeInterval(-1))
                mrrByMonth.append((BusinessCalendar.monthLabel(month), SubscriptionReport.byCurrency(try subscriptions.mrr(at: end))))
            }
            return BusinessFigures(
                now: now, today: today, monthStart: monthStart, yearStart: yearStart,
                revenue: try RevenueReport(connection, prefix: store.prefix).lines(from: yearStart, to: tomorrow, by: .day),
                mrrNow: try subscriptions.mrr(at: now), mrrByMonth: mrrByMonth,
                subscriptions: try subscriptions.counts(from: monthStart, to: tomorrow),
                activity: try operations.activity(from: monthStart, to: tomorrow),
                activationsPerDay: try operations.activationsPerDay(from: BusinessCalendar.adding(days: -29, to: today), to: tomorrow),
                webhook: try operations.webhookHealth(), outbox: try operations.outbox(),
                attention: try OrderRepository(connection, prefix: store.prefix).needingAttention())
        }
    }

    /// Revenue per currency over the days from `from` on (day labels compare as text).
    func revenueTotals(since from: Date) -> [RevenueReport.Line] {
        let first = BusinessCalendar.dayLabel(from)
        return RevenueReport.byCurrency(revenue.filter { $0.period >= first })
    }

    /// The currencies sold in, in a stable order.
    var currencies: [String] { Array(Set(revenue.map(\.currency) + mrrByMonth.flatMap { $0.amounts.map(\.currency) })).sorted() }

    /// Gross revenue of one currency per category (`days` or months) and product.
    func revenueSeries(currency: String, categories: [String], monthly: Bool) -> [SVGChart.Series] {
        let lines = revenue.filter { $0.currency == currency }
        let products = Array(Set(lines.map(\.product))).sorted()
        return products.map { product in
            SVGChart.Series(
                name: product,
                values: categories.map { category in
                    lines.filter { $0.product == product && (monthly ? $0.period.hasPrefix(category) : $0.period == category) }.reduce(0) { $0 + $1.gross }
                })
        }
    }
}
