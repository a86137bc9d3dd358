import Foundation
import Synchronization

/// A real HTTP/1.1 server on 127.0.0.1 for the things tests cannot reach (Stripe, a WordPress
/// site): a thread accepts connections and answers each request with `handler`, recording
/// what it received. One request per connection (`Connection: close`).
public final class LoopbackHTTPServer: Sendable {
    public struct Request: Sendable {
        public let method: String
        public let path: String
        public let query: String
        public let headers: [String: String]
        public let body: [UInt8]
        public var text: String { String(decoding: body, as: UTF8.self) }
        /// The form body decoded into pairs, in order.
        public var form: [(String, String)] {
            text.split(separator: "&").map { pair in
                let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                func decode(_ s: Substring) -> String { (String(s).replacingOccurrences(of: "+", with: " ").removingPercentEncoding) ?? String(s) }
                return (decode(parts[0]), parts.count > 1 ? decode(parts[1]) : "")
            }
        }
    }

    public struct Response: Sendable {
        public var status: Int
        public var headers: [(String, String)]
        public var body: [UInt8]
        /// Close the connection without answering (a network failure as the client sees it).
        public var dropConnection = false
        /// Seconds to wait before answering (a slow or hung server).
        public var delay: Double = 0

        public init(status: Int, headers: [(String, String)] = [("Content-Type", "application/json")], body: [UInt8]) {
            self.status = status
            self.headers = headers
            self.body = body
        }

        public static func json(_ status: Int, _ text: String) -> Response { Response(status: status, body: Array(text.utf8)) }
        public static var dropped: Response {
            var r = Response(status: 0, body: [])
            r.dropConnection = true
            return r
        }

        /// This answer, after `seconds`.
        public func delayed(_ seconds: Double) -> Response {
            var r = self
            r.delay = seconds
            return r
        }
    }

    public let port: Int
    private let listener: Int32
    private let handler: @Sendable (Request) -> Response
    private let received = Mutex<[Request]>([])
    private let stopped = Atomic<Bool>(false)

    public init(handler: @escaping @Sendable (Request) -> Response) throws {
        self.handler = handler
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 128) == 0 else {
            close(fd)
            throw TestSupportError("cannot listen on loopback")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        listener = fd
        port = Int(UInt16(bigEndian: address.sin_port))
        let thread = Thread { [self] in acceptLoop() }
        thread.start()
    }

    deinit { stop() }

    /// Stops accepting (connections in progress finish).
    public func stop() {
        if stopped.exchange(true, ordering: .sequentiallyConsistent) { return }
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    public var baseURL: String { "http://127.0.0.1:\(port)" }

    /// Every request received so far, in order.
    public var requests: [Request] { received.withLock { $0 } }

    private func acceptLoop() {
        while !stopped.load(ordering: .sequentiallyConsistent) {
            let fd = accept(listener, nil, nil)
            if fd < 0 { if stopped.load(ordering: .sequentiallyConsistent) { return } else { continue } }
            let thread = Thread { [self] in serve(fd) }
            thread.start()
        }
    }

    private func serve(_ fd: Int32) {
        defer { close(fd) }
        HTTPClient.setTimeout(fd, 10)
        guard let request = readRequest(fd) else { return }
        received.withLock { $0.append(request) }
        let response = handler(request)
        if response.delay > 0 { usleep(UInt32(response.delay * 1_000_000)) }
        if response.dropConnection { return }
        var head = "HTTP/1.1 \(response.status) X\r\nConnection: close\r\nContent-Length: \(response.body.count)\r\n"
        for (name, value) in response.headers { head += "\(name): \(value)\r\n" }
        head += "\r\n"
        try? HTTPClient.writeAll(fd, Array(head.utf8) + response.body)
    }

    private func readRequest(_ fd: Int32) -> Request? {
        var data: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        var headerEnd: Range<Int>?
        while headerEnd == nil {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { return nil }
            data += buffer[0..<n]
            headerEnd = data.firstRange(of: [13, 10, 13, 10])
        }
        let lines = String(decoding: data[..<headerEnd!.lowerBound], as: UTF8.self).components(separatedBy: "\r\n")
        let requestLine = lines[0].split(separator: " ")
        guard requestLine.count >= 2 else { return nil }
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        var body = Array(data[headerEnd!.upperBound...])
        let length = Int(headers["content-length"] ?? "0") ?? 0
        while body.count < length {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { return nil }
            body += buffer[0..<n]
        }
        let target = requestLine[1].split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        return Request(
            method: String(requestLine[0]), path: String(target[0]), query: target.count > 1 ? String(target[1]) : "",
            headers: headers, body: body)
    }
}

/// A local server that speaks Stripe's wire format: bearer authentication, form bodies,
/// Stripe's JSON objects and error shapes, and idempotency as Stripe keeps it (a POST repeated
/// with the same `Idempotency-Key` gets the first answer again, and creates nothing). Tests
/// register answers per `METHOD /path`; every request is recorded, so tests count calls.
public final class FakeStripeServer: Sendable {
    public static let secretKey = "sk_test_fake_0123456789"
    private let routes: Routes
    private let server: LoopbackHTTPServer

    /// The answer table, shared with the server's connection threads.
    private final class Routes: Sendable {
        let table = Mutex<[String: [LoopbackHTTPServer.Response]]>([:])
        let handlers = Mutex<[String: @Sendable (LoopbackHTTPServer.Request) -> LoopbackHTTPServer.Response]>([:])
        /// First answers by `METHOD /path Idempotency-Key`, and when each is complete.
        let idempotent = Mutex<[String: (response: LoopbackHTTPServer.Response, ready: Date)]>([:])
    }

