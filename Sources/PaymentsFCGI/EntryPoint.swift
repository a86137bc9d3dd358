import ArgumentParser
import Foundation

/// `payments-fcgi`: the FastCGI responder and its operator commands.
struct PaymentsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "payments-fcgi",
        abstract: "Stripe payments, licenses and credits for WordPress sites, served over FastCGI.",
        subcommands: [
            ServeCommand.self, MigrateCommand.self, CheckConfigCommand.self, CatalogCommand.self, EventsCommand.self, OrdersCommand.self, LicenseCommand.self,
            DeliverCommand.self, OutboxCommand.self, ReconcileCommand.self, PruneCommand.self, SubscriptionsCommand.self, ReleaseCommand.self,
            AdminCommand.self, ReportCommand.self, AuditCommand.self, CustomerCommand.self, GrantsCommand.self,
        ],
        defaultSubcommand: ServeCommand.self)
}

@main
enum EntryPoint {
    static func main() {
        // Started as a CGI program the arguments are not ours (a query without '=' arrives as
        // argv), so they are not parsed: answer the request described by the environment.
        if ProcessInfo.processInfo.environment["GATEWAY_INTERFACE"] != nil {
            CGIMode.run()
        }
        PaymentsCommand.main()
    }
}
