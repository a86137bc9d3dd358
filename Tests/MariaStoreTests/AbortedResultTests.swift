import Foundation
import Logging
import MariaStore
import TestSupport
import Testing

/// A statement whose result set the server ends with an error after some rows (as Galera does
/// when it aborts a transaction in the middle of a SELECT) must leave the connection fit for
/// the next statement, and for the same statement run again.
@Suite("Driver: a result set cut off by a server error")
struct AbortedResultTests {
    let options: ConnectionOptions

    init() throws {
        var options = try MariaDBServer.shared.createDatabase("abort")
        // A client waiting for packets the server never sends would hang this long, then fail.
        options.ioTimeoutSeconds = 4
        self.options = options
        let connection = try Connection(options: options)
        defer { connection.close() }
        try connection.execute("CREATE TABLE item (id INT PRIMARY KEY, k INT NOT NULL) ENGINE=InnoDB")
        try connection.execute("CREATE TABLE tag (k INT NOT NULL, v INT NOT NULL) ENGINE=InnoDB")
        try connection.execute("INSERT INTO item VALUES (1, 1), (2, 2), (3, 3)")
        // Key 2 has two tags: the scalar subquery fails (1242) on the second row, after the
        // first row and the column definitions were already sent.
        try connection.execute("INSERT INTO tag VALUES (1, 10), (2, 20), (2, 21), (3, 30)")
    }

    static let cutOffQuery = "SELECT id, (SELECT v FROM tag WHERE tag.k = item.k) AS v FROM item WHERE id >= ? ORDER BY id"

    @Test func theSameStatementRunsAgainAfterItsResultWasCutOff() throws {
        let store = Store(options: options, prefix: .standard, logger: Logger(label: "test"))
        defer { store.close() }
        let error = #expect(throws: DatabaseError.self) {
            try store.withConnection { try $0.query(Self.cutOffQuery, [1]) }
        }
        #expect(error?.code == 1242)
        let started = Date()
        let rows = try store.withConnection { try $0.query(Self.cutOffQuery, [3]) }
        #expect(try rows.map { try $0.int("v") } == [30])
        #expect(Date().timeIntervalSince(started) < 2, "the rerun waited for packets the server never sends")
    }

    @Test func aTransactionRetriedAfterACutOffResultCommitsPromptly() throws {
        let store = Store(options: options, prefix: .standard, logger: Logger(label: "test"))
        defer { store.close() }
        try store.withConnection { try $0.execute("CREATE TABLE IF NOT EXISTS seats (license INT PRIMARY KEY, used INT NOT NULL) ENGINE=InnoDB") }
        try store.withConnection { try $0.execute("INSERT INTO seats VALUES (1, 0) ON DUPLICATE KEY UPDATE used = 0") }
        var attempts = 0
        let started = Date()
        try store.transaction { connection in
            attempts += 1
            try connection.execute("UPDATE seats SET used = used + 1 WHERE license = 1")
            // First attempt: the SELECT is cut off mid-result, reported as a deadlock victim
            // would be; the rerun reads the same statement again while holding the row lock.
            do {
                _ = try connection.query(Self.cutOffQuery, [attempts == 1 ? 1 : 3])
            } catch let error as DatabaseError where error.code == 1242 {
                throw DatabaseError(kind: .deadlock, code: 1213, sqlState: "40001", message: "simulated abort: \(error.message)")
            }
        }
        #expect(attempts == 2)
        #expect(Date().timeIntervalSince(started) < 2, "the retried transaction hung")
        let used = try store.withConnection { try $0.queryOne("SELECT used FROM seats WHERE license = 1")!.int("used") }
        #expect(used == 1)
    }
}
