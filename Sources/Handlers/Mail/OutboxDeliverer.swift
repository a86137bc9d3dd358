import Foundation
import MariaStore

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Sends what the outbox holds: license emails and other mail, and signed notifications to
/// the WordPress site. Runs as a thread of `serve` and as `payments-fcgi deliver` (cron); any
/// number may run at once: each message is claimed by one deliverer (a lease taken with
/// `SELECT … FOR UPDATE SKIP LOCKED`, renewed before each send of the batch, so a slow mail
/// server cannot let a second deliverer take over a message still waiting in the first one's
/// batch) and marked delivered after it was sent. Failures retry with exponential backoff and
/// jitter; after `delivery.max_attempts` a message is dead. A message that cannot go anywhere
/// yet (no `mail.from`, no `notifications.url`) waits, using no attempt, until it can.
public struct OutboxDeliverer {
    let context: Context
    /// Who holds a claim (host:pid:thread), for `outbox show`.
    let name: String
    /// How long a claim lasts; a deliverer that died frees its messages after it.
    public var leaseSeconds: Double = 120

    public init(context: Context, name: String) {
        self.context = context
        self.name = name
    }

    public struct Report: Sendable, Equatable {
        public var sent = 0
        public var failed = 0
        public var skipped = 0
        /// Waiting for configuration (no attempt used).
        public var deferred = 0

        public init() {}
    }

    /// Claims and sends up to `limit` due messages.
    @discardableResult
    public func deliverDue(limit: Int = 20) throws -> Report {
        let store = context.store
        let now = context.clock.now
        // Keys shown on success pages are erased once their window has passed.
        try store.withConnection { try LicenseRepository($0, prefix: store.prefix).eraseExpiredDisplays(now: now) }
        let claimed = try store.transaction { connection in
            try Outbox(connection, prefix: store.prefix).claimDue(limit: limit, by: name, until: now.addingTimeInterval(leaseSeconds), now: now)
        }
        var report = Report()
        for (index, message) in claimed.enumerated() {
            // Renew the lease of what is still ours; a message whose lease ran out and that
            // another deliverer took is left to it.
            let ours = try store.transaction { connection in
                try Outbox(connection, prefix: store.prefix).renewClaims(
                    claimed[index...].map(\.id), by: name,
                    until: context.clock.now.addingTimeInterval(leaseSeconds))
            }
            guard ours.contains(message.id) else { continue }
            let outcome = deliver(message)
            try store.transaction { connection in
                let outbox = Outbox(connection, prefix: store.prefix)
                switch outcome {
                case .sent:
                    report.sent += 1
                    try outbox.markDelivered(message.id, by: name, note: nil, now: context.clock.now)
                case .skipped(let why):
                    report.skipped += 1
                    try outbox.markDelivered(message.id, by: name, note: "skipped: \(why)", now: context.clock.now)
                case .deferred(let why):
                    report.deferred += 1
                    try outbox.defer(message.id, by: name, reason: why, until: context.clock.now.addingTimeInterval(Self.deferral))
                case .failed(let why):
                    report.failed += 1
                    try outbox.markFailed(
                        message.id, by: name, error: why, maxAttempts: context.configuration.delivery.maxAttempts,
                        retryAt: { attempts in nextAttempt(after: attempts) }, now: context.clock.now)
                    context.logger.warning("outbox delivery failed", metadata: ["message": "\(message.id)", "kind": "\(message.kind)", "error": "\(why)"])
                }
            }
        }
        return report
    }

    /// Exponential backoff with ±20 % jitter: base, 2×base, 4×base … at most six hours.
    func nextAttempt(after attempts: Int) -> Date {
        let base = Double(context.configuration.delivery.retryBaseSeconds)
        let delay = min(base * pow(2, Double(max(0, attempts - 1))), 6 * 3600)
        return context.clock.now.addingTimeInterval(delay * Double.random(in: 0.8...1.2))
    }

    enum Outcome {
        case sent
        /// Delivered as far as it ever will be (nobody to send it to).
        case skipped(String)
        /// Cannot be sent until the seller configures it: kept, no attempt used.
        case deferred(String)
        case failed(String)
    }

    /// How long a message waiting for configuration waits before it is looked at again.
    static let deferral: TimeInterval = 300

