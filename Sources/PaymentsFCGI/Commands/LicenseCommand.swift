import ArgumentParser
import Foundation
import Handlers
import MariaStore

/// `payments-fcgi license rotate ID`: operator actions on licenses.
struct LicenseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "license",
        abstract: "Operator actions on licenses.",
        subcommands: [Rotate.self])

    struct Rotate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Give a license a new key (the old one stops working) and email it to the buyer.")
        @OptionGroup var options: ConfigurationOptions
        @Argument(help: "The license id.") var id: Int64

        func run() throws {
            try options.withContext { context in
                do {
                    try LicenseKeyIssuer(context: context).rotate(licenseID: id, actor: "operator:cli")
                    print("license \(id): new key issued and queued for email; the old key no longer works")
                } catch {
                    StandardError.write("license \(id): \(error)\n")
                    throw ExitCode(1)
                }
            }
        }
    }
}
