import Logging
import MariaStore

/// The service's settings, validated. Built by `ConfigurationLoader` from the INI file and
/// `PFC_…` environment overrides.
public struct Configuration: Sendable {
    public struct Server: Sendable {
        /// A unix socket path or `host:port`; nil means "use the socket inherited on fd 0"
        /// (mod_fcgid, spawn-fcgi) or, when there is none, answer one CGI request.
        public var listen: String?
        public var workers: Int = 8
        public var mountPrefix: String = "/payments"
        public var maxBodyBytes: Int = 256 * 1024
        /// Permissions of a unix socket we create (octal in the file, e.g. 0660).
        public var socketMode: Int = 0o660
        /// Seconds to let requests in flight finish after SIGTERM before exiting anyway.
        public var drainTimeoutSeconds: Int = 30
    }

    public var server = Server()
    public var database: ConnectionOptions
    public var tablePrefix: TablePrefix = .standard
    public var logLevel: Logger.Level = .info

    public init(database: ConnectionOptions) {
        self.database = database
    }
}
