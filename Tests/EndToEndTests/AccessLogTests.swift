import Foundation
import TestSupport
import Testing

/// What the shipped web-server configurations write to their access logs: each request to
/// /payments/ with its method, a redacted path and its status — never a query string (session
/// ids, license keys sent there by mistake) nor a license key pasted into the path.
@Suite("Access logs keep no keys or session ids")
struct AccessLogTests {
    static let key = "PFC-7K3QX9M-2VHDA8R-TWN4CJE-5G1PBF6"
    static let session = "cs_test_secret123"

    /// Sends what a careless plugin or a buyer's browser sends; returns the line each request
    /// must leave in the payments access log (method, redacted path and status).
    func sendLeakyRequests(port: Int) throws -> [String] {
        let form = [("Content-Type", "application/x-www-form-urlencoded")]
        let requests: [(method: String, path: String, logged: String)] = [
            ("GET", "/payments/license/verify?license_key=\(Self.key)", "/payments/license/verify"),
            ("POST", "/payments/license/verify?license_key=\(Self.key)", "/payments/license/verify"),
            ("GET", "/payments/license/verify/\(Self.key)", "/payments/license/verify/*"),
            ("POST", "/payments/license/verify/\(Self.key)", "/payments/license/verify/*"),
            ("POST", "/payments/license/verify/\(Self.key.lowercased())/x", "/payments/license/verify/*"),
            ("GET", "/payments/checkout/success?session_id=\(Self.session)", "/payments/checkout/success"),
        ]
        var lines: [String] = []
        for request in requests {
            let reply = try HTTPClient.send(
                port: port, method: request.method, path: request.path,
                headers: request.method == "POST" ? form : [], body: request.method == "POST" ? Array("site_url=a.example".utf8) : [])
            #expect(reply.status >= 200, "\(request.path)")
            lines.append("\"\(request.method) \(request.logged) HTTP/1.1\" \(reply.status) ")
        }
        return lines
    }

    func expectRedacted(_ logs: [String: String], paymentsLog: String, lines: [String]) {
        #expect(logs[paymentsLog] != nil, "no \(paymentsLog) among \(logs.keys.sorted())")
        for (name, text) in logs {
            for secret in [Self.key, Self.key.lowercased(), "7K3QX9M", "7k3qx9m", Self.session, "license_key", "session_id="] {
                #expect(!text.contains(secret), "\(name) holds \(secret):\n\(text)")
            }
        }
        let written = logs[paymentsLog] ?? ""
        for line in lines {
            #expect(written.contains(line), "\(paymentsLog) lacks \(line):\n\(written)")
        }
    }

    @Test func nginx() throws {
        let stack = try Stack()
        let nginx = try NginxServer(serviceSocket: stack.service.socketPath)
        let lines = try sendLeakyRequests(port: nginx.port)
        nginx.stop()  // flushes and closes the logs
        expectRedacted(nginx.accessLogs, paymentsLog: "payments.access.log", lines: lines)
        // The site's own logs (http and server level) see none of /payments/.
        for name in ["access.log"] { #expect(!(nginx.accessLogs[name] ?? "").contains("/payments"), "\(name)") }
    }

    @Test func apacheProxyFCGI() throws {
        let stack = try Stack()
        let apache = try ApacheServer(.proxyFCGI(socket: stack.service.socketPath))
        let lines = try sendLeakyRequests(port: apache.port)
        apache.stop()
        expectRedacted(apache.accessLogs, paymentsLog: "payments.access.log", lines: lines)
        #expect(!(apache.accessLogs["access.log"] ?? "").contains("/payments"), "the server's CustomLog skips /payments/")
    }

    @Test func apacheFcgid() throws {
        let directory = TestPaths.scratchDirectory("fcgid")
        let config = directory + "/payments.ini"
        try ServiceProcess.writeConfiguration(at: config, database: try MariaDBServer.shared.createDatabase("fcgid"), listen: nil)
        let apache = try ApacheServer(.fcgid(configPath: config))
        let lines = try sendLeakyRequests(port: apache.port)
        apache.stop()
        expectRedacted(apache.accessLogs, paymentsLog: "payments.access.log", lines: lines)
        #expect(!(apache.accessLogs["access.log"] ?? "").contains("/payments"), "the server's CustomLog skips /payments/")
    }
}
