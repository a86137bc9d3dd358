import ArgumentParser
import Foundation
import Handlers
import MariaStore

/// `payments-fcgi migrate`: apply pending schema migrations.
struct MigrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Apply pending database migrations (safe to run again, and from two hosts at once).")

    @OptionGroup var options: ConfigurationOptions

    func run() throws {
        let (configuration, _, _) = try options.load()
        let logger = Bootstrap.logging(level: configuration.logLevel)
        try MariaLibrary.initialize()
        let store = Store(options: configuration.database, prefix: configuration.tablePrefix, logger: logger)
        defer { store.close() }
        do {
            let report = try Migrator(store: store).migrate(now: SystemTime().now)
            if report.applied.isEmpty {
                print("schema is up to date (\(report.alreadyApplied.count) migrations applied, prefix \(configuration.tablePrefix))")
            } else {
                print("applied migrations \(report.applied.map(String.init).joined(separator: ", ")) (prefix \(configuration.tablePrefix))")
            }
        } catch {
            StandardError.write("payments-fcgi migrate: \(error)\n")
            // At the operator's terminal the server's own words help (a missing privilege, a
            // table in the way); they are never logged.
            if let text = (error as? DatabaseError)?.serverText { StandardError.write("  the server said: \(text)\n") }
            throw ExitCode(1)
        }
    }
}
