import Foundation
import MariaStore
import TestSupport

/// The deployed shape for one test: a migrated database, `payments-fcgi serve` on a unix
/// socket, and the web server in front of it.
struct Stack {
    let database: ConnectionOptions
    let service: ServiceProcess

    init(workers: Int = 4, database: ConnectionOptions? = nil, extra: String = "") throws {
        let database = try database ?? MariaDBServer.shared.createDatabase("e2e")
        self.database = database
        service = try ServiceProcess(database: database, workers: workers, extra: extra)
        let migrate = try ChildProcess.run(TestPaths.binary, ["migrate", "--config", service.configPath])
        guard migrate.status == 0 else { throw TestSupportError("migrate failed: \(migrate.output)") }
    }

    /// The deployment with two database accounts: `owner` migrates, then `grant` gives the
    /// service's own account (`database`) its privileges, then the service starts with it.
    init(workers: Int = 4, database: ConnectionOptions, owner: ConnectionOptions, extra: String = "", grant: (ConnectionOptions) throws -> Void) throws {
        self.database = database
        let ownerConfig = TestPaths.scratchDirectory("owner") + "/owner.ini"
        try ServiceProcess.writeConfiguration(at: ownerConfig, database: owner, listen: nil)
        let migrate = try ChildProcess.run(TestPaths.binary, ["migrate", "--config", ownerConfig])
        guard migrate.status == 0 else { throw TestSupportError("migrate failed: \(migrate.output)") }
        try grant(database)
        service = try ServiceProcess(database: database, workers: workers, extra: extra)
    }
}

/// Reads a reply's error code from a FastCGI reply or an HTTP reply.
extension HTTPClient.Reply {
    var requestID: String? { header("X-Request-Id") }
}
