import Foundation
import TestSupport
import Testing

/// What no well-behaved web server sends, sent straight to the FastCGI socket: each gets a
/// clear answer or a closed connection, and the service keeps serving.
@Suite("FastCGI faults")
struct FastCGIFaultTests {
    let stack: Stack
    var socket: String { stack.service.socketPath }

    init() throws {
        stack = try Stack(workers: 2, extra: "\n[server]\nrequest_read_timeout_seconds = 2\n")
    }

    func healthzStillAnswers() throws {
        let reply = try FastCGIClient.request(socketPath: socket, params: FastCGIClient.standardParams(method: "GET", uri: "/payments/healthz"))
        #expect(reply?.status == 200)
    }

    @Test func plainRequestIsAnswered() throws {
        try healthzStillAnswers()
    }

    @Test func bodyShorterThanContentLengthIs400() throws {
        let reply = try FastCGIClient.request(
            socketPath: socket, params: FastCGIClient.standardParams(method: "GET", uri: "/payments/healthz", contentLength: "100"),
            body: Array("only twenty bytes...".utf8))
        #expect(reply?.status == 400)
        #expect(reply?.errorCode == "invalid_request")
        #expect(reply?.text.contains("ended after 20 of 100") == true)
        try healthzStillAnswers()
    }

    @Test func nonNumericContentLengthIs400() throws {
        let reply = try FastCGIClient.request(
            socketPath: socket, params: FastCGIClient.standardParams(method: "GET", uri: "/payments/healthz", contentLength: "lots"))
        #expect(reply?.status == 400)
        #expect(reply?.errorCode == "invalid_request")
    }

    @Test func missingContentLengthWithHugeBodyIs413() throws {
        let reply = try FastCGIClient.request(
            socketPath: socket, params: FastCGIClient.standardParams(method: "GET", uri: "/payments/healthz"),
            body: [UInt8](repeating: 65, count: 400_000))
        #expect(reply?.status == 413)
        #expect(reply?.errorCode == "payload_too_large")
        try healthzStillAnswers()
    }

    @Test func declaredHugeBodyIs413WithoutReadingIt() throws {
        let client = try FastCGIClient(socketPath: socket)
        // Declares 10 MB and sends none of it: the answer must not wait for the body.
        try client.send(
            FastCGIClient.beginRequest()
                + FastCGIClient.params(FastCGIClient.standardParams(method: "GET", uri: "/payments/healthz", contentLength: "10000000")))
        let reply = client.readReply()
        #expect(reply?.status == 413)
    }

    @Test func missingMethodIs400() throws {
        let reply = try FastCGIClient.request(socketPath: socket, params: [("REQUEST_URI", "/payments/healthz")])
        #expect(reply?.status == 400)
        #expect(reply?.errorCode == "invalid_request")
    }

