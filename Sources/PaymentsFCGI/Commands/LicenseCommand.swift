import ArgumentParser
import Foundation
import Handlers
import MariaStore

/// `payments-fcgi license show|issue|revoke|reinstate|extend|deactivate-site|rotate`.
/// A license is named by its id, or by its key read from standard input (`-`): a key given as
/// an argument would show in every user's `ps` and stay in shell history. Keys are never printed.
struct LicenseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "license",
        abstract: "Operator actions on licenses (each written to the audit log).",
        subcommands: [Show.self, Issue.self, Revoke.self, Reinstate.self, Extend.self, DeactivateSite.self, Rotate.self, Resend.self])

    /// Runs `body` with the license named on the command line, reporting failures plainly.
    static func run(_ options: ConfigurationOptions, _ reference: String, _ body: (LicenseAdministration, Int64) throws -> Void) throws {
        let reference = try LicenseReference.read(reference)
        try options.withContext { context in
            let admin = LicenseAdministration(context: context)
            do {
                try body(admin, try admin.resolve(reference))
            } catch let error as APIError {
                StandardError.write("\(error.message)\n")
                throw ExitCode(1)
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Status, expiry, limit and activated sites.")
        @OptionGroup var options: ConfigurationOptions
        @Argument(help: "License id, or - to read its key from standard input.") var license: String
        func run() throws {
            try LicenseCommand.run(options, license) { admin, id in
                let summary = try admin.show(id)
                let r = summary.record
                print(
                    "license \(r.id): \(r.product)\(r.tier.map { " (\($0))" } ?? ""), \(r.status.rawValue), expires \(r.expiresAt.map(ISOTime.string) ?? "never"), \(r.activationLimit) sites"
                )
                for a in summary.activations { print("  \(a.site)\t\(a.kind.rawValue)\tlast seen \(ISOTime.string(a.lastSeen))\t\(a.activationID)") }
            }
        }
    }

    struct Issue: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Issue a license by hand; its key is emailed to the buyer.")
        @OptionGroup var options: ConfigurationOptions
        @Argument(help: "Catalogue product (a license or subscription product).") var product: String
        @Option(help: "The buyer's email.") var email: String
        @Option(help: "Days valid (default: the product's duration).") var days: Int?
        func run() throws {
            try options.withContext { context in
                do {
                    let id = try LicenseAdministration(context: context).issue(product: product, email: email, days: days)
                    print("license \(id) issued; its key is queued for email to \(email)")
                } catch let error as APIError {
                    StandardError.write("\(error.message)\n")
                    throw ExitCode(1)
                }
            }
        }
    }

    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Disable a license (it answers `disabled` everywhere).")
        @OptionGroup var options: ConfigurationOptions
        @Argument(help: "License id, or - to read its key from standard input.") var license: String
        @Option(help: "Why (kept in the audit log).") var reason = "revoked by operator"
        func run() throws {
            try LicenseCommand.run(options, license) { admin, id in
                try admin.setStatus(id, .disabled, reason: reason)
                print("license \(id): disabled")
            }
        }
    }

    struct Reinstate: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Make a license active again; its customer re-activates without help.")
        @OptionGroup var options: ConfigurationOptions
        @Argument(help: "License id, or - to read its key from standard input.") var license: String
        func run() throws {
            try LicenseCommand.run(options, license) { admin, id in
                try admin.setStatus(id, .active, reason: "reinstated by operator")
                print("license \(id): active")
            }
        }
    }

    struct Extend: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Extend a license's expiry by some days.")
        @OptionGroup var options: ConfigurationOptions
        @Argument(help: "License id, or - to read its key from standard input.") var license: String
        @Option(help: "Days to add.") var days: Int
        func run() throws {
            try LicenseCommand.run(options, license) { admin, id in
                try admin.extend(id, days: days)
                print("license \(id): extended by \(days) days")
            }
        }
    }

    struct DeactivateSite: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "deactivate-site", abstract: "Free the seat of one site.")
        @OptionGroup var options: ConfigurationOptions
        @Argument(help: "License id, or - to read its key from standard input.") var license: String
        @Argument(help: "The site (any spelling of its URL).") var site: String
        func run() throws {
            try LicenseCommand.run(options, license) { admin, id in
                print(try admin.deactivate(id, site: site) ? "license \(id): \(site) deactivated" : "license \(id): \(site) was not activated")
            }
        }
    }

    struct Rotate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Give a license a new key (the old one stops working) and email it to the buyer.")
        @OptionGroup var options: ConfigurationOptions
        @Argument(help: "License id, or - to read its key from standard input.") var license: String
        func run() throws {
            try LicenseCommand.run(options, license) { admin, id in
                try LicenseKeyIssuer(context: admin.context).rotate(licenseID: id, actor: "operator:cli")
                print("license \(id): new key issued and queued for email; the old key no longer works")
            }
        }
    }

    struct Resend: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Email the buyer their key again. Keys are not kept, so this issues a new key and the old one stops working.")
        @OptionGroup var options: ConfigurationOptions
        @Argument(help: "License id, or - to read its key from standard input.") var license: String
        func run() throws {
            try LicenseCommand.run(options, license) { admin, id in
                try LicenseKeyIssuer(context: admin.context).rotate(licenseID: id, actor: "operator:cli resend")
                print("license \(id): a new key is queued for email (the old key no longer works)")
            }
        }
    }
}