    private func deliver(_ message: Outbox.Message) -> Outcome {
        do {
            switch message.kind {
            case "notification": return try NotificationSender(context: context).send(message)
            case "woocommerce": return try WooCommerceOrders(context: context).send(message)
            default: return try mail(message)
            }
        } catch {
            return .failed("\(error)")
        }
    }

    private func mail(_ message: Outbox.Message) throws -> Outcome {
        let settings = context.configuration.mail
        guard let from = settings.from else { return .deferred("mail.from is not configured") }
        guard let to = message.recipient, to.contains("@") else { return .skipped("no email address for this buyer") }
        var values = try JSONObject.parse(Array(message.payload.utf8)).storage.compactMapValues { value -> String? in
            switch value {
            case .string(let text), .number(let text): return text
            default: return nil
            }
        }
        values["site_name"] = settings.siteName
        values["account_line"] = settings.accountURL.map { "Manage your purchases: \($0)" } ?? ""
        if message.kind == "license_email" {
            guard let id = Int64(values["license_id"] ?? ""), let sealed = message.sealed,
                let keyBytes = context.configuration.licensing.keyEncryptionKey.flatMap(SecretBox.init(key:))?.open(
                    sealed, context: Array("license:\(id)".utf8))
            else { return .failed("the sealed license key cannot be opened (licensing.key_encryption_key changed?)") }
            let license = try context.store.withConnection { try LicenseRepository($0, prefix: context.store.prefix).find(id) }
            guard let license, license.status == .active else { return .skipped("license \(id) is no longer active") }
            values["license_key"] = String(decoding: keyBytes, as: UTF8.self)
            values["activation_limit_line"] = ""
        }
        if message.kind == "key_rotation_email" {
            guard let id = Int64(values["license_id"] ?? ""), let sealed = message.sealed,
                let link = context.configuration.licensing.keyEncryptionKey.flatMap(SecretBox.init(key:))?.open(
                    sealed, context: Array("key-rotation:\(id)".utf8))
            else { return .failed("the sealed link cannot be opened (licensing.key_encryption_key changed?)") }
            values["link"] = String(decoding: link, as: UTF8.self)
        }
        guard let rendered = MailTemplates(directory: settings.templatesDir).render(message.kind, values: values) else {
            return .failed("no template for \(message.kind)")
        }
        let mail = MailMessage(from: from, to: to, subject: rendered.subject, text: rendered.text, html: rendered.html)
        try MailTransport(settings: settings).send(mail.rendered(date: context.clock.now, random: context.random), from: mail.envelopeFrom, to: to)
        return .sent
    }
}

/// Outgoing webhooks to the seller's WordPress site: JSON, signed the way Stripe signs ours
/// (`PaymentsFCGI-Signature: t=…,v1=HMAC-SHA256("t.body")`), with an `id` for deduplication.
struct NotificationSender {
    let context: Context

    func send(_ message: Outbox.Message) throws -> OutboxDeliverer.Outcome {
        let settings = context.configuration.notifications
        guard let url = settings.url.flatMap(URL.init(string:)), let secret = settings.secret else {
            // Kept until the seller sets a receiver: a grant announced later is still announced.
            return .deferred("notifications.url is not configured")
        }
        var payload = try JSONObject.parse(Array(message.payload.utf8)).storage
        payload["id"] = .string(message.dedupeKey)
        let body = Data(JSONNode.object(payload).sendable.serialized())
        let timestamp = Int64(context.clock.now.timeIntervalSince1970)
        var request = URLRequest(url: url, timeoutInterval: 15)
        request.httpMethod = "POST"
        request.httpBody = body
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.setValue(try WebhookSignature.header(payload: Array(body), secret: secret, timestamp: timestamp), forHTTPHeaderField: "PaymentsFCGI-Signature")
        request.setValue(message.dedupeKey, forHTTPHeaderField: "PaymentsFCGI-Event-Id")
        switch HTTPExchange.perform(request) {
        case .success(let status, _, _) where (200..<300).contains(status): return .sent
        case .success(let status, _, _): return .failed("the WordPress site answered \(status)")
        case .failure(let reason): return .failed("the WordPress site could not be reached: \(reason)")
        }
    }
}