    public init() throws {
        let routes = Routes()
        self.routes = routes
        server = try LoopbackHTTPServer { request in
            guard request.headers["authorization"] == "Bearer \(FakeStripeServer.secretKey)" else {
                return .json(401, #"{"error":{"type":"invalid_request_error","message":"Invalid API Key provided."}}"#)
            }
            let key = "\(request.method) \(request.path)"
            let idempotencyKey = request.method == "POST" ? request.headers["idempotency-key"].map { "\(key) \($0)" } : nil
            if let idempotencyKey, let earlier = routes.idempotent.withLock({ $0[idempotencyKey] }) {
                // As Stripe: a key whose first request is still being processed is in use.
                guard Date() >= earlier.ready else {
                    return .json(
                        409,
                        #"{"error":{"type":"idempotency_error","code":"idempotency_key_in_use","message":"There is currently another in-progress request using this Idempotent Key."}}"#
                    )
                }
                var replay = earlier.response
                replay.delay = 0
                replay.headers.append(("Idempotent-Replayed", "true"))
                return replay
            }
            let handler = routes.handlers.withLock { handlers in
                handlers[key] ?? handlers.first { $0.key.hasSuffix("*") && key.hasPrefix($0.key.dropLast()) }?.value
            }
            let answer: LoopbackHTTPServer.Response? =
                handler.map { $0(request) }
                ?? routes.table.withLock { table in
                    guard var queue = table[key], !queue.isEmpty else { return nil }
                    // The last answer repeats; earlier ones are used once each (failures first).
                    let next = queue.count > 1 ? queue.removeFirst() : queue[0]
                    table[key] = queue
                    return next
                }
            guard let answer else {
                return .json(404, #"{"error":{"type":"invalid_request_error","message":"Unrecognized request URL (\#(request.method): \#(request.path))."}}"#)
            }
            // Stripe keeps the answer of a request it processed (not of one that failed on
            // its side with a 5xx or never arrived), even when the client gave up waiting.
            if let idempotencyKey, !answer.dropConnection, answer.status < 500 {
                routes.idempotent.withLock { $0[idempotencyKey] = $0[idempotencyKey] ?? (answer, Date().addingTimeInterval(answer.delay)) }
            }
            return answer
        }
    }

    public var baseURL: String { server.baseURL }
    public var requests: [LoopbackHTTPServer.Request] { server.requests }

    /// The requests whose path starts with `prefix`.
    public func requests(_ method: String, _ prefix: String) -> [LoopbackHTTPServer.Request] {
        requests.filter { $0.method == method && $0.path.hasPrefix(prefix) }
    }

    /// Answers `METHOD /path` with these responses in turn (the last one repeats).
    public func on(_ method: String, _ path: String, _ responses: LoopbackHTTPServer.Response...) {
        routes.table.withLock { $0["\(method) \(path)"] = responses }
    }

    /// Answers `METHOD /path` with whatever `handler` makes of each request (`/path*`: every
    /// path that starts with `/path`).
    public func on(_ method: String, _ path: String, handler: @escaping @Sendable (LoopbackHTTPServer.Request) -> LoopbackHTTPServer.Response) {
        routes.handlers.withLock { $0["\(method) \(path)"] = handler }
    }

    /// Creates Checkout Sessions as Stripe does: a new `cs_test_…` id for each new
    /// idempotency key, its URL, and (when given) the session object's other fields.
    public func createsSessions() {
        let counter = Atomic<Int>(0)
        on("POST", "/v1/checkout/sessions") { _ in
            let id = "cs_test_created\(counter.add(1, ordering: .relaxed).newValue)x\(UUID().uuidString.prefix(8).lowercased())"
            return .json(200, #"{"id":"\#(id)","object":"checkout.session","url":"https://checkout.stripe.com/c/pay/\#(id)"}"#)
        }
    }

    /// Answers what fulfilment asks about subscriptions as Stripe would for the fixture
    /// scenario: `GET /v1/subscriptions/{id}` (the fixture's subscription, under that id) and
    /// `GET /v1/invoice_payments?invoice=…` (paid by `pi_for_<invoice>`).
    public func answersSubscriptionQuestions(subscription: String) {
        on("GET", "/v1/subscriptions/*") { request in
            let id = String(request.path.dropFirst("/v1/subscriptions/".count))
            return .json(200, subscription.replacingOccurrences(of: "sub_1SnKmonthly00000001", with: id))
        }
        on("GET", "/v1/invoice_payments") { request in
            let invoice = request.query.split(separator: "&").first { $0.hasPrefix("invoice=") }.map { String($0.dropFirst(8)) } ?? "none"
            return .json(
                200,
                #"{"object":"list","has_more":false,"data":[{"object":"invoice_payment","id":"inpay_\#(invoice)","invoice":"\#(invoice)","status":"paid","payment":{"type":"payment_intent","payment_intent":"pi_for_\#(invoice)"}}]}"#
            )
        }
    }

    /// A Checkout Session's line items as Stripe lists them.
    public func lineItems(session: String, _ items: [(price: String, quantity: Int)]) {
        lineItems(session: session, items.map { ($0.price, $0.quantity, nil) })
    }

    /// The same, with what each line cost (`amount_total`).
    public func lineItems(session: String, _ items: [(price: String, quantity: Int, amount: Int?)]) {
        let data = items.enumerated().map { index, item in
            let amount = item.amount.map { #","amount_total":\#($0)"# } ?? ""
            return #"{"id":"li_\#(index)","object":"item","quantity":\#(item.quantity)\#(amount),"price":{"id":"\#(item.price)","object":"price"}}"#
        }.joined(separator: ",")
        on(
            "GET", "/v1/checkout/sessions/\(session)/line_items",
            .json(200, #"{"object":"list","data":[\#(data)],"has_more":false,"url":"/v1/checkout/sessions/\#(session)/line_items"}"#))
    }
}
