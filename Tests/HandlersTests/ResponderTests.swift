import Foundation
import Handlers
import MariaStore
import TestSupport
import Testing

@Suite("Responder: the request pipeline without a web server")
struct ResponderTests {
    struct Boom: Error, CustomStringConvertible {
        var description: String { "secret detail sk_live_123 that must not reach the client" }
    }

    static let router = Router([
        Route("GET", "/healthz", handler: HealthCheck.handle),
        Route("POST", "/echo", accepts: ["application/json"]) { request, _ in
            Response(status: .ok, headers: HTTPHeaders([("Content-Type", "application/json")]), body: request.body)
        },
        Route("GET", "/boom") { _, _ in throw Boom() },
        Route("GET", "/db-down") { _, _ in throw DatabaseError(kind: .connectionLost, code: 2006, message: "MySQL server has gone away") },
        Route("GET", "/node-joining") { _, _ in
            throw DatabaseError(code: 1047, sqlState: "08S01", message: "WSREP has not yet prepared node for application use")
        },
    ])

    let responder = Responder(router: router, parser: GatewayRequestParser(mountPrefix: "/payments", maxBodyBytes: 64))

    func respond(_ params: [String: String], body: [UInt8] = [], context: Context = offlineContext()) -> Response {
        var source = BufferedBody(body)
        return responder.respond(params: params, body: &source, context: context)
    }

