import Foundation
import MariaStore

/// `GET /metrics`: Prometheus' text format, for the addresses in `metrics.allowed_addresses`
/// only (404 when none are listed — the endpoint is off — and 403 for any other address). The
/// process's counters, plus what the database knows for every process alike: the outbox's
/// backlog, the age of its oldest waiting message, dead letters, and the last verified webhook
/// per mode.
enum MetricsEndpoint {
    static func handle(_ request: Request, _ context: Context) throws -> Response {
        let allowed = context.configuration.metrics.allowedAddresses
        guard !allowed.isEmpty else { throw APIError.notFound(request.path) }
        guard allowed.contains(request.clientAddress) else {
            throw APIError(HTTPStatus(403, "Forbidden"), code: "forbidden", message: "metrics are not served to this address")
        }
        let store = context.store
        let now = context.clock.now
        let (outbox, webhook) = try store.withConnection { connection in
            let operations = OperationsReport(connection, prefix: store.prefix)
            return (try operations.outbox(), try operations.webhookHealth())
        }
        var text = ServiceMetrics.shared.exposition()
        func age(_ stamp: String?) -> Double { stamp.flatMap(SQLTimestamp.date(from:)).map { max(0, now.timeIntervalSince($0)) } ?? 0 }
        text +=
            "# HELP payments_outbox_pending Messages waiting to be delivered.\n# TYPE payments_outbox_pending gauge\npayments_outbox_pending \(outbox.pending)\n"
        text +=
            "# HELP payments_outbox_oldest_pending_seconds Age of the oldest waiting message.\n# TYPE payments_outbox_oldest_pending_seconds gauge\n"
            + "payments_outbox_oldest_pending_seconds \(age(outbox.oldestPending))\n"
        text += "# HELP payments_outbox_dead Messages that gave up (dead letters).\n# TYPE payments_outbox_dead gauge\npayments_outbox_dead \(outbox.dead)\n"
        text +=
            "# HELP payments_webhook_last_verified_timestamp_seconds Unix time of the last verified, recorded event, by mode.\n"
            + "# TYPE payments_webhook_last_verified_timestamp_seconds gauge\n"
        for (mode, stamp) in [("live", webhook.lastLive), ("test", webhook.lastTest)] {
            let seconds = stamp.flatMap(SQLTimestamp.date(from:)).map { $0.timeIntervalSince1970 } ?? 0
            text += "payments_webhook_last_verified_timestamp_seconds{mode=\"\(mode)\"} \(seconds)\n"
        }
        text +=
            "# HELP payments_webhook_failed_events Events recorded as failed, waiting for a replay.\n# TYPE payments_webhook_failed_events gauge\n"
            + "payments_webhook_failed_events \(webhook.failed)\n"
        var headers = HTTPHeaders()
        headers.add("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
        return Response(status: .ok, headers: headers, body: Array(text.utf8))
    }
}
