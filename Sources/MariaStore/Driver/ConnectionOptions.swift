/// One place a MariaDB server listens: a unix socket or a TCP host and port.
public enum DatabaseEndpoint: Sendable, Equatable, CustomStringConvertible {
    case socket(String)
    case tcp(host: String, port: Int)

    /// `unix:/path` or `host:port` (IPv6 hosts bracketed); never a credential.
    public var description: String {
        switch self {
        case .socket(let path): return "unix:\(path)"
        case .tcp(let host, let port): return host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        }
    }
}

/// Where and how to reach MariaDB. Built from configuration; the password never appears in
/// `description`.
public struct ConnectionOptions: Sendable, CustomStringConvertible {
    /// A unix socket path; when set, `host` and `port` are not used.
    public var socket: String?
    public var host: String
    public var port: Int
    /// Further servers holding the same database (the other nodes of a Galera cluster), tried
    /// in order after the first (`socket` or `host`/`port`) when it cannot be used.
    public var alternates: [DatabaseEndpoint] = []
    public var user: String
    public var password: String
    public var database: String
    /// Seconds to wait for the TCP/unix connect and the login.
    public var connectTimeoutSeconds: Int
    /// Seconds a read or write on the connection may block before the connection counts as lost.
    public var ioTimeoutSeconds: Int
    /// Seconds InnoDB waits for a row lock before failing with 1205 (then the transaction is retried).
    public var lockWaitTimeoutSeconds: Int

    public init(
        socket: String? = nil, host: String = "127.0.0.1", port: Int = 3306,
        user: String, password: String = "", database: String,
        connectTimeoutSeconds: Int = 5, ioTimeoutSeconds: Int = 30, lockWaitTimeoutSeconds: Int = 10
    ) {
        self.socket = socket
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.database = database
        self.connectTimeoutSeconds = connectTimeoutSeconds
        self.ioTimeoutSeconds = ioTimeoutSeconds
        self.lockWaitTimeoutSeconds = lockWaitTimeoutSeconds
    }

    /// Every server to try, the configured first one first.
    public var endpoints: [DatabaseEndpoint] {
        [socket.map(DatabaseEndpoint.socket) ?? .tcp(host: host, port: port)] + alternates
    }

    public var description: String {
        "\(user)@\(endpoints.map(\.description).joined(separator: ","))/\(database)"
    }
}
