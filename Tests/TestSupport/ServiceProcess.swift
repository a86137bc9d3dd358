import Foundation
import MariaStore

/// `payments-fcgi serve` running as its own process on a unix socket, with a config file
/// written for the test.
public final class ServiceProcess: @unchecked Sendable {
    public let directory: String
    public let socketPath: String
    /// `server.liveness_listen`: where `/livez` is answered without the workers.
    public let livenessSocketPath: String
    public let configPath: String
    public let child: ChildProcess

    /// Writes a configuration for `database` (plus `extra` INI lines) and starts the service.
    /// Waits until the socket accepts connections.
    public init(database: ConnectionOptions, workers: Int = 4, extra: String = "", environment: [String: String] = [:]) throws {
        directory = TestPaths.scratchDirectory("svc")
        socketPath = directory + "/payments.sock"
        livenessSocketPath = directory + "/liveness.sock"
        configPath = directory + "/payments.ini"
        try Self.writeConfiguration(
            at: configPath, database: database, listen: socketPath, workers: workers,
            extra: "\n[server]\nliveness_listen = \(livenessSocketPath)\n" + extra)
        child = try ChildProcess(
            TestPaths.binary, ["serve", "--config", configPath], environment: environment,
            logPath: directory + "/service.log")
        let socketPath = self.socketPath
        guard TestPaths.waitUntil(seconds: 10, { FastCGIClient.canConnect(socketPath) }) else {
            throw TestSupportError("payments-fcgi did not start listening; its log:\n\(child.output)")
        }
    }

    /// The configuration file a test service uses.
    public static func writeConfiguration(at path: String, database: ConnectionOptions, listen: String?, workers: Int = 4, extra: String = "") throws {
        var text = """
            [server]
            workers = \(workers)
            mount_prefix = /payments
            socket_mode = 0666

            [database]
            socket = \(database.socket ?? "")
            name = \(database.database)
            user = \(database.user)
            password = \(database.password)
            connect_timeout_seconds = 2

            """
        if let listen { text = text.replacingOccurrences(of: "[server]\n", with: "[server]\nlisten = \(listen)\n") }
        text += extra
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o644)
    }

    /// The service's log so far.
    public var log: String { child.output }

    /// Sends SIGTERM (or `signal`) and returns the exit status.
    @discardableResult
    public func stop(signal: Int32 = SIGTERM) -> Int32? { child.stop(signal: signal) }

    deinit { child.stop(signal: SIGKILL, seconds: 2) }
}
