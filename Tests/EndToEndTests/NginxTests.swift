import Foundation
import TestSupport
import Testing

@Suite("Through nginx (nginx/payments-fcgi.conf)")
struct NginxTests {
    let stack: Stack
    let nginx: NginxServer

    init() throws {
        stack = try Stack()
        nginx = try NginxServer(serviceSocket: stack.service.socketPath)
    }

    @Test func healthzIsOKWithTheDatabaseUp() throws {
        let reply = try HTTPClient.send(port: nginx.port, path: "/payments/healthz")
        #expect(reply.status == 200)
        #expect(reply.text.hasPrefix(#"{"status":"ok","database":"ok","database_server":"#))
        #expect(reply.header("Content-Type") == "application/json; charset=utf-8")
        #expect(reply.header("Cache-Control") == "no-store")
    }

    @Test func trailingSlashAndHeadWork() throws {
        #expect(try HTTPClient.send(port: nginx.port, path: "/payments/healthz/").status == 200)
        let head = try HTTPClient.send(port: nginx.port, method: "HEAD", path: "/payments/healthz")
        #expect(head.status == 200)
        let get = try HTTPClient.send(port: nginx.port, path: "/payments/healthz")
        #expect(head.header("Content-Length") == String(get.body.count))
    }

    @Test func unknownPathIsJSON404() throws {
        let reply = try HTTPClient.send(port: nginx.port, path: "/payments/no/such/thing")
        #expect(reply.status == 404)
        #expect(reply.errorCode == "not_found")
    }

    @Test func wrongMethodIsJSON405WithAllow() throws {
        let reply = try HTTPClient.send(port: nginx.port, method: "DELETE", path: "/payments/healthz")
        #expect(reply.status == 405)
        #expect(reply.errorCode == "method_not_allowed")
        #expect(reply.header("Allow") == "GET, HEAD")
    }

    @Test func unknownMethodIsAnsweredNotCrashed() throws {
        let reply = try HTTPClient.send(port: nginx.port, method: "PURGE", path: "/payments/healthz")
        #expect(reply.status == 405)
        #expect(try HTTPClient.send(port: nginx.port, path: "/payments/healthz").status == 200)
    }

    @Test func bodyOverOurLimitIsJSON413() throws {
        // Above server.max_body_bytes (256 KiB) but below nginx's 1 MiB: our answer.
        let reply = try HTTPClient.send(
            port: nginx.port, method: "POST", path: "/payments/healthz",
            headers: [("Content-Type", "application/json")], body: [UInt8](repeating: 32, count: 300_000))
        #expect(reply.status == 413)
        #expect(reply.errorCode == "payload_too_large")
        #expect(reply.text.contains("262144"))
    }

    @Test func bodyOverNginxLimitIsStillJSON413() throws {
        let reply = try HTTPClient.send(
            port: nginx.port, method: "POST", path: "/payments/healthz",
            headers: [("Content-Type", "application/json")], body: [UInt8](repeating: 32, count: 1_100_000))
        #expect(reply.status == 413)
        #expect(reply.errorCode == "payload_too_large")
    }

    @Test func nginxRequestIDIsOurs() throws {
        let reply = try HTTPClient.send(port: nginx.port, path: "/payments/healthz")
        let id = try #require(reply.requestID)
        #expect(id.count == 32)
        #expect(stack.service.log.contains("request_id=\(id)"))
    }

    @Test func logHasOneLinePerRequestAndNoSecrets() throws {
        _ = try HTTPClient.send(port: nginx.port, path: "/payments/healthz?license_key=PFC-TOPSECRET-KEY")
        _ = try HTTPClient.send(port: nginx.port, path: "/payments/healthz")
        _ = try HTTPClient.send(port: nginx.port, path: "/payments/missing")
        #expect(TestPaths.waitUntil(seconds: 2) { stack.service.log.components(separatedBy: " request ").count - 1 >= 3 })
        let log = stack.service.log
        #expect(log.contains("status=400"))
        #expect(log.contains("status=200"))
        #expect(log.contains("status=404"))
        #expect(!log.contains("TOPSECRET"))
        #expect(!log.contains(stack.database.password + "\n") && !log.contains("password=payments"))
    }

    @Test func serviceDownIsJSON503FromNginx() throws {
        stack.service.stop()
        let reply = try HTTPClient.send(port: nginx.port, path: "/payments/healthz")
        #expect(reply.status == 503)
        #expect(reply.errorCode == "unavailable")
        #expect(reply.header("Retry-After") == "5")
    }

    @Test func concurrentRequestsAllSucceed() throws {
        let port = nginx.port
        let replies = Simultaneously.send(200, port: port) { _ in ("GET", "/payments/healthz", [], []) }
        let failed = replies.filter { reply in reply?.status != 200 }
        #expect(failed.isEmpty)
    }
}
