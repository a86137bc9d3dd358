import Handlers
import Logging
import MariaStore
import TestSupport

/// A context whose store points at nothing: for handlers and pipeline rules that never reach
/// the database (the store connects lazily, so nothing is attempted unless used).
func offlineContext(logger: Logger = Logger(label: "test")) -> Context {
    let store = Store(
        options: ConnectionOptions(socket: "/nonexistent/mysqld.sock", user: "nobody", database: "none", connectTimeoutSeconds: 1),
        prefix: .standard, logger: logger)
    return Context(store: store, clock: SystemTime(), configuration: Configuration(database: store.options), logger: logger)
}

/// A context on a fresh database of the shared test server.
func databaseContext(logger: Logger = Logger(label: "test")) throws -> Context {
    let store = try MariaDBServer.shared.makeStore(label: "h")
    return Context(store: store, clock: SystemTime(), configuration: Configuration(database: store.options), logger: logger)
}

/// A body source that records whether anything tried to read it.
struct UntouchableBody: BodySource {
    var readAttempted = false
    mutating func read(maxCount: Int) -> [UInt8]? {
        readAttempted = true
        return []
    }
}

extension Response {
    var text: String { String(decoding: body, as: UTF8.self) }
}