    func errorCode(_ response: Response) -> String? {
        let json = try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]
        return (json?["error"] as? [String: Any])?["code"] as? String
    }

    @Test func everyErrorIsJSONWithCodeAndMessage() throws {
        let response = respond(["REQUEST_METHOD": "GET", "REQUEST_URI": "/payments/missing"])
        #expect(response.status.code == 404)
        #expect(response.headers["content-type"] == "application/json; charset=utf-8")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any])
        let error = try #require(json["error"] as? [String: Any])
        #expect(error["code"] as? String == "not_found")
        #expect(error["message"] as? String == "no endpoint at /missing")
    }

    @Test func bodyIsPassedToTheHandler() {
        let response = respond(
            ["REQUEST_METHOD": "POST", "REQUEST_URI": "/payments/echo", "CONTENT_TYPE": "application/json", "CONTENT_LENGTH": "9"],
            body: Array("{\"a\":\"b\"}".utf8))
        #expect(response.status.code == 200)
        #expect(response.text == "{\"a\":\"b\"}")
    }

    @Test func oversizedBodyIs413AndNeverRead() {
        var source = UntouchableBody()
        let response = responder.respond(
            params: ["REQUEST_METHOD": "POST", "REQUEST_URI": "/payments/echo", "CONTENT_TYPE": "application/json", "CONTENT_LENGTH": "65"],
            body: &source, context: offlineContext())
        #expect(response.status.code == 413)
        #expect(errorCode(response) == "payload_too_large")
        #expect(!source.readAttempted)
    }

    @Test func unroutableRequestsNeverReadTheBody() {
        var source = UntouchableBody()
        let response = responder.respond(
            params: ["REQUEST_METHOD": "POST", "REQUEST_URI": "/payments/healthz", "CONTENT_LENGTH": "10"],
            body: &source, context: offlineContext())
        #expect(response.status.code == 405)
        #expect(response.headers["allow"] == "GET, HEAD")
        #expect(!source.readAttempted)
    }

    @Test func wrongContentTypeIs415() {
        let response = respond(
            ["REQUEST_METHOD": "POST", "REQUEST_URI": "/payments/echo", "CONTENT_TYPE": "text/plain", "CONTENT_LENGTH": "2"],
            body: Array("hi".utf8))
        #expect(response.status.code == 415)
        #expect(errorCode(response) == "unsupported_media_type")
    }

    @Test func shortBodyIs400() {
        let response = respond(
            ["REQUEST_METHOD": "POST", "REQUEST_URI": "/payments/echo", "CONTENT_TYPE": "application/json", "CONTENT_LENGTH": "30"],
            body: Array("{}".utf8))
        #expect(response.status.code == 400)
        #expect(errorCode(response) == "invalid_request")
    }

    @Test func unknownErrorsAre500WithoutDetail() {
        let logs = LogCapture()
        let response = respond(["REQUEST_METHOD": "GET", "REQUEST_URI": "/payments/boom"], context: offlineContext(logger: logs.logger()))
        #expect(response.status.code == 500)
        #expect(errorCode(response) == "internal_error")
        #expect(!response.text.contains("sk_live"))
        #expect(logs.text.contains("unhandled error"))
    }

    @Test func databaseOutageIs503WithRetryAfter() {
        let response = respond(["REQUEST_METHOD": "GET", "REQUEST_URI": "/payments/db-down"])
        #expect(response.status.code == 503)
        #expect(errorCode(response) == "unavailable")
        #expect(response.headers["retry-after"] == "5")
    }

    @Test func galeraNodeNotYetReadyIs503WithRetryAfterNot500() {
        let response = respond(["REQUEST_METHOD": "GET", "REQUEST_URI": "/payments/node-joining"])
        #expect(response.status.code == 503)
        #expect(errorCode(response) == "unavailable")
        #expect(response.headers["retry-after"] == "5")
    }

    @Test func headAnswersWithoutBodyButWithItsLength() throws {
        let context = try databaseContext()
        let response = respond(["REQUEST_METHOD": "HEAD", "REQUEST_URI": "/payments/healthz"], context: context)
        #expect(response.status.code == 200)
        #expect(response.body.isEmpty)
        let get = respond(["REQUEST_METHOD": "GET", "REQUEST_URI": "/payments/healthz"], context: context)
        #expect(response.headers["content-length"] == String(get.body.count))
    }

    @Test func requestIDFromTheWebServerIsKept() {
        let response = respond(["REQUEST_METHOD": "GET", "REQUEST_URI": "/payments/x", "REQUEST_ID": "0123456789abcdef0123456789abcdef"])
        #expect(response.headers["x-request-id"] == "0123456789abcdef0123456789abcdef")
    }

    @Test func unsafeRequestIDIsReplaced() {
        let response = respond(["REQUEST_METHOD": "GET", "REQUEST_URI": "/payments/x", "HTTP_X_REQUEST_ID": "abc def\nINJECTED=1"])
        let id = response.headers["x-request-id"] ?? ""
        #expect(id.count == 32)
        #expect(id.allSatisfy { $0.isHexDigit })
    }

    @Test func oneLogLinePerRequestWithoutQueryOrKeys() {
        let logs = LogCapture()
        _ = respond(
            [
                "REQUEST_METHOD": "GET", "REQUEST_URI": "/payments/license/PFC-SECRETKEY-1234?license_key=PFC-SECRET",
                "QUERY_STRING": "license_key=PFC-SECRET", "REQUEST_ID": "req-00000001",
            ],
            context: offlineContext(logger: logs.logger()))
        let lines = logs.all.filter { $0.contains("request ") || $0.hasPrefix("info request") }
        #expect(lines.count == 1)
        let line = try! #require(lines.first)
        #expect(line.contains("request_id=req-00000001"))
        #expect(line.contains("status=400"))  // a key in the URL is refused before routing
        #expect(line.contains("duration_ms="))
        #expect(!logs.text.contains("SECRET"))
    }

    @Test func healthzIs200WhenTheDatabaseAnswers() throws {
        let response = respond(["REQUEST_METHOD": "GET", "REQUEST_URI": "/payments/healthz"], context: try databaseContext())
        #expect(response.status.code == 200)
        #expect(response.text == #"{"status":"ok","database":"ok","database_server":"unix:"# + MariaDBServer.shared.socket + #""}"#)
    }

    @Test func healthzIs503WhenTheDatabaseIsUnreachable() {
        let response = respond(["REQUEST_METHOD": "GET", "REQUEST_URI": "/payments/healthz"])
        #expect(response.status.code == 503)
        #expect(errorCode(response) == "unavailable")
        #expect(response.headers["retry-after"] != nil)
    }
}

@Suite("Log redaction")
struct LogRedactionTests {
    @Test func plainWordsStayAndTokensGo() {
        #expect(LogRedaction.path("/healthz") == "/healthz")
        #expect(LogRedaction.path("/license/activate/") == "/license/activate/")
        #expect(LogRedaction.path("/payments/pi_3N8x2") == "/payments/*")
        #expect(LogRedaction.path("/license/PFC-AB12-CD34") == "/license/*")
        #expect(LogRedaction.path("/a/" + String(repeating: "x", count: 40)) == "/a/*")
    }
}
