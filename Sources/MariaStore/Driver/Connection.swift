internal import CMaria
import Glibc

/// One MariaDB connection, used by one thread at a time (each worker owns one).
///
/// The only type that holds a `MYSQL*`. Every C call is checked on the next line and turned
/// into a `DatabaseError`. Prepared statements are cached by SQL text for the life of the
/// connection, so the hot path sends only EXECUTE packets.
public final class Connection {
    private var handle: UnsafeMutablePointer<MYSQL>?
    private var statements: [String: PreparedStatement] = [:]
    private let options: ConnectionOptions
    /// What the server announced at login (`10.11.6-MariaDB-0+deb12u1`), read once per connection.
    public private(set) var serverVersion = ""
    /// Round trips made since `resetRoundTrips()`; lets `Store` tell whether a lost connection
    /// failed the first statement of a unit of work (safe to replay) or a later one (not).
    private(set) var roundTrips = 0

    /// The server this connection is to.
    public let endpoint: DatabaseEndpoint

    /// Opens a connection to `endpoint` (by default the options' first server). Throws
    /// `DatabaseError` of kind `.connect` when the server cannot be reached or refuses the login.
    public init(options: ConnectionOptions, endpoint: DatabaseEndpoint? = nil) throws {
        self.options = options
        self.endpoint = endpoint ?? options.endpoints[0]
        try open()
    }

    deinit { close() }

    /// Whether the connection was opened and has not been closed or lost.
    public var isOpen: Bool { handle != nil }

    private func open() throws {
        guard let mysql = mysql_init(nil) else {
            throw DatabaseError(kind: .connect, message: "mysql_init failed: out of memory")
        }
        do {
            try Self.setOptions(mysql, options)
        } catch {
            mysql_close(mysql)
            throw error
        }

        let endpoint = self.endpoint
        let connected = options.user.withCString { user in
            options.password.withCString { password in
                options.database.withCString { database in
                    switch endpoint {
                    case .socket(let socket):
                        return socket.withCString {
                            mysql_real_connect(mysql, nil, user, password, database, 0, $0, 0)
                        }
                    case .tcp(let host, let port):
                        return host.withCString {
                            mysql_real_connect(mysql, $0, user, password, database, UInt32(port), nil, 0)
                        }
                    }
                }
            }
        }
        guard connected != nil else {
            let error = DatabaseError(
                code: mysql_errno(mysql), sqlState: String(cString: mysql_sqlstate(mysql)),
                message: String(cString: mysql_error(mysql)), connecting: true)
            mysql_close(mysql)
            throw error
        }
        // Refused before any statement: an unsupported server would fail later, and halfway.
        serverVersion = mysql_get_server_info(mysql).map { String(cString: $0) } ?? ""
        if let problem = ServerVersion.problem(announced: serverVersion) {
            mysql_close(mysql)
            throw DatabaseError(kind: .unsupportedServer, message: problem)
        }
        handle = mysql
        // Session settings are fixed text (no input), so plain queries are fine here.
        // UTC everywhere; strict mode so bad data fails loudly; READ COMMITTED so concurrent
        // inserts of distinct business keys do not deadlock on InnoDB gap locks.
        try control(
            "SET time_zone = '+00:00', sql_mode = 'STRICT_ALL_TABLES,NO_ZERO_DATE,NO_ENGINE_SUBSTITUTION', innodb_lock_wait_timeout = \(options.lockWaitTimeoutSeconds)"
        )
        try control("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")
        roundTrips = 0
    }

    /// Timeouts, no LOAD DATA LOCAL, utf8mb4. Each `mysql_options` call is checked: a
    /// timeout silently not set would let a dead server hang a worker for good.
    private static func setOptions(_ mysql: UnsafeMutablePointer<MYSQL>, _ options: ConnectionOptions) throws(DatabaseError) {
        var connectTimeout = UInt32(clamping: options.connectTimeoutSeconds)
        var ioTimeout = UInt32(clamping: options.ioTimeoutSeconds)
        var noLocalInfile: my_bool = 0
        func check(_ name: String, _ status: Int32) throws(DatabaseError) {
            guard status == 0 else { throw optionError(mysql, name) }
        }
        try check("MYSQL_OPT_CONNECT_TIMEOUT", mysql_options(mysql, MYSQL_OPT_CONNECT_TIMEOUT, &connectTimeout))
        try check("MYSQL_OPT_READ_TIMEOUT", mysql_options(mysql, MYSQL_OPT_READ_TIMEOUT, &ioTimeout))
        try check("MYSQL_OPT_WRITE_TIMEOUT", mysql_options(mysql, MYSQL_OPT_WRITE_TIMEOUT, &ioTimeout))
        try check("MYSQL_OPT_LOCAL_INFILE", mysql_options(mysql, MYSQL_OPT_LOCAL_INFILE, &noLocalInfile))
        try check("MYSQL_SET_CHARSET_NAME", "utf8mb4".withCString { mysql_options(mysql, MYSQL_SET_CHARSET_NAME, $0) })
    }

