import ArgumentParser
import Foundation
import Handlers
import MariaStore

/// `payments-fcgi customer export|erase EMAIL`: a person's data rights (GDPR art. 15, 17, 20).
struct CustomerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "customer", abstract: "Everything held about a customer: a copy, or its erasure.", subcommands: [Export.self, Erase.self])

    static func customer(_ email: String, _ context: Context) throws -> Int64 {
        guard let id = try PersonalDataService(context: context).customer(email: email) else {
            StandardError.write("no customer with this email\n")
            throw ExitCode(1)
        }
        return id
    }

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print everything held about the customer as one JSON object (never a license key).")
        @OptionGroup var options: ConfigurationOptions
        @Argument(help: "The customer's email.") var email: String

        func run() throws {
            let value = try options.withContext { context in
                try PersonalDataService(context: context).export(customerID: try CustomerCommand.customer(email, context))
            }
            print(String(decoding: value.serialized(), as: UTF8.self))
        }
    }

    struct Erase: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Anonymise the customer: the email, checkout metadata and site, receipt links, and messages and kept event payloads that name them.",
            discussion: "Ids, amounts and dates stay for accounting, and the customer's licenses keep working. Erase them at Stripe too.")
        @OptionGroup var options: ConfigurationOptions
        @Argument(help: "The customer's email.") var email: String
        @Flag(help: "Only say what would change.") var dryRun = false

        func run() throws {
            let (id, report) = try options.withContext { context in
                let id = try CustomerCommand.customer(email, context)
                return (id, try PersonalDataService(context: context).erase(customerID: id, dryRun: dryRun, actor: "operator:cli"))
            }
            print(
                "\(dryRun ? "would anonymise" : "anonymised") customer \(id): \(report.orders) orders, \(report.payments) payments, "
                    + "\(report.outbox) messages, \(report.eventPayloads) kept event payloads")
        }
    }
}
