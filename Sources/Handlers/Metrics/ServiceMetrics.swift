import Foundation
import Synchronization

/// The process's counters and histograms for `GET /metrics`, shared by every worker thread
/// behind one lock (a worker holds it for a dictionary update, never across I/O).
///
/// The workers of `serve` are threads of one process, so these numbers cover every request it
/// answers. Under mod_fcgid, Apache runs several processes, each with its own counters, and a
/// scrape reads the one process that answers it: the figures read from the database at scrape
/// time (outbox, last webhook) are exact anyway, and for exact counters run the service under
/// mod_proxy_fcgi or nginx (one process), or give mod_fcgid one process (`FcgidMaxProcessesPerClass 1`).
public final class ServiceMetrics: Sendable {
    public static let shared = ServiceMetrics()

    /// Upper bounds (seconds) of the latency histograms' buckets.
    static let buckets: [Double] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

    struct Histogram {
        var counts = [UInt64](repeating: 0, count: ServiceMetrics.buckets.count)
        var sum = 0.0
        var count: UInt64 = 0

        mutating func observe(_ seconds: Double) {
            for (index, bound) in ServiceMetrics.buckets.enumerated() where seconds <= bound { counts[index] += 1 }
            sum += seconds
            count += 1
        }
    }

    /// A metric's name with its labels, in exposition order.
    struct Key: Hashable, Comparable {
        let name: String
        let labels: [String]

        static func < (a: Key, b: Key) -> Bool { a.name == b.name ? a.labels.lexicographicallyPrecedes(b.labels) : a.name < b.name }
    }

    struct State {
        var counters: [Key: UInt64] = [:]
        var histograms: [Key: Histogram] = [:]
    }

    private let state = Mutex(State())

    public init() {}

    /// Adds one to counter `name` with `labels` (`key="value"` pairs, already safe).
    func increment(_ name: String, _ labels: [(String, String)]) {
        let key = Key(name: name, labels: labels.map { "\($0.0)=\"\(Self.escaped($0.1))\"" })
        state.withLock { $0.counters[key, default: 0] += 1 }
    }

    func observe(_ name: String, _ labels: [(String, String)], seconds: Double) {
        let key = Key(name: name, labels: labels.map { "\($0.0)=\"\(Self.escaped($0.1))\"" })
        state.withLock { $0.histograms[key, default: Histogram()].observe(seconds) }
    }

    /// A request answered: by route pattern (never the raw path) and status.
    public func requestAnswered(route: String, status: Int, seconds: Double) {
        increment("payments_http_requests_total", [("route", route), ("status", String(status))])
        observe("payments_http_request_duration_seconds", [("route", route)], seconds: seconds)
    }

    public func webhookEvent(type: String, outcome: String) {
        increment("payments_webhook_events_total", [("type", type), ("outcome", outcome)])
    }

    public func signatureRefused(reason: String) {
        increment("payments_webhook_signature_refusals_total", [("reason", reason)])
    }

    public func licenseVerdict(action: String, status: String) {
        increment("payments_license_verdicts_total", [("action", action), ("status", status)])
    }

    public func stripeCall(endpoint: String, result: String, seconds: Double) {
        increment("payments_stripe_api_calls_total", [("endpoint", endpoint), ("result", result)])
        observe("payments_stripe_api_call_duration_seconds", [("endpoint", endpoint)], seconds: seconds)
    }

    public func databaseError(kind: String) {
        increment("payments_database_errors_total", [("kind", kind)])
    }

    static let help: [String: (type: String, help: String)] = [
        "payments_http_requests_total": ("counter", "Requests answered, by route pattern and status."),
        "payments_http_request_duration_seconds": ("histogram", "Time from a whole request to its answer, by route pattern."),
        "payments_webhook_events_total": ("counter", "Signed Stripe events, by type and outcome."),
        "payments_webhook_signature_refusals_total": ("counter", "Webhook deliveries refused for their signature, by reason."),
        "payments_license_verdicts_total": ("counter", "License answers, by action and status."),
        "payments_stripe_api_calls_total": ("counter", "Attempts at Stripe's API, by endpoint and result."),
        "payments_stripe_api_call_duration_seconds": ("histogram", "Time of one attempt at Stripe's API, by endpoint."),
        "payments_database_errors_total": ("counter", "Requests that failed on the database, by kind."),
    ]

    /// The counters and histograms in Prometheus' text format (0.0.4).
    func exposition() -> String {
        let snapshot = state.withLock { $0 }
        var out = ""
        var described: Set<String> = []
        func describe(_ name: String) {
            guard !described.contains(name), let info = Self.help[name] else { return }
            described.insert(name)
            out += "# HELP \(name) \(info.help)\n# TYPE \(name) \(info.type)\n"
        }
        for (key, value) in snapshot.counters.sorted(by: { $0.key < $1.key }) {
            describe(key.name)
            out += "\(key.name){\(key.labels.joined(separator: ","))} \(value)\n"
        }
        for (key, histogram) in snapshot.histograms.sorted(by: { $0.key < $1.key }) {
            describe(key.name)
            let labels = key.labels.joined(separator: ",")
            let separator = labels.isEmpty ? "" : ","
            for (index, bound) in Self.buckets.enumerated() {
                out += "\(key.name)_bucket{\(labels)\(separator)le=\"\(bound)\"} \(histogram.counts[index])\n"
            }
            out += "\(key.name)_bucket{\(labels)\(separator)le=\"+Inf\"} \(histogram.count)\n"
            out += "\(key.name)_sum{\(labels)} \(histogram.sum)\n\(key.name)_count{\(labels)} \(histogram.count)\n"
        }
        return out
    }

    /// A label value as the text format wants it.
    static func escaped(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n")
    }
}
