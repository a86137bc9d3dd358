import Foundation

/// Everything held about one customer, for a copy (GDPR art. 15 and 20) or an erasure
/// (art. 17). Erasure anonymises, it does not delete: ids, amounts and dates stay (the seller
/// must keep them for accounting, and refunds and disputes must still find their order), the
/// licenses keep working, and what names or reaches the person — the email address, the
/// metadata and site typed at checkout, Stripe's receipt links, the kept event payloads and
/// outgoing messages that carry the name, address or email — is removed. Audit rows hold ids
/// only (`AuditLog.record`), so they need no change, and the audit table stays append-only.
public struct PersonalData {
    let connection: Connection
    let prefix: TablePrefix

    public init(_ connection: Connection, prefix: TablePrefix) {
        self.connection = connection
        self.prefix = prefix
    }

    /// The rows of one table that concern the customer.
    public struct Table: Sendable {
        public let name: String
        public let rows: [Row]
    }

    /// Every row about customer `id`, table by table (never a license key's selector or
    /// verifier, nor a sealed secret).
    public func export(customerID id: Int64) throws -> [Table] {
        let orders = prefix.table("orders")
        let intents =
            "SELECT payment_intent FROM \(orders) WHERE customer_id = ? AND payment_intent IS NOT NULL UNION SELECT payment_intent FROM \(prefix.table("invoices")) WHERE customer_id = ? AND payment_intent IS NOT NULL"
        let licenses = "SELECT id FROM \(prefix.table("licenses")) WHERE customer_id = ?"
        let email = try connection.queryOne("SELECT email FROM \(prefix.table("customers")) WHERE id = ?", [id])?.optionalString("email") ?? ""
        let queries: [(String, String, [any SQLBindable])] = [
            ("customers", "SELECT id, email, created_at, anonymised_at FROM \(prefix.table("customers")) WHERE id = ?", [id]),
            ("stripe_customers", "SELECT stripe_customer_id, created_at FROM \(prefix.table("customer_stripe_ids")) WHERE customer_id = ?", [id]),
            (
                "orders",
                "SELECT session_id, status, mode, payment_intent, subscription, amount_total, amount_refunded, currency, client_reference_id, metadata, site_url, livemode, created_at, updated_at FROM \(orders) WHERE customer_id = ? ORDER BY id",
                [id]
            ),
            (
                "payments",
                "SELECT payment_intent, status, amount, currency, amount_refunded, failure_code, failure_message, receipt_url, risk_level, created_at, updated_at FROM \(prefix.table("payments")) WHERE payment_intent IN (\(intents))",
                [id, id]
            ),
            (
                "payment_history",
                "SELECT payment_intent, status, event_created FROM \(prefix.table("payment_history")) WHERE payment_intent IN (\(intents)) ORDER BY event_created",
                [id, id]
            ),
            (
                "refunds", "SELECT refund, payment_intent, amount, status, created_at FROM \(prefix.table("refunds")) WHERE payment_intent IN (\(intents))",
                [id, id]
            ),
            (
                "disputes",
                "SELECT dispute, payment_intent, status, amount, currency, reason, created_at FROM \(prefix.table("disputes")) WHERE payment_intent IN (\(intents))",
                [id, id]
            ),
            (
                "subscriptions",
                "SELECT subscription, status, product, quantity, current_period_start, current_period_end, cancel_at_period_end, created_at FROM \(prefix.table("subscriptions")) WHERE customer_id = ?",
                [id]
            ),
            (
                "invoices",
                "SELECT invoice, subscription, billing_reason, period_start, period_end, amount_paid, amount_refunded, currency, created_at FROM \(prefix.table("invoices")) WHERE customer_id = ?",
                [id]
            ),
            (
                "licenses", "SELECT id, product, tier, activation_limit, status, expires_at, created_at FROM \(prefix.table("licenses")) WHERE customer_id = ?",
                [id]
            ),
            ("activations", "SELECT license_id, site, kind, first_seen, last_seen FROM \(prefix.table("activations")) WHERE license_id IN (\(licenses))", [id]),
            ("credit_ledger", "SELECT delta, kind, source, created_at FROM \(prefix.table("credit_ledger")) WHERE customer_id = ? ORDER BY id", [id]),
            (
                "emails",
                "SELECT id, kind, recipient, payload, created_at, delivered_at, dead_at FROM \(prefix.table("outbox")) WHERE recipient = ? ORDER BY id", [email]
            ),
        ]
        return try queries.map { Table(name: $0.0, rows: try connection.query($0.1, $0.2)) }
    }

    /// What an erasure changes (or, dry, would change), row counts by table.
    public struct ErasureReport: Sendable, Equatable {
        public var customers: UInt64 = 0
        public var orders: UInt64 = 0
        public var payments: UInt64 = 0
        public var outbox: UInt64 = 0
        public var eventPayloads: UInt64 = 0
        public init() {}
    }

