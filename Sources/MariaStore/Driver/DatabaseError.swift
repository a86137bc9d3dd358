/// A failure reported by MariaDB Connector/C or the server, carried as a Swift value.
///
/// `description` is what logs and answers may show: the error number, SQLSTATE, what kind of
/// failure it is, the phase of the transaction it ended, and the driver's own message. It never
/// carries the server's message text (`serverText`): MariaDB quotes row values in some of its
/// messages (a duplicate key shows the key, an incorrect string shows the string), so a
/// license key or an email address could otherwise reach a log. Statement parameters are never
/// part of any message.
public struct DatabaseError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is, as the rest of the program needs to tell them apart.
    public enum Kind: Sendable, Equatable {
        /// The server could not be reached or refused the login.
        case connect
        /// The connection dropped ("server has gone away", "lost connection").
        case connectionLost
        /// InnoDB chose this transaction as a deadlock victim (1213).
        case deadlock
        /// A row lock was not granted in time (1205).
        case lockWaitTimeout
        /// A unique or primary key already holds this value (1062).
        case duplicateKey
        /// A row this transaction found absent was inserted first by a concurrent one (a
        /// duplicate key from `Connection.insertNew`): running the transaction again finds it.
        case insertRace
        /// Any other error the server reported for a statement.
        case server
        /// A result column could not be read as the requested Swift type.
        case decoding
        /// The program used the driver wrongly (a bug, not an outage).
        case misuse
        /// The server is not one the store runs on (MySQL, MariaDB before 10.6).
        case unsupportedServer
        /// A Galera node that is not part of the primary component (joining, resyncing, cut
        /// off) refuses statements with 1047 "WSREP has not yet prepared node for application
        /// use". Nothing was done; another node, or this one a little later, will serve.
        case nodeNotReady
    }

    /// Where in a transaction the failure happened, so a log says whether anything was kept.
    public enum Phase: String, Sendable, Equatable {
        /// Starting it or running its statements: nothing was committed.
        case body
        /// At COMMIT: nothing was committed (the server did not confirm it).
        case commit
        /// At ROLLBACK after another failure: the connection is closed, which ends it too.
        case rollback
    }

    public let kind: Kind
    /// The MariaDB error number (`mysqld_error.h` / `errmsg.h`), 0 where none applies.
    public let code: UInt32
    /// The SQLSTATE the server reported, or an empty string.
    public let sqlState: String
    /// The driver's own words, safe to log (never the server's text for a server error).
    public let message: String
    /// The server's message for a server error, verbatim. It may quote row values: show it
    /// only to an operator at a terminal (a failed migration, say), never in a log or answer.
    public let serverText: String?
    /// Set by `Store.transaction` for failures inside one.
    public internal(set) var phase: Phase?

    public init(kind: Kind, code: UInt32 = 0, sqlState: String = "", message: String) {
        self.kind = kind
        self.code = code
        self.sqlState = sqlState
        self.message = message
        self.serverText = nil
    }

    /// Builds the error from an error number, choosing its kind from the number.
    public init(code: UInt32, sqlState: String, message: String, connecting: Bool = false) {
        let kind: Kind
        switch code {
        case 1213: kind = .deadlock
        case 1205: kind = .lockWaitTimeout
        case 1062: kind = .duplicateKey
        case 1047: kind = .nodeNotReady
        // 2006 gone away, 2013 lost during query, 2055 lost (extended), 1927 killed,
        // 4031 idle disconnect (MySQL 8): the connection is unusable from here on.
        case 2006, 2013, 2055, 1927, 4031: kind = .connectionLost
        // 2002/2003 cannot connect, 2005 unknown host, 1045 access denied, 1049 unknown database,
        // 1040 too many connections.
        case 2002, 2003, 2005, 1045, 1049, 1040: kind = .connect
        default: kind = connecting ? .connect : .server
        }
        self.kind = kind
        self.code = code
        self.sqlState = sqlState
        // Connector/C's own errors (2000–2999) describe the connection, never a row: kept.
        if (2000..<3000).contains(code) {
            self.message = message
            self.serverText = nil
        } else {
            self.message = Self.summary(of: kind)
            self.serverText = message
        }
    }

    /// A server error told in the driver's words (the number and SQLSTATE say the rest).
    private static func summary(of kind: Kind) -> String {
        switch kind {
        case .connect: return "the server refused the connection"
        case .connectionLost: return "the connection was lost"
        case .deadlock: return "deadlock or certification conflict; the transaction was rolled back"
        case .lockWaitTimeout: return "a row lock was not granted in time"
        case .duplicateKey, .insertRace: return "a unique key already holds this value"
        case .nodeNotReady: return "this cluster node is not ready for work"
        case .server, .decoding, .misuse, .unsupportedServer: return "the server refused the statement"
        }
    }

    /// The same error, marked with the transaction phase it ended (kept when already set).
    func during(_ phase: Phase) -> DatabaseError {
        var error = self
        if error.phase == nil { error.phase = phase }
        return error
    }

    /// True when the whole transaction may simply be run again.
    public var isTransient: Bool { kind == .deadlock || kind == .lockWaitTimeout || kind == .insertRace }

    /// True when the database cannot be used right now (the caller should answer 503).
    public var isUnavailable: Bool { kind == .connect || kind == .connectionLost || kind == .unsupportedServer || kind == .nodeNotReady }

    /// True when this server cannot be used now but another one (or a new connection) may be:
    /// the store leaves it and reconnects, to the next configured server if there is one.
    var leavesServer: Bool { kind == .connectionLost || kind == .nodeNotReady }

    public var description: String {
        let place = phase.map { " at \($0 == .body ? "a statement of the transaction" : $0.rawValue.uppercased())" } ?? ""
        return code == 0 ? "database\(place): \(message)" : "database error \(code) (\(sqlState))\(place): \(message)"
    }
}
