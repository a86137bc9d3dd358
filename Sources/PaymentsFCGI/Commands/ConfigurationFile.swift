import ArgumentParser
import Foundation
import Handlers
import MariaStore

/// The `--config` option every command shares.
struct ConfigurationOptions: ParsableArguments {
    @Option(name: .long, help: "Configuration file (default: $PFC_CONFIG, else /etc/payments-fcgi/payments.ini).")
    var config: String?

    static let defaultPath = "/etc/payments-fcgi/payments.ini"

    var path: String {
        config ?? ProcessInfo.processInfo.environment["PFC_CONFIG"] ?? Self.defaultPath
    }

    /// Loads and validates the configuration, or prints every problem and exits 78 (EX_CONFIG).
    func load() throws -> (Configuration, [ConfigurationLoader.Source], [String]) {
        let loader = ConfigurationLoader(environment: ProcessInfo.processInfo.environment)
        switch loader.load(path: path) {
        case .success(let (configuration, sources, warnings)):
            return (configuration, sources, warnings)
        case .failure(let error):
            StandardError.write("payments-fcgi: the configuration is not valid:\n" + error.problems.map { "  - \($0)" }.joined(separator: "\n") + "\n")
            throw ExitCode(78)
        }
    }
}

extension ConfigurationOptions {
    /// Runs an operator command's work with a context like a worker's (its own connection,
    /// errors-only logging), closing the connection afterwards.
    func withContext<T>(_ body: (Context) throws -> T) throws -> T {
        let (configuration, _, _) = try load()
        try MariaLibrary.initialize()
        let logger = Bootstrap.quietLogger()
        let store = Store(options: configuration.database, prefix: configuration.tablePrefix, logger: logger)
        defer { store.close() }
        return try body(Context(store: store, clock: SystemTime(), configuration: configuration, logger: logger))
    }
}

/// Writes to file descriptor 2 (Glibc's `stderr` is a C global Swift 6 will not share).
enum StandardError {
    static func write(_ text: String) {
        var bytes = Array(text.utf8)
        bytes.withUnsafeMutableBytes { raw in
            var offset = 0
            while offset < raw.count {
                let written = Glibc.write(2, raw.baseAddress! + offset, raw.count - offset)
                if written <= 0 { return }
                offset += written
            }
        }
    }
}
