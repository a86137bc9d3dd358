import ArgumentParser
import Handlers

/// `payments-fcgi subscriptions check [--dry-run]`: subscriptions kept in step with Stripe.
struct SubscriptionsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "subscriptions", abstract: "Keep subscriptions in step with Stripe.", subcommands: [Check.self])

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List Stripe's subscriptions and repair what differs here (status, period end, cancellation, plan, quantity); run hourly.")
        @OptionGroup var options: ConfigurationOptions
        @Flag(help: "Report the differences without changing anything.") var dryRun = false

        func run() throws {
            try options.withContext { context in
                let (checked, changes) = try SubscriptionCheck(context: context).run(dryRun: dryRun)
                for change in changes { print("\(change.subscription): \(change.differences.joined(separator: "; "))") }
                print("checked \(checked) subscriptions, \(changes.count) \(dryRun ? "would change" : "changed")")
            }
        }
    }
}
