import Foundation

/// Finding a customer from whatever a support request names — an email, an order (Checkout
/// Session), a PaymentIntent, an invoice or subscription, a Stripe customer, a license id —
/// and what the admin page's customer view shows besides what the other repositories give.
/// Never by license key: keys are not stored, and a key typed into a search box is refused
/// before it gets here.
public struct CustomerDirectory {
    let connection: Connection
    let prefix: TablePrefix

    public init(_ connection: Connection, prefix: TablePrefix) {
        self.connection = connection
        self.prefix = prefix
    }

    /// The customer a reference leads to, if any.
    public func customer(reference: String) throws -> Int64? {
        let text = reference.trimmingCharacters(in: .whitespacesAndNewlines)
        if text.isEmpty { return nil }
        if let id = Int64(text) {
            return try connection.queryOne("SELECT customer_id FROM \(prefix.table("licenses")) WHERE id = ?", [id])?.optionalInt("customer_id")
        }
        if text.contains("@") { return try CustomerRepository(connection, prefix: prefix).find(reference: text) }
        if text.hasPrefix("cus_") { return try CustomerRepository(connection, prefix: prefix).find(reference: text) }
        if text.hasPrefix("cs_") {
            return try connection.queryOne("SELECT customer_id FROM \(prefix.table("orders")) WHERE session_id = ?", [text])?.optionalInt("customer_id")
        }
        if text.hasPrefix("pi_") {
            if let id = try connection.queryOne(
                "SELECT customer_id FROM \(prefix.table("orders")) WHERE payment_intent = ? AND customer_id IS NOT NULL LIMIT 1",
                [text])?.optionalInt("customer_id")
            {
                return id
            }
            return try connection.queryOne("SELECT customer_id FROM \(prefix.table("invoices")) WHERE payment_intent = ? LIMIT 1", [text])?.optionalInt(
                "customer_id")
        }
        if text.hasPrefix("sub_") {
            return try connection.queryOne("SELECT customer_id FROM \(prefix.table("subscriptions")) WHERE subscription = ?", [text])?.optionalInt(
                "customer_id")
        }
        if text.hasPrefix("in_") {
            return try connection.queryOne("SELECT customer_id FROM \(prefix.table("invoices")) WHERE invoice = ?", [text])?.optionalInt("customer_id")
        }
        return nil
    }

    /// A customer's row.
    public struct Customer: Sendable, Equatable {
        public let id: Int64
        public let email: String?
        public let createdAt: String
        public let anonymisedAt: String?
    }

    public func find(_ id: Int64) throws -> Customer? {
        try connection.queryOne("SELECT id, email, created_at, anonymised_at FROM \(prefix.table("customers")) WHERE id = ?", [id]).map { row in
            Customer(
                id: try row.int("id"), email: try row.optionalString("email"), createdAt: try row.string("created_at"),
                anonymisedAt: try row.optionalString("anonymised_at"))
        }
    }

    /// A paid subscription period of the customer.
    public struct PaidPeriod: Sendable, Equatable {
        public let invoice: String
        public let subscription: String?
        public let periodStart: String?
        public let periodEnd: String?
        public let amountPaid: Int64
        public let amountRefunded: Int64
        public let currency: String
        public let paymentIntent: String?
    }

    public func invoices(customerID: Int64, limit: Int = 100) throws -> [PaidPeriod] {
        try connection.query(
            """
            SELECT invoice, subscription, period_start, period_end, amount_paid, amount_refunded, currency, payment_intent
            FROM \(prefix.table("invoices")) WHERE customer_id = ? ORDER BY id DESC LIMIT ?
            """, [customerID, limit]
        ).map { row in
            PaidPeriod(
                invoice: try row.string("invoice"), subscription: try row.optionalString("subscription"), periodStart: try row.optionalString("period_start"),
                periodEnd: try row.optionalString("period_end"), amountPaid: try row.int("amount_paid"), amountRefunded: try row.int("amount_refunded"),
                currency: try row.string("currency"), paymentIntent: try row.optionalString("payment_intent"))
        }
    }

    /// One entry of a customer's credits ledger.
    public struct CreditEntry: Sendable, Equatable {
        public let delta: Int64
        public let kind: String
        public let source: String
        public let createdAt: String
    }

    public func credits(customerID: Int64, limit: Int = 200) throws -> [CreditEntry] {
        try connection.query(
            "SELECT delta, kind, source, created_at FROM \(prefix.table("credit_ledger")) WHERE customer_id = ? ORDER BY id DESC LIMIT ?",
            [customerID, limit]
        ).map { row in
            CreditEntry(delta: try row.int("delta"), kind: try row.string("kind"), source: try row.string("source"), createdAt: try row.string("created_at"))
        }
    }

    /// One message sent (or waiting) to the customer.
    public struct Email: Sendable, Equatable {
        public let id: Int64
        public let kind: String
        public let createdAt: String
        public let deliveredAt: String?
        public let deadAt: String?
        public let lastError: String?
    }

