// Links libcurl, which URLSession uses on Linux (see Sources/CCurl/shim.h).
internal import CCurl
import Foundation
import Synchronization

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Calls Stripe's REST API: form-encoded bodies, `Authorization: Bearer`, a pinned
/// `Stripe-Version`, an `Idempotency-Key` on every POST, timeouts, and retries with backoff
/// (0.5 s doubling to 5 s, with jitter) on network errors, 409, 429 and 5xx — reusing the same
/// idempotency key, and honouring `Stripe-Should-Retry`. The secret key never reaches a log or
/// an error message.
///
/// Time is bounded twice: each attempt by `stripe.timeout_seconds` (a deadline, not an idle
/// timer: a server that trickles bytes cannot stretch it), and the whole call, retries and
/// pauses included, by `stripe.total_timeout_seconds`, which stays below the web server's read
/// timeout so that the caller hears our answer, not the web server's.
///
/// Blocking by design: it is called from worker threads, never from the concurrency pool.
public struct StripeClient: Sendable {
    public let configuration: Configuration.Stripe
    /// The process's budget of simultaneous calls for request handlers; nil (the webhook, the
    /// command line) is unbounded.
    public var gate: StripeCallGate?
    /// Attempts per call, the first included.
    public var maxAttempts = 3
    /// Pauses between attempts; tests shorten them.
    public var backoff: @Sendable (Int) -> Double = { attempt in
        let base = min(0.5 * pow(2, Double(attempt - 1)), 5)
        return base / 2 + Double.random(in: 0...(base / 2))
    }

    public init(configuration: Configuration.Stripe, gate: StripeCallGate? = nil) {
        self.configuration = configuration
        self.gate = gate
    }

    /// A failed call, in terms the caller can act on.
    public enum Failure: Error, CustomStringConvertible {
        /// No secret key is configured.
        case notConfigured
        /// Stripe could not be reached or did not answer in time, after retries.
        case unreachable(String)
        /// Stripe answered with its error object.
        case api(status: Int, type: String, code: String?, message: String, param: String?, declineCode: String?)
        /// Stripe answered something that is not its JSON.
        case invalidResponse(status: Int)
        /// The process already has its budget of Stripe calls in flight (`stripe.concurrent_calls`).
        case busy

        public var description: String {
            switch self {
            case .notConfigured: return "stripe.secret_key is not configured"
            case .unreachable(let reason): return "Stripe could not be reached: \(reason)"
            case .api(let status, let type, let code, let message, let param, let decline):
                var text = "Stripe answered \(status) \(type)"
                if let code { text += " (\(code))" }
                if let param { text += " for \(param)" }
                if let decline { text += ", decline code \(decline)" }
                return text + ": \(message)"
            case .invalidResponse(let status): return "Stripe answered \(status) with a body that is not its JSON"
            case .busy: return "too many Stripe calls are in flight"
            }
        }
    }

    /// GET `path` with query parameters; returns the JSON object.
    public func get(_ path: String, query: [(String, String)] = []) throws(Failure) -> JSONObject {
        try send(method: "GET", path: path, query: query, form: [], idempotencyKey: nil)
    }

    /// POST a form to `path` with an idempotency key derived from our own request.
    public func post(_ path: String, form: [(String, String)], idempotencyKey: String) throws(Failure) -> JSONObject {
        try send(method: "POST", path: path, query: [], form: form, idempotencyKey: idempotencyKey)
    }

    /// The line items of a Checkout Session, every page of them.
    public func checkoutSessionLineItems(_ sessionID: String) throws(Failure) -> [JSONObject] {
        var items: [JSONObject] = []
        var after: String?
        repeat {
            var query = [("limit", "100")]
            if let after { query.append(("starting_after", after)) }
            let page = try get("/v1/checkout/sessions/\(FormEncoding.escape(sessionID))/line_items", query: query)
            let data: [JSONObject]
            do { data = try page.array("data") } catch { throw .invalidResponse(status: 200) }
            items += data
            let hasMore = (try? page.optionalBool("has_more")) ?? false
            after = hasMore ? (try? data.last?.optionalString("id")) ?? nil : nil
        } while after != nil
        return items
    }

