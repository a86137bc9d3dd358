import ArgumentParser
import Foundation
import Handlers
import MariaStore

/// `payments-fcgi report revenue|subscriptions`: the dashboard's numbers, from the same queries,
/// for cron and accountants.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report", abstract: "Revenue and subscription reports (the admin dashboard's numbers).",
        subcommands: [Revenue.self, Subscriptions.self])

    enum Format: String, ExpressibleByArgument { case text, csv, json }

    static func day(_ text: String, _ name: String) throws -> Date {
        guard let date = BusinessCalendar.parseDay(text) else { throw ValidationError("--\(name) must be a date: YYYY-MM-DD") }
        return date
    }

    struct Revenue: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Sales per day or month and currency: gross, refunds, disputes, net.",
            discussion: """
                A sale counts on the day it was made (UTC): a paid one-off order or a paid subscription invoice. Refunds and lost \
                disputes are those of the period's sales. Amounts are in the currency's own units; currencies are never added up.
                """)
        @OptionGroup var options: ConfigurationOptions
        @Option(help: "First day (YYYY-MM-DD, UTC).") var from: String
        @Option(help: "Last day, included (YYYY-MM-DD, UTC).") var to: String
        @Option(help: "day or month.") var by: String = "day"
        @Option(help: "Only this currency (ISO code).") var currency: String?
        @Flag(help: "One line per product too.") var byProduct = false
        @Flag(help: "Comma-separated values.") var csv = false
        @Flag(help: "JSON (amounts in minor units).") var json = false

        func run() throws {
            guard let period = RevenueReport.Period(rawValue: by) else { throw ValidationError("--by must be day or month") }
            let start = try ReportCommand.day(from, "from")
            let end = try ReportCommand.day(to, "to").addingTimeInterval(86_400)
            guard start < end else { throw ValidationError("--to must not be before --from") }
            let lines = try CatalogCommand.withStore(options) { store in
                try store.withConnection { try RevenueReport($0, prefix: store.prefix).lines(from: start, to: end, by: period, currency: currency) }
            }
            let shown = byProduct ? lines : RevenueReport.byPeriodAndCurrency(lines)
            if json {
                for line in shown {
                    var pairs: [(String, JSONValue)] = [("period", .string(line.period)), ("currency", .string(line.currency))]
                    if byProduct { pairs.append(("product", .string(line.product))) }
                    pairs += [
                        ("sales", .int(line.sales)), ("gross", .int(line.gross)), ("refunds", .int(line.refunds)),
                        ("disputes", .int(line.disputes)), ("net", .int(line.net)),
                    ]
                    print(String(decoding: JSONValue.object(pairs).serialized(), as: UTF8.self))
                }
                return
            }
            let separator = csv ? "," : "\t"
            print((["period", "currency"] + (byProduct ? ["product"] : []) + ["sales", "gross", "refunds", "disputes", "net"]).joined(separator: separator))
            for line in shown {
                let money = [line.gross, line.refunds, line.disputes, line.net].map { Money.decimal($0, currency: line.currency) }
                print(([line.period, line.currency] + (byProduct ? [line.product] : []) + [String(line.sales)] + money).joined(separator: separator))
            }
        }
    }

    struct Subscriptions: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "MRR per currency and plan, active subscriptions, new and churned ones.",
            discussion: "MRR counts each paid period that covers the moment, scaled to an average month (30.436875 days).")
        @OptionGroup var options: ConfigurationOptions
        @Option(help: "Start of the range for new and churned subscriptions (YYYY-MM-DD; default: this month's first day).") var from: String?
        @Option(help: "Last day of that range, included (default: today).") var to: String?
        @Flag(help: "JSON.") var json = false

        func run() throws {
            let now = Date()
            let start = try from.map { try ReportCommand.day($0, "from") } ?? BusinessCalendar.startOfMonth(now)
            let end =
                try to.map { try ReportCommand.day($0, "to") }.map { $0.addingTimeInterval(86_400) }
                ?? BusinessCalendar.startOfDay(now).addingTimeInterval(86_400)
            let (mrr, counts) = try CatalogCommand.withStore(options) { store in
                try store.withConnection { connection in
                    let report = SubscriptionReport(connection, prefix: store.prefix)
                    return (try report.mrr(at: min(now, end)), try report.counts(from: start, to: end))
                }
            }
            if json {
                let value = JSONValue.object([
                    "mrr": .array(SubscriptionReport.byCurrency(mrr).map { .object(["currency": .string($0.currency), "amount": .int($0.amount)]) }),
                    "mrr_by_plan": .array(
                        mrr.map {
                            .object([
                                "currency": .string($0.currency), "plan": .string($0.plan), "amount": .int($0.amount),
                                "subscriptions": .int($0.subscriptions),
                            ])
                        }),
                    "active": .int(counts.active), "started": .int(counts.started), "churned": .int(counts.churned),
                    "active_by_plan": .array(counts.activeByPlan.map { .object(["plan": .string($0.plan), "count": .int($0.count)]) }),
                ])
                print(String(decoding: value.serialized(), as: UTF8.self))
                return
            }
            for amount in SubscriptionReport.byCurrency(mrr) { print("MRR\t\(amount.currency)\t\(Money.decimal(amount.amount, currency: amount.currency))") }
            for amount in mrr { print("MRR by plan\t\(amount.plan)\t\(amount.currency)\t\(Money.decimal(amount.amount, currency: amount.currency))") }
            print("active\t\(counts.active)")
            for plan in counts.activeByPlan { print("active by plan\t\(plan.plan)\t\(plan.count)") }
            print("started\t\(counts.started)\nchurned\t\(counts.churned)")
        }
    }
}
