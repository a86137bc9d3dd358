import Foundation
import Logging

/// The database as one worker sees it: one connection, opened lazily and reopened after it
/// was lost, and units of work that are retried when that is safe.
///
/// Not thread-safe by design: each worker thread owns its own `Store`.
public final class Store {
    public let options: ConnectionOptions
    /// The table-name prefix every repository uses.
    public let prefix: TablePrefix
    private let logger: Logger
    private var connection: Connection?
    /// Attempts for a transaction that keeps hitting deadlocks or lock-wait timeouts.
    public var maxTransactionAttempts = 4

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
        try unitOfWork { try $0.ping() }
    }

    /// What the server announced at login; connecting refuses servers the store cannot run on.
    public func serverVersion() throws -> String {
        try unitOfWork { $0.serverVersion }
    }

    /// Runs `body` outside a transaction (reads, or single statements that are atomic alone).
    ///
    /// When the connection turns out to be dead at the first round trip (the server restarted,
    /// or `wait_timeout` closed an idle connection), nothing was done yet, so the work runs
    /// once more on a fresh connection. A connection lost later is reported, not replayed.
    @discardableResult
    public func unitOfWork<T>(_ body: (Connection) throws -> T) throws -> T {
        do {
            return try attempt(body)
        } catch let error as DatabaseError where error.kind == .connectionLost && firstRoundTripFailed {
            logger.info("database connection was lost while idle; reconnecting", metadata: ["error": "\(error)"])
            return try attempt(body)
        }
    }

    /// Runs `body` in one transaction: all of it is committed, or none of it.
    ///
    /// Deadlocks (1213) and lock-wait timeouts (1205) roll back and run `body` again, up to
    /// `maxTransactionAttempts` times with a short jittered pause, so `body` must derive
    /// everything it writes from what it reads inside the transaction.
    @discardableResult
    public func transaction<T>(_ body: (Connection) throws -> T) throws -> T {
        var attemptNumber = 1
        while true {
            do {
                return try unitOfWork { connection in
                    try connection.begin()
                    do {
                        let value = try body(connection)
                        try connection.commit()
                        return value
                    } catch {
                        connection.rollback()
                        throw error
                    }
                }
            } catch let error as DatabaseError where error.isTransient && attemptNumber < maxTransactionAttempts {
                logger.notice("transaction retried", metadata: ["attempt": "\(attemptNumber)", "error": "\(error)"])
                // 5, 10, 20 ms plus up to as much again: enough for the other transaction to finish.
                let base = 5_000 << (attemptNumber - 1)
                usleep(UInt32(base + Int.random(in: 0...base)))
                attemptNumber += 1
            }
        }
    }

    private var firstRoundTripFailed = false

    private func attempt<T>(_ body: (Connection) throws -> T) throws -> T {
        firstRoundTripFailed = false
        let connection = try openConnection()
        connection.resetRoundTrips()
        do {
            return try body(connection)
        } catch let error as DatabaseError where error.kind == .connectionLost {
            firstRoundTripFailed = connection.roundTrips <= 1
            self.connection = nil
            throw error
        }
    }

    private func openConnection() throws -> Connection {
        if let connection, connection.isOpen { return connection }
        connection = nil
        let fresh = try Connection(options: options)
        connection = fresh
        return fresh
    }
}
