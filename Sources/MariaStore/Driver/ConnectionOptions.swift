/// Where and how to reach MariaDB. Built from configuration; the password never appears in
/// `description`.
public struct ConnectionOptions: Sendable, CustomStringConvertible {
    /// A unix socket path; when set, `host` and `port` are not used.
    public var socket: String?
    public var host: String
    public var port: Int
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

    public var description: String {
        let place = socket.map { "unix:\($0)" } ?? "\(host):\(port)"
        return "\(user)@\(place)/\(database)"
    }
}
