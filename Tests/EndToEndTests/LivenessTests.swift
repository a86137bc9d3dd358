import Foundation
import TestSupport
import Testing

/// `/livez` says whether the process is alive, and must go on saying so while a hung database
/// holds every worker: otherwise a supervisor restarts a healthy process (and the hang stays).
@Suite("Liveness while the database hangs")
struct LivenessTests {
    @Test func livezAnswersAtOnceWhileEveryWorkerWaitsForAFrozenDatabase() throws {
        let server = try MariaDBServer.start()  // private: it is frozen below
        defer {
            try? server.thaw()
            try? server.down()
        }
        let stack = try Stack(workers: 2, database: try server.createDatabase("frozen"))
        let nginx = try NginxServer(serviceSocket: stack.service.socketPath)
        let apache = try ApacheServer(.proxyFCGI(socket: stack.service.socketPath))
        for _ in 0..<6 { #expect(try HTTPClient.send(port: nginx.port, path: "/payments/healthz").status == 200) }

        try server.freeze()
        // More database-bound requests than workers: each worker ends up in a database call
        // that does not return, the rest wait behind them.
        let stuck = Statuses()
        let waiting = Thread {
            for reply in Simultaneously.send(5, port: nginx.port, timeout: 60, { _ in ("GET", "/payments/healthz", [], []) }) {
                stuck.add("\(reply?.status ?? 0)")
            }
        }
        waiting.start()
        usleep(1_000_000)  // in the workers, and behind them

        for (name, port) in [("nginx", nginx.port), ("apache", apache.port)] {
            for _ in 0..<3 {
                let started = Date()
                let reply = try HTTPClient.send(port: port, path: "/payments/livez", timeout: 10)
                let seconds = Date().timeIntervalSince(started)
                #expect(reply.status == 200, "\(name): \(reply.text)")
                #expect(reply.text == #"{"status":"ok"}"#)
                #expect(seconds < 1, "\(name): /livez took \(seconds) s while the database hangs")
            }
        }
        // The workers really were stuck: nothing database-bound has been answered yet.
        #expect(stuck.all.isEmpty)

        try server.thaw()
        #expect(TestPaths.waitUntil(seconds: 40) { stuck.all.count == 5 })
        #expect(stuck.all.allSatisfy { $0 == "200" }, "\(stuck.all)")
    }
}
