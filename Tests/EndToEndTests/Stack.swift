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
}

/// Reads a reply's error code from a FastCGI reply or an HTTP reply.
extension HTTPClient.Reply {
    var requestID: String? { header("X-Request-Id") }
}
