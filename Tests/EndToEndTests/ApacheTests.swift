import Foundation
import TestSupport
import Testing

@Suite("Through Apache mod_proxy_fcgi (apache/payments-proxy-fcgi.conf)")
struct ApacheProxyFCGITests {
    let stack: Stack
    let apache: ApacheServer

    init() throws {
        stack = try Stack()
        apache = try ApacheServer(.proxyFCGI(socket: stack.service.socketPath))
    }

    @Test func healthzIsOK() throws {
        let reply = try HTTPClient.send(port: apache.port, path: "/payments/healthz")
        #expect(reply.status == 200, "\(apache.errorLog)")
        #expect(reply.text.hasPrefix(#"{"status":"ok","database":"ok","database_server":"#))
    }

    @Test func errorsAreJSONWithTheRightStatus() throws {
        let missing = try HTTPClient.send(port: apache.port, path: "/payments/nothing")
        #expect(missing.status == 404)
        #expect(missing.errorCode == "not_found")
        let wrong = try HTTPClient.send(
            port: apache.port, method: "POST", path: "/payments/healthz",
            headers: [("Content-Type", "application/json")], body: Array("{}".utf8))
        #expect(wrong.status == 405)
        #expect(wrong.header("Allow") == "GET, HEAD")
        let large = try HTTPClient.send(
            port: apache.port, method: "POST", path: "/payments/healthz",
            headers: [("Content-Type", "application/json")], body: [UInt8](repeating: 32, count: 300_000))
        #expect(large.status == 413)
        #expect(large.errorCode == "payload_too_large")
    }
}

@Suite("Under Apache mod_fcgid (apache/payments-fcgid.conf)")
struct ApacheFcgidTests {
    @Test func apacheSpawnsTheBinaryAndItAnswers() throws {
        let database = try MariaDBServer.shared.createDatabase("fcgid")
        let directory = TestPaths.scratchDirectory("fcgid")
        let config = directory + "/payments.ini"
        // The file names a listen socket that nothing uses: under mod_fcgid the inherited
        // socket on fd 0 must win.
        try ServiceProcess.writeConfiguration(at: config, database: database, listen: directory + "/unused.sock")
        let apache = try ApacheServer(.fcgid(configPath: config))
        defer { apache.stop() }

        let reply = try HTTPClient.send(port: apache.port, path: "/payments/healthz")
        #expect(reply.status == 200, "\(apache.errorLog)")
        #expect(reply.text.hasPrefix(#"{"status":"ok","database":"ok","database_server":"#))
        let missing = try HTTPClient.send(port: apache.port, path: "/payments/nothing")
        #expect(missing.status == 404)
        #expect(missing.errorCode == "not_found")
        #expect(!FileManager.default.fileExists(atPath: directory + "/unused.sock"))
    }
}
