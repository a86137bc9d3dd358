import Foundation

/// Money taken, per period, currency and product — the one query behind the dashboard's
/// revenue figures and charts and `payments-fcgi report revenue`.
///
/// A sale is a paid one-off order (its Checkout Session) or a paid subscription invoice (the
/// first one included: a subscription's checkout order carries no money of its own here). Each
/// sale counts in the period it was made: `gross` is what was paid, `refunds` what was refunded
/// of it since, `disputes` what lost disputes took of it, and `net` the rest. Currencies are
/// kept apart, never summed.
public struct RevenueReport {
    let connection: Connection
    let prefix: TablePrefix

    public init(_ connection: Connection, prefix: TablePrefix) {
        self.connection = connection
        self.prefix = prefix
    }

    /// How sales are grouped in time (UTC).
    public enum Period: String, Sendable, CaseIterable {
        case day, month

        var format: String { self == .day ? "%Y-%m-%d" : "%Y-%m" }
    }

    /// The totals of one period, currency and product.
    public struct Line: Sendable, Equatable {
        public let period: String
        public let currency: String
        public let product: String
        public let sales: Int64
        public let gross: Int64
        public let refunds: Int64
        public let disputes: Int64
        public var net: Int64 { gross - refunds - disputes }

        public init(period: String, currency: String, product: String, sales: Int64, gross: Int64, refunds: Int64, disputes: Int64) {
            self.period = period
            self.currency = currency
            self.product = product
            self.sales = sales
            self.gross = gross
            self.refunds = refunds
            self.disputes = disputes
        }
    }

    /// Sales made in [`from`, `to`), by period, currency and product, in that order.
    public func lines(from: Date, to: Date, by period: Period, currency: String? = nil) throws -> [Line] {
        var parameters: [any SQLBindable] = [period.format, from, to]
        var currencyCondition = ""
        if let currency {
            currencyCondition = " AND currency = ?"
            parameters.append(currency.uppercased())
        }
        let disputes = prefix.table("disputes")
        return try connection.query(
            """
            SELECT DATE_FORMAT(at, ?) AS period, currency, product, COUNT(*) AS sales, SUM(gross) AS gross, SUM(refunded) AS refunds,
                   SUM(disputed) AS disputes
            FROM (
                SELECT o.created_at AS at, UPPER(o.currency) AS currency, o.amount_total AS gross, o.amount_refunded AS refunded,
                       COALESCE((SELECT SUM(d.amount) FROM \(disputes) d WHERE d.payment_intent = o.payment_intent AND d.status = 'lost'), 0) AS disputed,
                       COALESCE((SELECT MIN(g.product) FROM \(prefix.table("grants")) g WHERE g.order_id = o.id), '(unknown)') AS product
                FROM \(prefix.table("orders")) o
                WHERE o.mode = 'payment' AND o.status IN ('paid', 'refunded') AND o.amount_total > 0
                UNION ALL
                SELECT i.created_at, UPPER(i.currency), i.amount_paid, i.amount_refunded,
                       COALESCE((SELECT SUM(d.amount) FROM \(disputes) d WHERE d.payment_intent = i.payment_intent AND d.status = 'lost'), 0),
                       COALESCE(s.product, '(subscription)')
                FROM \(prefix.table("invoices")) i LEFT JOIN \(prefix.table("subscriptions")) s ON s.subscription = i.subscription
                WHERE i.amount_paid > 0
            ) sales
            WHERE at >= ? AND at < ?\(currencyCondition)
            GROUP BY period, currency, product
            ORDER BY period, currency, product
            """, parameters
        ).map { row in
            Line(
                period: try row.string("period"), currency: try row.string("currency"), product: try row.string("product"),
                sales: try row.int("sales"), gross: try row.int("gross"), refunds: try row.int("refunds"), disputes: try row.int("disputes"))
        }
    }

    /// `lines` summed over products: one line per period and currency (product `*`).
    public static func byPeriodAndCurrency(_ lines: [Line]) -> [Line] {
        var order: [String] = []
        var totals: [String: Line] = [:]
        for line in lines {
            let key = line.period + "\u{0}" + line.currency
            if let sum = totals[key] {
                totals[key] = Line(
                    period: line.period, currency: line.currency, product: "*", sales: sum.sales + line.sales,
                    gross: sum.gross + line.gross, refunds: sum.refunds + line.refunds, disputes: sum.disputes + line.disputes)
            } else {
                order.append(key)
                totals[key] = Line(
                    period: line.period, currency: line.currency, product: "*", sales: line.sales, gross: line.gross,
                    refunds: line.refunds, disputes: line.disputes)
            }
        }
        return order.map { totals[$0]! }
    }

    /// `lines` summed over periods and products: one line per currency (period and product `*`).
    public static func byCurrency(_ lines: [Line]) -> [Line] {
        byPeriodAndCurrency(
            lines.map {
                Line(period: "*", currency: $0.currency, product: $0.product, sales: $0.sales, gross: $0.gross, refunds: $0.refunds, disputes: $0.disputes)
            })
    }
}