    private static func optionError(_ mysql: UnsafeMutablePointer<MYSQL>, _ name: String) -> DatabaseError {
        let detail = String(cString: mysql_error(mysql))
        return DatabaseError(
            kind: .misuse, code: mysql_errno(mysql),
            message: "mysql_options(\(name)) failed" + (detail.isEmpty ? "" : ": \(detail)"))
    }

    /// Closes the connection and frees its statements. Safe to call twice.
    public func close() {
        statements.removeAll()  // closes each MYSQL_STMT before the connection goes
        if let handle { mysql_close(handle) }
        handle = nil
    }

    /// Runs a statement that returns no rows, binding `parameters` to its `?` placeholders.
    @discardableResult
    public func execute(_ sql: String, _ parameters: [any SQLBindable] = []) throws -> ExecutionResult {
        try run(sql, parameters).result
    }

    /// Runs a query, binding `parameters` to its `?` placeholders, and returns all rows.
    public func query(_ sql: String, _ parameters: [any SQLBindable] = []) throws -> [Row] {
        try run(sql, parameters).rows
    }

    /// Runs a query expected to return at most one row.
    public func queryOne(_ sql: String, _ parameters: [any SQLBindable] = []) throws -> Row? {
        try run(sql, parameters).rows.first
    }

    /// Checks that the server answers (one round trip).
    public func ping() throws {
        let mysql = try liveHandle()
        roundTrips += 1
        guard mysql_ping(mysql) == 0 else { throw fail(mysql) }
    }

    private func run(_ sql: String, _ parameters: [any SQLBindable]) throws -> (rows: [Row], result: ExecutionResult) {
        let mysql = try liveHandle()
        roundTrips += 1
        do {
            let statement: PreparedStatement
            if let cached = statements[sql] {
                statement = cached
            } else {
                statement = try PreparedStatement(connection: mysql, sql: sql)
                statements[sql] = statement
            }
            do {
                let outcome = try statement.run(parameters.map(\.sqlValue))
                try checkStillInTransaction(mysql, sql)
                return outcome
            } catch {
                // A handle whose result was cut off must not run again (see `isReusable`).
                if !statement.isReusable { statements[sql] = nil }
                throw error
            }
        } catch let error as DatabaseError {
            if error.kind == .connectionLost { close() }
            throw error
        }
    }

    // MARK: Transactions (used by Store)

    func begin() throws {
        try control("START TRANSACTION")
        inTransaction = true
    }

    /// True between `begin` and `commit`/`rollback`.
    private var inTransaction = false

    /// Our own error number for "the server ended the transaction under us" (reported as a
    /// deadlock, so the transaction runs again).
    static let endedTransaction: UInt32 = 1213

    /// Every answer carries the server's status; inside a transaction it must still say "in a
    /// transaction". Seen on a Galera node under load (scripts/galera-test): a transaction
    /// aborted by a conflicting write set while one of its statements was being handled, and
    /// that statement answered OK having run on its own, outside any transaction; the COMMIT
    /// that followed then succeeded with nothing to commit. Without this check the request
    /// would have answered `consumed` for a spend that was never recorded. With it, the
    /// transaction is reported lost, as a deadlock, and runs again.
    private func checkStillInTransaction(_ mysql: UnsafeMutablePointer<MYSQL>, _ sql: String) throws {
        guard inTransaction, mysql.pointee.server_status & UInt32(SERVER_STATUS_IN_TRANS) == 0 else { return }
        inTransaction = false
        // The statement's opening words (verb and table, never a value: values are bound).
        let statement = sql.split(whereSeparator: \.isWhitespace).prefix(3).joined(separator: " ")
        throw DatabaseError(
            kind: .deadlock, code: Self.endedTransaction, sqlState: "40001",
            message: "the server ended the transaction before this statement finished (a Galera abort); it ran outside the transaction: \(statement)")
    }