    /// Anonymises customer `id` (see the type's summary). Run it inside a transaction; with
    /// `dryRun` nothing is written and the counts say what would be.
    public func erase(customerID id: Int64, dryRun: Bool, now: Date) throws -> ErasureReport {
        let customers = prefix.table("customers")
        guard let customer = try connection.queryOne("SELECT email FROM \(customers) WHERE id = ? FOR UPDATE", [id]) else {
            return ErasureReport()
        }
        // A customer known only by a Stripe id has no email, and is erased all the same.
        let email = try customer.optionalString("email")
        let stripeIDs = try connection.query("SELECT stripe_customer_id FROM \(prefix.table("customer_stripe_ids")) WHERE customer_id = ?", [id])
            .map { try $0.string("stripe_customer_id") }
        let orders = prefix.table("orders")
        let intents =
            "SELECT payment_intent FROM \(orders) WHERE customer_id = ? AND payment_intent IS NOT NULL UNION SELECT payment_intent FROM \(prefix.table("invoices")) WHERE customer_id = ? AND payment_intent IS NOT NULL"
        // Kept payloads and message bodies that name the person: their email (any case), one of
        // their Stripe customer ids or one of their PaymentIntents, wherever it stands ("Order for
        // ann@example.com", "Ann <ann@example.com>", a URL) — but as a whole token, so that
        // erasing ann@example.com leaves joann@example.com's and ann@example.com.au's alone. A
        // LIKE finds candidates cheaply; the regular expression decides. Both compare bytes
        // (utf8mb4_bin), so zoë@ never matches zoe@.
        let paymentIntents = try connection.query(intents, [id, id]).map { try $0.string("payment_intent") }
        var conditions: [String] = []
        var needles: [any SQLBindable] = []
        if let email {
            let lowered = email.lowercased()
            conditions.append("(LOWER(CONVERT(%@ USING utf8mb4)) COLLATE utf8mb4_bin LIKE ? AND LOWER(CONVERT(%@ USING utf8mb4)) COLLATE utf8mb4_bin REGEXP ?)")
            needles += ["%" + Self.likeEscaped(lowered) + "%", "(^|[^a-z0-9._%+-])" + Self.regexEscaped(lowered) + "($|[^a-z0-9.-]|\\.($|[^a-z0-9-]))"]
        }
        for identifier in stripeIDs + paymentIntents {
            conditions.append("(CONVERT(%@ USING utf8mb4) COLLATE utf8mb4_bin LIKE ? AND CONVERT(%@ USING utf8mb4) COLLATE utf8mb4_bin REGEXP ?)")
            needles += ["%" + Self.likeEscaped(identifier) + "%", "(^|[^A-Za-z0-9_])" + Self.regexEscaped(identifier) + "($|[^A-Za-z0-9_])"]
        }
        let mentions = conditions.isEmpty ? "FALSE" : conditions.joined(separator: " OR ")
        func mentioning(_ column: String) -> String { "(" + mentions.replacingOccurrences(of: "%@", with: column) + ")" }
        let outbox = prefix.table("outbox")
        let events = prefix.table("events")
        let outboxCondition = "LOWER(recipient) COLLATE utf8mb4_bin = ? OR \(mentioning("payload"))"
        let eventCondition = "payload IS NOT NULL AND \(mentioning("payload"))"
        var report = ErasureReport()
        if dryRun {
            report.customers = 1
            report.orders = UInt64(try connection.queryOne("SELECT COUNT(*) AS n FROM \(orders) WHERE customer_id = ?", [id])?.int("n") ?? 0)
            report.payments = UInt64(
                try connection.queryOne("SELECT COUNT(*) AS n FROM \(prefix.table("payments")) WHERE payment_intent IN (\(intents))", [id, id])?.int("n") ?? 0)
            report.outbox = UInt64(
                try connection.queryOne("SELECT COUNT(*) AS n FROM \(outbox) WHERE \(outboxCondition)", [email?.lowercased()] + needles)?.int("n") ?? 0)
            report.eventPayloads = UInt64(try connection.queryOne("SELECT COUNT(*) AS n FROM \(events) WHERE \(eventCondition)", needles)?.int("n") ?? 0)
            return report
        }
        report.outbox = try connection.execute(
            """
            UPDATE \(outbox) SET recipient = NULL, payload = '{"erased":true}', sealed = NULL,
                dead_at = CASE WHEN delivered_at IS NULL THEN COALESCE(dead_at, ?) ELSE dead_at END,
                last_error = CASE WHEN delivered_at IS NULL THEN 'the recipient was erased' ELSE last_error END
            WHERE \(outboxCondition)
            """, [now, email?.lowercased()] + needles
        ).affectedRows
        report.eventPayloads = try connection.execute("UPDATE \(events) SET payload = NULL WHERE \(eventCondition)", needles).affectedRows
        report.payments = try connection.execute(
            "UPDATE \(prefix.table("payments")) SET receipt_url = NULL, failure_message = NULL WHERE payment_intent IN (\(intents))",
            [id, id]
        ).affectedRows
        report.orders = try connection.execute("UPDATE \(orders) SET metadata = NULL, site_url = NULL WHERE customer_id = ?", [id]).affectedRows
        // An address that cannot be anyone's (RFC 2606's .invalid), unique per customer: later
        // events of the same Stripe customer find this row and do not write an email back.
        report.customers = try connection.execute(
            "UPDATE \(customers) SET email = ?, anonymised_at = ? WHERE id = ?",
            ["erased-\(id)@erased.invalid", now, id]
        ).affectedRows
        return report
    }

    /// `text` as a literal in a regular expression (PCRE): every ASCII character but letters and
    /// digits escaped (a backslash before any other ASCII character means the character itself).
    static func regexEscaped(_ text: String) -> String {
        var escaped = ""
        for character in text {
            if !character.isASCII || character.isLetter || character.isNumber { escaped.append(character) } else { escaped += "\\" + String(character) }
        }
        return escaped
    }

    static func likeEscaped(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(of: "_", with: "\\_")
    }
}
