import ArgumentParser
import Foundation
import Handlers
import MariaStore

/// `payments-fcgi orders attention`: paid orders an operator must look at.
struct OrdersCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "orders",
        abstract: "Orders that need an operator.",
        subcommands: [Attention.self, Fulfil.self])

    struct Attention: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List orders flagged for attention (for example a price missing from the catalogue).",
            discussion: "Add the missing product (payments-fcgi catalog add …), then: payments-fcgi orders fulfil SESSION_ID.")
        @OptionGroup var options: ConfigurationOptions

        func run() throws {
            let orders = try CatalogCommand.withStore(options) { store in
                try store.unitOfWork { try OrderRepository($0, prefix: store.prefix).needingAttention() }
            }
            if orders.isEmpty { print("no order needs attention") }
            for order in orders {
                print("\(order.sessionID)\t\(order.status.rawValue)\t\(order.amountTotal) \(order.currency)\t\(order.attention ?? "")")
            }
        }
    }

    struct Fulfil: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Fetch a Checkout Session from Stripe and grant whatever is still due (safe to repeat).")
        @OptionGroup var options: ConfigurationOptions
        @Argument(help: "The Checkout Session id (cs_…).") var session: String

        func run() throws {
            try options.withContext { context in
                do {
                    let order = try CheckoutFulfilment(context: context, actor: "operator:cli").fulfil(sessionID: session)
                    print("\(session): \(order?.status.rawValue ?? "no order")" + (order?.attention.map { ", still needs attention: \($0)" } ?? ""))
                } catch {
                    StandardError.write("\(session): \(error)\n")
                    throw ExitCode(1)
                }
            }
        }
    }
}

/// `payments-fcgi reconcile`: fulfil paid sessions whose webhook never arrived.
struct ReconcileCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reconcile",
        abstract: "Fulfil Checkout Sessions completed recently that no webhook fulfilled (run hourly from cron).")
    @OptionGroup var options: ConfigurationOptions
    @Option(help: "How far back to look, in hours.") var hours = 72

    func run() throws {
        try options.withContext { context in
            do {
                let report = try Reconciliation(context: context).run(hours: hours)
                print("examined \(report.examined) sessions, fulfilled \(report.fulfilled.count)" + (report.fulfilled.isEmpty ? "" : ": " + report.fulfilled.joined(separator: ", ")))
                for failure in report.failed { StandardError.write("reconcile: \(failure.session) not applied: \(failure.reason)\n") }
                if !report.failed.isEmpty { throw ExitCode(1) }
            } catch let exit as ExitCode {
                throw exit
            } catch {
                StandardError.write("reconcile: \(error)\n")
                throw ExitCode(1)
            }
        }
    }
}