    /// Commits, and returns only when the server confirmed it. A COMMIT that fails (on Galera,
    /// a write set that lost certification: 1213) throws like any statement, so the transaction
    /// is retried or reported, never answered as done. An OK whose status still shows an open
    /// transaction was not the COMMIT's own answer: the connection is out of step with the
    /// server, so it is closed and the outcome reported as unknown (a lost connection).
    func commit() throws {
        let mysql = try liveHandle()
        roundTrips += 1
        inTransaction = false
        guard mysql_commit(mysql) == 0 else { throw fail(mysql) }
        if mysql.pointee.server_status & UInt32(SERVER_STATUS_IN_TRANS) != 0 {
            close()
            throw DatabaseError(kind: .connectionLost, message: "COMMIT was answered, but the server still reports an open transaction")
        }
    }

    /// Rolls back; a failure here only means the connection is gone, which ends the
    /// transaction anyway, so the connection is closed and nothing is thrown.
    /// Returns false when the ROLLBACK itself failed (and the connection was closed).
    @discardableResult
    func rollback() -> Bool {
        inTransaction = false
        guard let mysql = handle else { return true }
        if mysql_rollback(mysql) != 0 {
            close()
            return false
        }
        return true
    }

    func resetRoundTrips() { roundTrips = 0 }

    /// Whether reads, updates and deletes wait until this node has applied every write set
    /// the cluster committed before them (`wsrep_sync_wait = 3`); sent only when it changes.
    /// Ignored by a server that is not a Galera node.
    private var seesLatestCommits = false

    func setSeesLatestCommits(_ wanted: Bool) throws {
        guard wanted != seesLatestCommits else { return }
        try control(wanted ? "SET SESSION wsrep_sync_wait = 3" : "SET SESSION wsrep_sync_wait = 0")
        seesLatestCommits = wanted
    }

    /// From here to the end of this unit of work, statements see every commit made anywhere in
    /// a Galera cluster before them. For decisions that refuse: a refusal writes nothing, so
    /// it cannot conflict at certification, and on a node that has not yet applied a grant
    /// or a freed seat committed through another node it would refuse on stale rows.
    public func seeLatestCommits() throws {
        try setSeesLatestCommits(true)
    }

    /// A fixed control statement with no parameters (session settings, START TRANSACTION).
    private func control(_ sql: String) throws {
        let mysql = try liveHandle()
        roundTrips += 1
        let status = sql.withCString { mysql_real_query(mysql, $0, UInt(strlen($0))) }
        guard status == 0 else { throw fail(mysql) }
    }

    private func liveHandle() throws -> UnsafeMutablePointer<MYSQL> {
        guard let handle else {
            throw DatabaseError(kind: .connectionLost, message: "the connection is closed")
        }
        return handle
    }

    /// Reads the connection's error and closes the connection if it was lost.
    private func fail(_ mysql: UnsafeMutablePointer<MYSQL>) -> DatabaseError {
        let error = DatabaseError(
            code: mysql_errno(mysql), sqlState: String(cString: mysql_sqlstate(mysql)),
            message: String(cString: mysql_error(mysql)))
        if error.kind == .connectionLost { close() }
        return error
    }
}

/// Process-wide Connector/C set-up: once before any thread opens a connection, and once per
/// thread that uses one.
public enum MariaLibrary {
    /// `mysql_library_init` is a macro Swift cannot import; `mysql_server_init` is what it calls.
    /// Safe to call again (later calls do nothing and succeed).
    public static func initialize() throws(DatabaseError) {
        guard mysql_server_init(0, nil, nil) == 0 else {
            throw DatabaseError(kind: .misuse, message: "mysql_library_init failed: Connector/C could not initialise (out of memory?)")
        }
    }

    /// Call on each worker thread before it opens a connection.
    public static func threadStarted() throws(DatabaseError) {
        guard mysql_thread_init() == 0 else {
            throw DatabaseError(kind: .misuse, message: "mysql_thread_init failed: Connector/C could not set up this thread")
        }
    }

    /// Call on each worker thread after it closed its connection.
    public static func threadFinished() { mysql_thread_end() }
}
