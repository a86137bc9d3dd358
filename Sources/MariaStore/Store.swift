import Foundation
import Logging

/// The database as one worker sees it: one connection, opened lazily and reopened after it
/// was lost, and units of work that are retried when that is safe.
///
/// With several servers configured (the nodes of a Galera cluster), the connection goes to the
/// first that accepts it, in the configured order; once a server is lost or refuses work
/// (1047, a node that is not synced), the next connection tries the servers after it first.
///
/// Not thread-safe by design: each worker thread owns its own `Store`.
public final class Store {
    public let options: ConnectionOptions
    /// The table-name prefix every repository uses.
    public let prefix: TablePrefix
    private let logger: Logger
    private var connection: Connection?
    /// Attempts for a transaction that keeps hitting deadlocks or lock-wait timeouts. Eight:
    /// on a Galera cluster one hot row (a customer's balance spent from every web server at
    /// once) can lose certification several times in a row; with the pauses below the last
    /// attempt starts within about a second.
    public var maxTransactionAttempts = 8

    public init(options: ConnectionOptions, prefix: TablePrefix, logger: Logger) {
        self.options = options
        self.prefix = prefix
        self.logger = logger
    }

    /// Closes the connection (a worker calls this when it stops).
    public func close() {
        connection?.close()
        connection = nil
    }

    /// Checks that the database answers, reconnecting if needed.
    public func ping() throws {
        try withConnection { try $0.ping() }
    }

    /// Checks that the database answers and says which server answered.
    public func pingedEndpoint() throws -> DatabaseEndpoint {
        try withConnection { connection in
            try connection.ping()
            return connection.endpoint
        }
    }

    /// Runs `body` outside a transaction with reads that see every transaction committed
    /// anywhere in a Galera cluster before they started (`wsrep_sync_wait`), for answers that
    /// must follow a change made through another node: a key shown after the webhook, a seat
    /// checked right after it was taken. On a single server every read already does, and the
    /// setting changes nothing.
    @discardableResult
    public func readLatest<T>(_ body: (Connection) throws -> T) throws -> T {
        try withConnection { connection in
            try connection.setSeesLatestCommits(true)
            return try body(connection)
        }
    }

    /// What the server announced at login; connecting refuses servers the store cannot run on.
    public func serverVersion() throws -> String {
        try withConnection { $0.serverVersion }
    }

    /// Runs `body` on the connection, outside any transaction (autocommit): for reads, and for
    /// single statements that are atomic alone. Several writes that must hold together go in
    /// `transaction` instead.
    ///
    /// When the connection turns out to be dead at the first round trip (the server restarted,
    /// or `wait_timeout` closed an idle connection), nothing was done yet, so the work runs
    /// once more on a fresh connection. A connection lost later is reported, not replayed.
    @discardableResult
    public func withConnection<T>(_ body: (Connection) throws -> T) throws -> T {
        do {
            return try attempt(body)
        } catch let error as DatabaseError where error.leavesServer && firstRoundTripFailed {
            logger.info("database server unusable before any work; reconnecting", metadata: ["error": "\(error)"])
            return try attempt(body)
        }
    }

    /// Runs `body` in one transaction: all of it is committed, or none of it.
    ///
    /// Deadlocks (1213) and lock-wait timeouts (1205) roll back and run `body` again, up to
    /// `maxTransactionAttempts` times with a short jittered pause, so `body` must derive
    /// everything it writes from what it reads inside the transaction. On a Galera cluster a
    /// write set that loses certification fails as a deadlock, at any statement or at COMMIT,
    /// and is retried the same way; a node that refuses work (1047) is left, and the
    /// transaction runs again on the next one. The value is returned only after the server
    /// confirmed the COMMIT.
    @discardableResult
    public func transaction<T>(_ body: (Connection) throws -> T) throws -> T {
        var attemptNumber = 1
        while true {
            do {
                return try withConnection { connection in
                    let value: T
                    do {
                        try connection.setSeesLatestCommits(false)
                        try connection.begin()
                        value = try body(connection)
                    } catch {
                        if !connection.rollback() {
                            logger.warning("ROLLBACK failed; the connection was closed, which ends the transaction too")
                        }
                        throw (error as? DatabaseError)?.during(.body) ?? error
                    }
                    do {
                        try connection.commit()
                    } catch let error as DatabaseError {
                        connection.rollback()
                        throw error.during(.commit)
                    }
                    return value
                }
            } catch let error as DatabaseError where (error.isTransient || error.kind == .nodeNotReady) && attemptNumber < maxTransactionAttempts {
                retries += 1
                if error.kind == .deadlock { deadlocks += 1 }
                logger.notice("transaction retried", metadata: ["attempt": "\(attemptNumber)", "error": "\(error)"])
                // 5, 10, 20 … 320 ms plus up to as much again: enough for the other transaction
                // to finish, and spread so that the losers do not collide again.
                let base = 5_000 << (attemptNumber - 1)
                usleep(UInt32(base + Int.random(in: 0...base)))
                attemptNumber += 1
            }
        }
    }

    /// Transactions run again after a transient failure, and how many of those were deadlocks
    /// (on Galera: certification conflicts), since this store was made.
    public private(set) var retries = 0
    public private(set) var deadlocks = 0

    private var firstRoundTripFailed = false
    /// The configured server the next connection tries first.
    private var endpointIndex = 0

    private func attempt<T>(_ body: (Connection) throws -> T) throws -> T {
        firstRoundTripFailed = false
        let connection = try openConnection()
        connection.resetRoundTrips()
        do {
            return try body(connection)
        } catch let error as DatabaseError where error.leavesServer {
            firstRoundTripFailed = connection.roundTrips <= 1
            // A node that refuses work still holds an open connection: close it, and start
            // the next connection at the server after it.
            connection.close()
            self.connection = nil
            endpointIndex = (endpointIndex + 1) % options.endpoints.count
            throw error
        }
    }

    private func openConnection() throws -> Connection {
        if let connection, connection.isOpen { return connection }
        connection = nil
        let endpoints = options.endpoints
        var failure: DatabaseError?
        for step in 0..<endpoints.count {
            let index = (endpointIndex + step) % endpoints.count
            do {
                let fresh = try Connection(options: options, endpoint: endpoints[index])
                if index != endpointIndex || failure != nil {
                    logger.notice("database connection moved to another server", metadata: ["server": "\(endpoints[index])"])
                }
                endpointIndex = index
                connection = fresh
                return fresh
            } catch let error as DatabaseError where error.kind == .connect || error.leavesServer {
                if endpoints.count > 1 {
                    logger.warning("database server unreachable; trying the next", metadata: ["server": "\(endpoints[index])", "error": "\(error)"])
                }
                failure = error
            }
        }
        throw failure!
    }
}
