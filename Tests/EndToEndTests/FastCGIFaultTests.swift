import Foundation
import Testing
import TestSupport

/// What no well-behaved web server sends, sent straight to the FastCGI socket: each gets a
/// clear answer or a closed connection, and the service keeps serving.
@Suite("FastCGI faults")
struct FastCGIFaultTests {
    let stack: Stack
    var socket: String { stack.service.socketPath }

    init() throws {
        stack = try Stack(workers: 2)
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
        try client.send(FastCGIClient.beginRequest()
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
            try client.send(FastCGIClient.beginRequest()
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
            try client.send(FastCGIClient.beginRequest(keepConnection: true)
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
}
