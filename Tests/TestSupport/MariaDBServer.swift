import Foundation
import Logging
import MariaStore

/// A real MariaDB server for the tests, in a private data directory (via `scripts/db`).
///
/// `shared` is the one most tests use: the server the test script started
/// (`$PFC_TEST_DB_SOCKET`), or one started here on first use and stopped at exit. Tests that
/// stop and restart a server start their own with `start()`.
public final class MariaDBServer: @unchecked Sendable {
    public let directory: String
    public var socket: String { directory + "/mysqld.sock" }
    private let ownsServer: Bool

    /// The application user every test database grants to (as `scripts/db` creates it).
    public static let user = "payments"
    public static let password = "payments"

    private init(directory: String, ownsServer: Bool) {
        self.directory = directory
        self.ownsServer = ownsServer
    }

    public static let shared: MariaDBServer = {
        if let socket = ProcessInfo.processInfo.environment["PFC_TEST_DB_SOCKET"] {
            return MariaDBServer(directory: (socket as NSString).deletingLastPathComponent, ownsServer: false)
        }
        let server = try! MariaDBServer.start()
        MariaDBServer.stopAtExit = server.directory
        atexit {
            if let directory = MariaDBServer.stopAtExit {
                _ = try? ChildProcess.run(TestPaths.repositoryRoot.appendingPathComponent("scripts/db").path, ["down", directory])
            }
        }
        return server
    }()

    nonisolated(unsafe) private static var stopAtExit: String?

    /// Starts a new private server (a few seconds: it initialises a data directory).
    public static func start() throws -> MariaDBServer {
        let server = MariaDBServer(directory: TestPaths.scratchDirectory("db"), ownsServer: true)
        try server.up()
        return server
    }

    /// Starts (or restarts) the server.
    public func up() throws {
        let result = try ChildProcess.run(TestPaths.repositoryRoot.appendingPathComponent("scripts/db").path, ["up", directory])
        guard result.status == 0 else { throw TestSupportError("scripts/db up failed: \(result.output)") }
    }

    /// Stops the server (its data stays, so `up()` brings it back).
    public func down() throws {
        let result = try ChildProcess.run(TestPaths.repositoryRoot.appendingPathComponent("scripts/db").path, ["down", directory])
        guard result.status == 0 else { throw TestSupportError("scripts/db down failed: \(result.output)") }
    }

    /// Freezes the server (SIGSTOP): connections stay open, nothing is answered — a database
    /// that hangs rather than fails.
    public func freeze() throws {
        try signal(SIGSTOP)
    }

    /// Lets a frozen server go on (SIGCONT).
    public func thaw() throws {
        try signal(SIGCONT)
    }

    private func signal(_ signal: Int32) throws {
        let text = try String(contentsOfFile: directory + "/mysqld.pid", encoding: .utf8)
        guard let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)), kill(pid, signal) == 0 else {
            throw TestSupportError("cannot signal mariadbd (pid file \(directory)/mysqld.pid): \(String(cString: strerror(errno)))")
        }
    }

    /// Options for the server's root account (unix-socket authentication as the OS root user).
    public var rootOptions: ConnectionOptions {
        ConnectionOptions(socket: socket, user: "root", database: "mysql")
    }

    /// Creates an empty database granted to the application user and returns its options.
    public func createDatabase(_ label: String = "t") throws -> ConnectionOptions {
        let name = "pfc_\(label)_\(UUID().uuidString.prefix(8).lowercased())"
        let root = try Connection(options: rootOptions)
        defer { root.close() }
        // Database names cannot be bound; this one is made of hex digits and a fixed label.
        try root.execute("CREATE DATABASE `\(name)` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
        // The grant README.md recommends and scripts/db gives, nothing more: the suite proves it is enough.
        for host in ["localhost", "127.0.0.1"] {
            try root.execute("GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER ON `\(name)`.* TO 'payments'@'\(host)'")
        }
        return ConnectionOptions(socket: socket, user: Self.user, password: Self.password, database: name)
    }

    /// A `Store` on a fresh database.
    public func makeStore(prefix: TablePrefix = .standard, label: String = "t") throws -> Store {
        Store(options: try createDatabase(label), prefix: prefix, logger: Logger(label: "test"))
    }
}

/// A failure in the test harness itself (a server that would not start).
public struct TestSupportError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