    public func emails(to address: String?, limit: Int = 100) throws -> [Email] {
        guard let address else { return [] }
        return try connection.query(
            """
            SELECT id, kind, created_at, delivered_at, dead_at, last_error FROM \(prefix.table("outbox")) WHERE recipient = ? ORDER BY id DESC LIMIT ?
            """, [address, limit]
        ).map { row in
            Email(
                id: try row.int("id"), kind: try row.string("kind"), createdAt: try row.string("created_at"),
                deliveredAt: try row.optionalString("delivered_at"),
                deadAt: try row.optionalString("dead_at"), lastError: try row.optionalString("last_error"))
        }
    }

    /// One audit entry with its time and detail.
    public struct AuditEntry: Sendable, Equatable {
        public let occurredAt: String
        public let subject: String
        public let subjectID: String
        public let action: String
        public let before: String?
        public let after: String?
        public let actor: String
        public let detail: String?
    }

    /// The audit trail of everything of the customer: the customer and their credits, orders,
    /// payments, licenses and subscriptions.
    public func auditTrail(customerID: Int64, limit: Int = 300) throws -> [AuditEntry] {
        let id = String(customerID)
        let orders = prefix.table("orders")
        return try connection.query(
            """
            SELECT occurred_at, subject_type, subject_id, action, before_state, after_state, actor, detail FROM \(prefix.table("audit_log"))
            WHERE (subject_type IN ('customer', 'credits') AND subject_id = ?)
               OR (subject_type = 'order' AND subject_id IN (SELECT session_id FROM \(orders) WHERE customer_id = ?))
               OR (subject_type = 'payment' AND subject_id IN (SELECT payment_intent FROM \(orders) WHERE customer_id = ? AND payment_intent IS NOT NULL
                                                               UNION SELECT payment_intent FROM \(prefix.table("invoices")) WHERE customer_id = ? AND payment_intent IS NOT NULL))
               OR (subject_type = 'license' AND subject_id IN (SELECT CAST(id AS CHAR CHARACTER SET utf8mb4) COLLATE utf8mb4_unicode_ci FROM \(prefix.table("licenses")) WHERE customer_id = ?))
               OR (subject_type = 'subscription' AND subject_id IN (SELECT subscription FROM \(prefix.table("subscriptions")) WHERE customer_id = ?))
            ORDER BY id DESC LIMIT ?
            """, [id, customerID, customerID, customerID, customerID, customerID, limit]
        ).map(Self.auditEntry)
    }

    /// Audit entries in [`from`, `to`), oldest first (`audit export`).
    public func audit(from: Date, to: Date) throws -> [AuditEntry] {
        try connection.query(
            """
            SELECT occurred_at, subject_type, subject_id, action, before_state, after_state, actor, detail FROM \(prefix.table("audit_log"))
            WHERE occurred_at >= ? AND occurred_at < ? ORDER BY id
            """, [from, to]
        ).map(Self.auditEntry)
    }

    static func auditEntry(_ row: Row) throws -> AuditEntry {
        AuditEntry(
            occurredAt: try row.string("occurred_at"), subject: try row.string("subject_type"), subjectID: try row.string("subject_id"),
            action: try row.string("action"), before: try row.optionalString("before_state"), after: try row.optionalString("after_state"),
            actor: try row.string("actor"), detail: try row.optionalString("detail"))
    }

    /// Events from the ledger with filters, newest first.
    public struct Event: Sendable, Equatable {
        public let id: String
        public let type: String
        public let livemode: Bool
        public let outcome: String
        public let receivedAt: String
        public let error: String?
        public let replayable: Bool
    }

    public func events(type: String?, outcome: String?, livemode: Bool?, limit: Int = 200) throws -> [Event] {
        var conditions: [String] = []
        var parameters: [any SQLBindable] = []
        if let type {
            conditions.append("type = ?")
            parameters.append(type)
        }
        if let outcome {
            conditions.append("outcome = ?")
            parameters.append(outcome)
        }
        if let livemode {
            conditions.append("livemode = ?")
            parameters.append(livemode ? 1 : 0)
        }
        parameters.append(limit)
        let condition = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        return try connection.query(
            """
            SELECT id, type, livemode, outcome, received_at, error, payload IS NOT NULL AS replayable FROM \(prefix.table("events"))
            \(condition) ORDER BY received_at DESC LIMIT ?
            """, parameters
        ).map { row in
            Event(
                id: try row.string("id"), type: try row.string("type"), livemode: try row.int("livemode") == 1, outcome: try row.string("outcome"),
                receivedAt: try row.string("received_at"), error: try row.optionalString("error"), replayable: try row.int("replayable") == 1)
        }
    }

    /// The event types seen, for the events page's filter.
    public func eventTypes() throws -> [String] {
        try connection.query("SELECT DISTINCT type FROM \(prefix.table("events")) ORDER BY type").map { try $0.string("type") }
    }
}
