import Foundation
import Logging
import MariaStore
import TestSupport
import Testing

/// Several configured servers: the store uses the first that answers and moves on when one is
/// lost, without the caller noticing.
@Suite("Store: several database servers, tried in order")
struct ServerFailoverTests {
    @Test func aServerThatCannotBeReachedIsSkippedForTheNext() throws {
        var options = try MariaDBServer.shared.createDatabase("fo")
        let real = options.endpoints[0]
        options.socket = "/nonexistent/first-node.sock"
        options.alternates = [real]
        let logs = LogCapture()
        let store = Store(options: options, prefix: .standard, logger: logs.logger())
        defer { store.close() }
        #expect(try store.pingedEndpoint() == real)
        #expect(try store.withConnection { try $0.queryOne("SELECT 1 AS one")?.int("one") } == 1)
        #expect(logs.text.contains("trying the next"))
    }

    @Test func aLostConnectionMovesToTheNextServerAndTheWorkRunsThere() throws {
        // Two "servers" that are the same one, reached by two paths: losing the first
        // connection must move the next unit of work to the second path.
        let options0 = try MariaDBServer.shared.createDatabase("fo")
        var options = options0
        options.alternates = [options0.endpoints[0]]
        let store = Store(options: options, prefix: .standard, logger: Logger(label: "test"))
        defer { store.close() }
        let first = try store.withConnection { connection -> Int64 in try connection.queryOne("SELECT CONNECTION_ID() AS id")!.int("id") }
        let root = try Connection(options: MariaDBServer.shared.rootOptions)
        defer { root.close() }
        try root.execute("KILL ?", [first])
        // The first round trip finds the connection gone: replayed on a new connection.
        let second = try store.withConnection { connection -> Int64 in try connection.queryOne("SELECT CONNECTION_ID() AS id")!.int("id") }
        #expect(second != first)
    }

    @Test func readsOfTheLatestCommitsWorkOnAServerThatIsNotAGaleraNode() throws {
        let store = Store(options: try MariaDBServer.shared.createDatabase("fo"), prefix: .standard, logger: Logger(label: "test"))
        defer { store.close() }
        #expect(try store.readLatest { try $0.queryOne("SELECT @@wsrep_sync_wait AS w")?.int("w") } == 3)
        // A transaction afterwards runs without it.
        #expect(try store.transaction { try $0.queryOne("SELECT @@wsrep_sync_wait AS w")?.int("w") } == 0)
    }
}
