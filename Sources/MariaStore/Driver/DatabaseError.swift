/// A failure reported by MariaDB Connector/C or the server, carried as a Swift value.
///
/// `description` holds the library's own message. Statement parameters are never part of it,
/// so no secret or license key can reach a log through this type.
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

    public let kind: Kind
    /// The MariaDB error number (`mysqld_error.h` / `errmsg.h`), 0 where none applies.
    public let code: UInt32
    /// The SQLSTATE the server reported, or an empty string.
    public let sqlState: String
    /// The library's message.
    public let message: String

    public init(kind: Kind, code: UInt32 = 0, sqlState: String = "", message: String) {
        self.kind = kind
        self.code = code
        self.sqlState = sqlState
        self.message = message
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
        self.init(kind: kind, code: code, sqlState: sqlState, message: message)
    }

    /// True when the whole transaction may simply be run again.
    public var isTransient: Bool { kind == .deadlock || kind == .lockWaitTimeout || kind == .insertRace }

    /// True when the database cannot be used right now (the caller should answer 503).
    public var isUnavailable: Bool { kind == .connect || kind == .connectionLost || kind == .unsupportedServer || kind == .nodeNotReady }

    /// True when this server cannot be used now but another one (or a new connection) may be:
    /// the store leaves it and reconnects, to the next configured server if there is one.
    var leavesServer: Bool { kind == .connectionLost || kind == .nodeNotReady }

    public var description: String {
        code == 0 ? "database: \(message)" : "database error \(code) (\(sqlState)): \(message)"
    }
}
