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
                try store.withConnection { try OrderRepository($0, prefix: store.prefix).needingAttention() }
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
