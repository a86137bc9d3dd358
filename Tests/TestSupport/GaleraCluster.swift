import Foundation
import Logging
import MariaStore

/// A real MariaDB Galera cluster on loopback for the tests (via `scripts/galera`): three nodes,
/// started once per test process on first use and stopped at exit. Nil when Debian's `galera-4`
/// is not installed (the Galera tests then skip, saying so).
public final class GaleraCluster: @unchecked Sendable {
    public let directory: String
    public let nodes: Int
    public let basePort: Int

    /// Whether a Galera provider library is installed.
    public static var isAvailable: Bool {
        ["/usr/lib/galera/libgalera_smm.so", "/usr/lib/libgalera_smm.so"].contains { FileManager.default.fileExists(atPath: $0) }
    }

    /// The cluster most Galera tests share.
    public static let shared: GaleraCluster? = {
        guard isAvailable else { return nil }
        let port = Int(ProcessInfo.processInfo.environment["PFC_TEST_GALERA_PORT"] ?? "") ?? 24061
        let cluster = GaleraCluster(directory: TestPaths.scratchDirectory("galera"), nodes: 3, basePort: port)
        do {
            try cluster.script(["up", cluster.directory, "3", String(port)])
        } catch {
            _ = try? cluster.script(["down", cluster.directory])
            fatalError("the Galera test cluster did not start: \(error)")
        }
        GaleraCluster.stopAtExit = cluster.directory
        atexit {
            if let directory = GaleraCluster.stopAtExit {
                _ = try? ChildProcess.run(TestPaths.repositoryRoot.appendingPathComponent("scripts/galera").path, ["down", directory])
            }
        }
        return cluster
    }()

    nonisolated(unsafe) private static var stopAtExit: String?

    private init(directory: String, nodes: Int, basePort: Int) {
        self.directory = directory
        self.nodes = nodes
        self.basePort = basePort
    }

    /// The application user's options for `database` on node `node` (1-based), over TCP.
    public func options(node: Int, database: String) -> ConnectionOptions {
        ConnectionOptions(host: "127.0.0.1", port: sqlPort(node), user: MariaDBServer.user, password: MariaDBServer.password, database: database)
    }

    public func sqlPort(_ node: Int) -> Int { basePort + node - 1 }

    /// Root on node `node`, by its unix socket.
    public func rootOptions(node: Int) -> ConnectionOptions {
        ConnectionOptions(socket: "\(directory)/node\(node)/mysqld.sock", user: "root", database: "mysql")
    }

    /// A new empty database granted to the application user (replicated to every node).
    public func createDatabase(_ label: String) throws -> String {
        let name = "pfc_\(label)_\(UUID().uuidString.prefix(8).lowercased())"
        let root = try Connection(options: rootOptions(node: 1))
        defer { root.close() }
        try root.execute("CREATE DATABASE `\(name)` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
        for host in ["localhost", "127.0.0.1"] {
            try root.execute("GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER ON `\(name)`.* TO 'payments'@'\(host)'")
        }
        return name
    }

    /// Kills node `node` hard, as a crash would.
    public func kill(node: Int) throws { try script(["stop", directory, String(node)]) }

    /// Restarts node `node` and waits until it has rejoined and is Synced.
    public func restart(node: Int) throws {
        try script(["start", directory, String(node)])
        try script(["wait", directory, String(node)])
    }

    private func script(_ arguments: [String]) throws {
        let result = try ChildProcess.run(TestPaths.repositoryRoot.appendingPathComponent("scripts/galera").path, arguments, seconds: 300)
        guard result.status == 0 else { throw TestSupportError("scripts/galera \(arguments.joined(separator: " ")) failed: \(result.output)") }
    }
}