    @Test func garbageRecordsCloseTheConnectionAndServingGoesOn() throws {
        let client = try FastCGIClient(socketPath: socket)
        try client.send(Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8) + [UInt8](repeating: 0xFF, count: 64))
        #expect(client.readReply() == nil)
        try healthzStillAnswers()
    }

    @Test func malformedParamsCloseTheConnectionAndServingGoesOn() throws {
        let client = try FastCGIClient(socketPath: socket)
        // A name-value pair claiming a 2 GB name.
        let bogus = FastCGIClient.record(type: 4, content: [0xFF, 0xFF, 0xFF, 0xF0, 0x01, 0x41, 0x42])
        try client.send(FastCGIClient.beginRequest() + bogus + FastCGIClient.record(type: 4, content: []) + FastCGIClient.stdin([]))
        _ = client.readReply()
        try healthzStillAnswers()
    }

    @Test func clientVanishingMidBodyDoesNotStopTheService() throws {
        for _ in 0..<5 {
            let client = try FastCGIClient(socketPath: socket)
            try client.send(
                FastCGIClient.beginRequest()
                    + FastCGIClient.params(FastCGIClient.standardParams(method: "GET", uri: "/payments/healthz", contentLength: "50"))
                    + FastCGIClient.stdin(Array("partial".utf8), end: false))
            // the client object closes its socket here
        }
        try healthzStillAnswers()
        #expect(stack.service.child.isRunning)
    }

    @Test func keptAliveConnectionsDoNotPinWorkers() throws {
        // Two workers; four web-server connections that ask to be kept alive and stay open.
        var held: [FastCGIClient] = []
        for _ in 0..<4 {
            let client = try FastCGIClient(socketPath: socket, timeout: 5)
            try client.send(
                FastCGIClient.beginRequest(keepConnection: true)
                    + FastCGIClient.params(FastCGIClient.standardParams(method: "GET", uri: "/payments/livez")) + FastCGIClient.stdin([]))
            #expect(client.readReply()?.status == 200)
            held.append(client)
        }
        // The service closed each of them instead of parking a worker on it…
        for client in held {
            var byte: UInt8 = 0
            #expect(recv(client.fd, &byte, 1, 0) == 0)
        }
        // …so a new request is answered at once.
        try healthzStillAnswers()
    }

    // MARK: No input ends the process

    @Test func giganticContentLengthsAre400AndServingGoesOn() throws {
        for length in ["99999999999999999999", "9223372036854775807", "9223372036854775808", "18446744073709551616", "-1", "1e9", "0x10"] {
            let reply = try FastCGIClient.request(
                socketPath: socket,
                params: FastCGIClient.standardParams(
                    method: "POST", uri: "/payments/license/verify", contentLength: length,
                    extra: [("CONTENT_TYPE", "application/x-www-form-urlencoded")]),
                body: Array("license_key=x".utf8))
            #expect(reply?.status == 400, "CONTENT_LENGTH \(length)")
            #expect(reply?.errorCode == "invalid_request")
        }
        try healthzStillAnswers()
        #expect(stack.service.child.isRunning)
    }

    @Test func malformedRecordsCloseTheConnectionAndServingGoesOn() throws {
        let params = FastCGIClient.params(FastCGIClient.standardParams(method: "GET", uri: "/payments/healthz"))
        let faults: [(String, [UInt8])] = [
            ("version 0", [0, 1, 0, 1, 0, 8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]),
            ("unknown role", FastCGIClient.record(type: 1, content: [0, 99, 0, 0, 0, 0, 0, 0]) + params + FastCGIClient.stdin([])),
            ("begin record too short", FastCGIClient.record(type: 1, content: [0]) + params + FastCGIClient.stdin([])),
            ("two begin records", FastCGIClient.beginRequest() + FastCGIClient.beginRequest() + params + FastCGIClient.stdin([])),
            ("body before the head", FastCGIClient.beginRequest() + FastCGIClient.stdin(Array("x".utf8)) + params),
            ("unknown record type", FastCGIClient.beginRequest() + FastCGIClient.record(type: 77, content: [1, 2, 3]) + params + FastCGIClient.stdin([])),
            (
                "a name-value pair cut short",
                FastCGIClient.beginRequest() + FastCGIClient.record(type: 4, content: [20, 5, 65, 66]) + FastCGIClient.record(type: 4, content: [])
                    + FastCGIClient.stdin([])
            ),
            ("padding", FastCGIClient.beginRequest() + [1, 4, 0, 1, 0, 0, 255, 0] + [UInt8](repeating: 0, count: 255) + params + FastCGIClient.stdin([])),
            ("aborted", FastCGIClient.beginRequest() + FastCGIClient.record(type: 2, content: [])),
        ]
        // Records of another request on the connection are skipped (FastCGI's multiplexing,
        // which libfcgi does not do): the request itself is answered.
        let other = try FastCGIClient(socketPath: socket, timeout: 10)
        try other.send(FastCGIClient.beginRequest() + FastCGIClient.record(type: 4, requestID: 9, content: [1, 1, 65, 66]) + params + FastCGIClient.stdin([]))
        #expect(other.readReply()?.status == 200)
        for (name, bytes) in faults {
            let client = try FastCGIClient(socketPath: socket, timeout: 10)
            try client.send(bytes)
            // Closed, or refused with a bare FCGI_END_REQUEST (libfcgi's answer to a second
            // FCGI_BEGIN_REQUEST), or answered with an error: never a crash.
            let reply = client.readReply()
            let refused = reply.map { ($0.status == 0 && $0.body.isEmpty) || $0.status >= 400 } ?? true
            #expect(refused, "\(name): \(String(describing: reply?.status)) \(reply?.text ?? "")")
            try healthzStillAnswers()
        }
        #expect(stack.service.child.isRunning)
    }

    @Test func truncatedParamsHoldNoWorkerAndAreClosedInTime() throws {
        // The head stops halfway through a params record and never goes on; both workers' worth
        // of such connections stay open, and requests are still answered at once.
        var held: [FastCGIClient] = []
        for _ in 0..<4 {
            let client = try FastCGIClient(socketPath: socket, timeout: 10)
            let params = FastCGIClient.params(FastCGIClient.standardParams(method: "GET", uri: "/payments/healthz"))
            try client.send(FastCGIClient.beginRequest() + Array(params.prefix(params.count / 2)))
            held.append(client)
        }
        let started = Date()
        try healthzStillAnswers()
        #expect(Date().timeIntervalSince(started) < 1)
        // After server.request_read_timeout_seconds they are closed without an answer.
        for client in held {
            #expect(client.readReply() == nil)
        }
        #expect(Date().timeIntervalSince(started) < 6)
        // Cut short and gone: nothing left behind.
        for cut in [1, 7, 9, 20] {
            let client = try FastCGIClient(socketPath: socket)
            try client.send(Array((FastCGIClient.beginRequest() + FastCGIClient.params([("REQUEST_METHOD", "GET")])).prefix(cut)))
        }
        try healthzStillAnswers()
        #expect(stack.service.child.isRunning)
    }
}
