import Handlers
import Testing

@Suite("Gateway request parsing")
struct GatewayRequestParserTests {
    let parser = GatewayRequestParser(mountPrefix: "/payments", maxBodyBytes: 1024)

    func head(_ params: [String: String]) throws(APIError) -> Request {
        try parser.head(from: params, requestID: "test")
    }

    @Test func mountPrefixIsRemoved() throws {
        #expect(try head(["REQUEST_METHOD": "GET", "REQUEST_URI": "/payments/healthz?x=1"]).path == "/healthz")
        #expect(try head(["REQUEST_METHOD": "GET", "REQUEST_URI": "/payments"]).path == "/")
        #expect(try head(["REQUEST_METHOD": "GET", "REQUEST_URI": "/payments/"]).path == "/")
    }

    /// Found by the GatewayRequest fuzz target: a path starting with a combining mark glued it
    /// to the `/` put in front, so the path did not start with `/` as a character.
    @Test func aPathStartingWithACombiningMarkStillStartsWithASlash() throws {
        let path = try head(["REQUEST_METHOD": "GET", "REQUEST_URI": "\u{34F}healthz"]).path
        #expect(Array(path.utf8.prefix(1)) == [UInt8(ascii: "/")])
        #expect(path.utf8.count == 1 + "\u{34F}healthz".utf8.count)
        #expect(try head(["REQUEST_METHOD": "GET", "REQUEST_URI": "/payments/\u{34F}x"]).path == "/\u{34F}x")
    }

    @Test func pathsOutsideThePrefixAreKept() throws {
        // A web server that strips the prefix itself, or a mount at the site root.
        #expect(try head(["REQUEST_METHOD": "GET", "REQUEST_URI": "/healthz"]).path == "/healthz")
        #expect(try head(["REQUEST_METHOD": "GET", "REQUEST_URI": "/paymentsx/healthz"]).path == "/paymentsx/healthz")
    }

    @Test func rootMountKeepsThePath() throws {
        let root = GatewayRequestParser(mountPrefix: "", maxBodyBytes: 10)
        #expect(try root.head(from: ["REQUEST_METHOD": "GET", "REQUEST_URI": "/healthz"], requestID: "t").path == "/healthz")
    }

    @Test func scriptNameAndPathInfoAreUsedWithoutRequestURI() throws {
        let request = try head(["REQUEST_METHOD": "GET", "SCRIPT_NAME": "/payments", "PATH_INFO": "/healthz"])
        #expect(request.path == "/healthz")
    }

    @Test func queryHeadersAndClientAreRead() throws {
        let request = try head([
            "REQUEST_METHOD": "POST", "REQUEST_URI": "/payments/a%20b?x=1&y=two", "QUERY_STRING": "x=1&y=two",
            "HTTP_STRIPE_SIGNATURE": "t=1,v1=ab", "CONTENT_TYPE": "application/json; charset=utf-8",
            "CONTENT_LENGTH": "12", "REMOTE_ADDR": "203.0.113.9",
        ])
        #expect(request.method == "POST")
        #expect(request.path == "/a b")
        #expect(request.query == "x=1&y=two")
        #expect(request.queryItems.map { "\($0.name)=\($0.value)" } == ["x=1", "y=two"])
        #expect(request.headers["Stripe-Signature"] == "t=1,v1=ab")
        #expect(request.mediaType == "application/json")
        #expect(request.headers["content-length"] == "12")
        #expect(request.clientAddress == "203.0.113.9")
    }

    @Test func missingMethodOrPathIsInvalid() {
        #expect(throws: APIError.invalidRequest("the request method is missing or malformed")) {
            try head(["REQUEST_URI": "/payments/healthz"])
        }
        #expect(throws: APIError.invalidRequest("the request method is missing or malformed")) {
            try head(["REQUEST_METHOD": "get me", "REQUEST_URI": "/payments/healthz"])
        }
        #expect(throws: APIError.invalidRequest("the web server sent no request path (REQUEST_URI)")) {
            try head(["REQUEST_METHOD": "GET"])
        }
    }

    @Test func malformedPercentEscapesAreInvalid() {
        for uri in ["/payments/%zz", "/payments/%4", "/payments/%00x", "/payments/%ff%fe"] {
            #expect(throws: APIError.self, "\(uri)") { try head(["REQUEST_METHOD": "GET", "REQUEST_URI": uri]) }
        }
    }

    @Test func contentLengthMustBeANumber() throws {
        for bad in ["abc", "-5", "1e3", "99999999999999999999999"] {
            let request = try head(["REQUEST_METHOD": "POST", "REQUEST_URI": "/payments/x", "CONTENT_LENGTH": bad])
            #expect(throws: APIError.invalidRequest("CONTENT_LENGTH is not a non-negative number"), "\(bad)") {
                try parser.declaredLength(of: request)
            }
        }
    }

    @Test func oversizedDeclaredBodyIsRefusedBeforeReading() throws {
        let request = try head(["REQUEST_METHOD": "POST", "REQUEST_URI": "/payments/x", "CONTENT_LENGTH": "1025"])
        #expect(throws: APIError.payloadTooLarge(limit: 1024)) { try parser.declaredLength(of: request) }
    }

    @Test func bodyOfDeclaredLengthIsRead() throws {
        var source = BufferedBody(Array("hello world, and more".utf8))
        let body = try parser.readBody(declaredLength: 11, from: &source)
        #expect(String(decoding: body, as: UTF8.self) == "hello world")
    }

    @Test func bodyShorterThanDeclaredIsInvalid() {
        var source = BufferedBody(Array("short".utf8))
        #expect(throws: APIError.invalidRequest("the request body ended after 5 of 40 declared bytes")) {
            try parser.readBody(declaredLength: 40, from: &source)
        }
    }

    @Test func bodyWithoutLengthIsReadToItsEnd() throws {
        var source = BufferedBody(Array(repeating: 7, count: 1000))
        #expect(try parser.readBody(declaredLength: nil, from: &source).count == 1000)
    }

    @Test func bodyWithoutLengthStopsAtTheLimit() {
        var source = BufferedBody(Array(repeating: 7, count: 5000))
        #expect(throws: APIError.payloadTooLarge(limit: 1024)) { try parser.readBody(declaredLength: nil, from: &source) }
    }

    @Test func failedReadIsInvalid() {
        struct Broken: BodySource { mutating func read(maxCount: Int) -> [UInt8]? { nil } }
        var source = Broken()
        #expect(throws: APIError.self) { try parser.readBody(declaredLength: 10, from: &source) }
    }
}
