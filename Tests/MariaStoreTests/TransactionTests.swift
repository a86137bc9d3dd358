import Foundation
import Logging
import MariaStore
import TestSupport
import Testing

@Suite("Store: transactions, retries and reconnects", .serialized)
struct TransactionTests {
    let options: ConnectionOptions

    init() throws {
        options = try MariaDBServer.shared.createDatabase("tx")
        let store = makeStore()
        try store.withConnection { connection in
            try connection.execute("CREATE TABLE account (id INT PRIMARY KEY, balance BIGINT NOT NULL) ENGINE=InnoDB")
            try connection.execute("INSERT INTO account VALUES (1, 100), (2, 100)")
        }
        store.close()
    }

    func makeStore(logger: Logger = Logger(label: "test")) -> Store {
        Store(options: options, prefix: .standard, logger: logger)
    }

    func balance(_ id: Int) throws -> Int64 {
        let store = makeStore()
        defer { store.close() }
        return try store.withConnection { try $0.queryOne("SELECT balance FROM account WHERE id = ?", [id])!.int("balance") }
    }

    @Test func committedTransactionIsVisible() throws {
        let store = makeStore()
        try store.transaction { connection in
            try connection.execute("UPDATE account SET balance = balance - 10 WHERE id = 1")
            try connection.execute("UPDATE account SET balance = balance + 10 WHERE id = 2")
        }
        #expect(try balance(1) == 90)
        #expect(try balance(2) == 110)
    }

    @Test func failureRollsEverythingBack() throws {
        struct Abort: Error {}
        let store = makeStore()
        #expect(throws: Abort.self) {
            try store.transaction { connection in
                try connection.execute("UPDATE account SET balance = 0 WHERE id = 1")
                throw Abort()
            }
        }
        #expect(try balance(1) == 100)
        // The same connection works for the next transaction.
        try store.transaction { try $0.execute("UPDATE account SET balance = 50 WHERE id = 2") }
        #expect(try balance(2) == 50)
    }

    /// The server ending the transaction under a statement (as a Galera abort was seen to do)
    /// is simulated by a COMMIT sent as a statement: the answer says "no transaction open", and
    /// the store must run the transaction again rather than report it done.
    @Test func aTransactionTheServerEndsUnderAStatementRunsAgain() throws {
        let store = makeStore()
        var attempts = 0
        try store.transaction { connection in
            attempts += 1
            try connection.execute("UPDATE account SET balance = balance + 1 WHERE id = 2")
            if attempts == 1 { try connection.execute("COMMIT") }
        }
        #expect(attempts == 2)
        #expect(store.deadlocks == 1)
        #expect(try balance(2) == 102)  // the simulated stray statement, and the rerun
    }

    @Test func deadlockVictimIsRetriedAndBothCommit() throws {
        let logs = LogCapture()
        let attempts = AttemptCounter()
        let firstLocked = DispatchSemaphore(value: 0)
        let secondLocked = DispatchSemaphore(value: 0)
        let options = self.options

        // Two transactions take the two rows in opposite order: InnoDB kills one (1213),
        // the Store retries it, and in the end both transfers are applied exactly once.
        func transfer(first: Int, second: Int, signal: DispatchSemaphore, await other: DispatchSemaphore) -> Worker {
            Worker {
                let store = Store(options: options, prefix: .standard, logger: logs.logger())
                defer { store.close() }
                try store.transaction { connection in
                    let attempt = attempts.next(first)
                    try connection.execute("UPDATE account SET balance = balance - 1 WHERE id = ?", [first])
                    if attempt == 1 {
                        signal.signal()
                        _ = other.wait(timeout: .now() + 5)
                    }
                    try connection.execute("UPDATE account SET balance = balance + 1 WHERE id = ?", [second])
                }
            }
        }
        let a = transfer(first: 1, second: 2, signal: firstLocked, await: secondLocked)
        let b = transfer(first: 2, second: 1, signal: secondLocked, await: firstLocked)
        try a.wait()
        try b.wait()
        #expect(try balance(1) == 100)
        #expect(try balance(2) == 100)
        #expect(attempts.total > 2)
        #expect(logs.text.contains("transaction retried"))
        #expect(logs.text.contains("1213"))
    }

    @Test func lockWaitTimeoutIsRetriedUntilTheLockIsFree() throws {
        var shortWait = options
        shortWait.lockWaitTimeoutSeconds = 1
        let logs = LogCapture()
        let waiter = Store(options: shortWait, prefix: .standard, logger: logs.logger())
        defer { waiter.close() }
        let locked = DispatchSemaphore(value: 0)
        let options = self.options

        let holding = Worker {
            let holder = Store(options: options, prefix: .standard, logger: Logger(label: "holder"))
            defer { holder.close() }
            try holder.transaction { connection in
                _ = try connection.query("SELECT balance FROM account WHERE id = 1 FOR UPDATE")
                locked.signal()
                usleep(1_500_000)  // longer than the waiter's 1 s lock wait
            }
        }
        locked.wait()
        try waiter.transaction { try $0.execute("UPDATE account SET balance = 7 WHERE id = 1") }
        try holding.wait()
        #expect(try balance(1) == 7)
        #expect(logs.text.contains("1205"))
    }

    @Test func killedIdleConnectionIsReplacedTransparently() throws {
        let store = makeStore()
        defer { store.close() }
        let id = try store.withConnection { try $0.queryOne("SELECT CONNECTION_ID() AS id")!.int("id") }
        try kill(connection: id)
        // The next unit of work finds the connection dead at its first round trip and
        // reconnects: the caller sees no error.
        let newID = try store.withConnection { try $0.queryOne("SELECT CONNECTION_ID() AS id")!.int("id") }
        #expect(newID != id)
        try store.transaction { try $0.execute("UPDATE account SET balance = 1 WHERE id = 2") }
        #expect(try balance(2) == 1)
    }

    @Test func connectionLostMidWorkIsReportedNotReplayed() throws {
        let store = makeStore()
        defer { store.close() }
        let runs = AttemptCounter()
        let error = #expect(throws: DatabaseError.self) {
            try store.transaction { connection in
                _ = runs.next(0)
                try connection.execute("UPDATE account SET balance = 0 WHERE id = 1")
                let id = try connection.queryOne("SELECT CONNECTION_ID() AS id")!.int("id")
                try kill(connection: id)
                try connection.execute("UPDATE account SET balance = 0 WHERE id = 2")
            }
        }
        #expect(error?.kind == .connectionLost)
        #expect(runs.total == 1)
        #expect(try balance(1) == 100)  // the uncommitted work died with the connection
        // And the store recovers on the next call.
        try store.ping()
    }

    func kill(connection id: Int64) throws {
        let root = try Connection(options: MariaDBServer.shared.rootOptions)
        defer { root.close() }
        try root.execute("KILL ?", [id])
        usleep(50_000)
    }
}

/// Counts attempts per key across threads.
final class AttemptCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var counts: [Int: Int] = [:]

    func next(_ key: Int) -> Int {
        lock.lock()
        defer { lock.unlock() }
        counts[key, default: 0] += 1
        return counts[key]!
    }

    var total: Int {
        lock.lock()
        defer { lock.unlock() }
        return counts.values.reduce(0, +)
    }
}
