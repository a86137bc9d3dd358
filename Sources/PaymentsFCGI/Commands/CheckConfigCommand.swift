import ArgumentParser
import Foundation
import Handlers
import Logging
import MariaStore

/// `payments-fcgi check-config`: validate the configuration and try the database, or print the
/// reference of every setting.
struct CheckConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Validate the configuration file and environment, then try the database connection.")

    @OptionGroup var options: ConfigurationOptions

    @Flag(help: "Only validate; do not connect to the database.")
    var offline = false

    @Flag(help: "Print the reference of every setting (README's markdown table) instead of checking anything.")
    var reference = false

    func run() throws {
        // README's table is this output: documenting a setting is part of adding it.
        if reference {
            print(ConfigurationReference.markdown(), terminator: "")
            return
        }
        let (configuration, sources, warnings) = try options.load()
        // What `serve` would refuse, refused here too.
        if let listen = configuration.server.listen, let problem = configuration.server.exposureProblem(listen: listen) {
            StandardError.write("payments-fcgi: \(problem)\n")
            throw ExitCode(1)
        }
        print("configuration \(options.path) is valid")
        for source in sources {
            print("  \(source.key) = \(source.display)    [\(source.origin)]")
        }
        for warning in warnings { print("warning: \(warning)") }
        guard !offline else { return }
        try MariaLibrary.initialize()
        var logger = Logger(label: "check-config")
        logger.logLevel = .critical
        let store = Store(options: configuration.database, prefix: configuration.tablePrefix, logger: logger)
        defer { store.close() }
        do {
            let version = try store.serverVersion()
            let applied = try Migrator(store: store).appliedVersions()
            let pending = Schema.migrations.map(\.version).filter { !applied.contains($0) }
            print(
                "database \(configuration.database): reachable (\(version)); \(pending.isEmpty ? "schema up to date" : "\(pending.count) migrations pending (run payments-fcgi migrate)")"
            )
        } catch {
            StandardError.write("database \(configuration.database): \(error)\n")
            throw ExitCode(1)
        }
    }
}