    private func send(method: String, path: String, query: [(String, String)], form: [(String, String)], idempotencyKey: String?) throws(Failure) -> JSONObject
    {
        guard let secretKey = configuration.secretKey else { throw .notConfigured }
        var urlText = configuration.apiBase + path
        if !query.isEmpty { urlText += "?" + FormEncoding.encode(query) }
        guard let url = URL(string: urlText) else { throw .unreachable("the URL for \(path) is not valid") }
        var request = URLRequest(url: url, timeoutInterval: TimeInterval(configuration.timeoutSeconds))
        request.httpMethod = method
        request.setValue("Bearer \(secretKey)", forHTTPHeaderField: "Authorization")
        request.setValue(configuration.apiVersion, forHTTPHeaderField: "Stripe-Version")
        request.setValue("PaymentsFCGI/1", forHTTPHeaderField: "User-Agent")
        if method == "POST" {
            request.setValue("application/x-www-form-urlencoded", forHTTPHeaderField: "Content-Type")
            request.httpBody = Data(FormEncoding.encode(form).utf8)
            if let idempotencyKey { request.setValue(idempotencyKey, forHTTPHeaderField: "Idempotency-Key") }
        }

        if let gate {
            guard gate.enter() else { throw .busy }
        }
        defer { gate?.leave() }
        let deadline = ContinuousClock.now + .seconds(configuration.totalTimeoutSeconds)
        var attempt = 1
        while true {
            let left = Self.seconds(deadline - ContinuousClock.now)
            let started = ContinuousClock.now
            let outcome =
                left > 0
                ? HTTPExchange.perform(request, timeout: min(Double(configuration.timeoutSeconds), left))
                : .failure("no time left within stripe.total_timeout_seconds")
            let result: String
            switch outcome {
            case .failure: result = "unreachable"
            case .success(let status, _, _): result = (200..<300).contains(status) ? "ok" : "http_\(status)"
            }
            ServiceMetrics.shared.stripeCall(
                endpoint: method + " " + Self.endpointLabel(path), result: result, seconds: Self.seconds(ContinuousClock.now - started))
            var retryable: Bool
            let failure: Failure
            switch outcome {
            case .failure(let reason):
                retryable = true
                failure = .unreachable(reason)
            case .success(let status, let headers, let body):
                let json = try? JSONObject.parse(body)
                if (200..<300).contains(status) {
                    guard let json else { throw .invalidResponse(status: status) }
                    return json
                }
                retryable = status == 409 || status == 429 || status >= 500
                if let should = headers["stripe-should-retry"] { retryable = should == "true" }
                if let error = try? json?.object("error") {
                    // Stripe's error object; a field of the wrong type is treated as absent.
                    func field(_ name: String) -> String? { (try? error.optionalString(name)) ?? nil }
                    failure = .api(
                        status: status, type: field("type") ?? "api_error", code: field("code"),
                        message: field("message") ?? "no message", param: field("param"), declineCode: field("decline_code"))
                } else {
                    failure = .invalidResponse(status: status)
                }
            }
            let pause = backoff(attempt)
            // A retry that could not finish in time only delays the answer.
            guard retryable, attempt < maxAttempts, Self.seconds(deadline - ContinuousClock.now) > pause + 0.5 else { throw failure }
            Thread.sleep(forTimeInterval: pause)
            attempt += 1
        }
    }

    /// `/v1/prices/price_1Pro` → `/v1/prices/*`: ids (with digits or capitals) become `*`, so
    /// that metrics have a label per endpoint, not per object.
    static func endpointLabel(_ path: String) -> String {
        path.split(separator: "/", omittingEmptySubsequences: false).map { segment -> Substring in
            segment == "v1" || segment.utf8.allSatisfy({ (97...122).contains($0) || $0 == UInt8(ascii: "_") }) ? segment : "*"
        }.joined(separator: "/")
    }

    private static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}
