import Foundation

/// PaymentIntents as Stripe reports them: latest state by Stripe's event time (a late,
/// older event never overwrites a newer state), with every status kept in the history.
public struct PaymentRepository {
    let connection: Connection
    let table: String
    let history: String
    let prefix: TablePrefix

    public init(_ connection: Connection, prefix: TablePrefix) {
        self.connection = connection
        table = prefix.table("payments")
        history = prefix.table("payment_history")
        self.prefix = prefix
    }

    public struct Payment: Sendable, Equatable {
        public let paymentIntent: String
        public let status: String
        public let amount: Int64
        public let currency: String
        public let amountRefunded: Int64
        public let failureCode: String?
        public let failureMessage: String?
        public let receiptURL: String?
        public let riskLevel: String?
        public let riskScore: Int64?

        /// Refunded in full.
        public var isFullyRefunded: Bool { amount > 0 && amountRefunded >= amount }
    }

    /// A state reported by an event.
    public struct State: Sendable {
        public var status: String
        public var amount: Int64
        public var currency: String
        public var stripeCustomerID: String?
        public var failureCode: String?
        public var failureMessage: String?
        public var receiptURL: String?
        public var riskLevel: String?
        public var riskScore: Int64?

        public init(
            status: String, amount: Int64, currency: String, stripeCustomerID: String? = nil, failureCode: String? = nil,
            failureMessage: String? = nil, receiptURL: String? = nil, riskLevel: String? = nil, riskScore: Int64? = nil
        ) {
            self.status = status
            self.amount = amount
            self.currency = currency
            self.stripeCustomerID = stripeCustomerID
            self.failureCode = failureCode
            self.failureMessage = failureMessage
            self.receiptURL = receiptURL
            self.riskLevel = riskLevel
            self.riskScore = riskScore
        }
    }

    private static let columns = "payment_intent, status, amount, currency, amount_refunded, failure_code, failure_message, receipt_url, risk_level, risk_score"

    public func lock(_ paymentIntent: String) throws -> Payment? {
        try connection.queryOne("SELECT \(Self.columns) FROM \(table) WHERE payment_intent = ? FOR UPDATE", [paymentIntent]).map(Self.decode)
    }

    public func find(_ paymentIntent: String) throws -> Payment? {
        try connection.queryOne("SELECT \(Self.columns) FROM \(table) WHERE payment_intent = ?", [paymentIntent]).map(Self.decode)
    }

    /// Applies a reported state if it is at least as new as the stored one; returns whether
    /// the current state changed. The status is added to the history either way.
    @discardableResult
    public func report(_ paymentIntent: String, _ state: State, eventID: String, eventCreated: Int64, now: Date) throws -> Bool {
        try connection.execute(
            """
            INSERT INTO \(history) (payment_intent, event_id, status, event_created) VALUES (?, ?, ?, ?) ON DUPLICATE KEY UPDATE id = id
            """, [paymentIntent, eventID, state.status, eventCreated])
        if try lock(paymentIntent) == nil {
            try connection.insertNew(
                """
                INSERT INTO \(table) (payment_intent, status, amount, currency, stripe_customer_id, failure_code, failure_message,
                    receipt_url, risk_level, risk_score, status_event_created, created_at, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
                [
                    paymentIntent, state.status, state.amount, state.currency, state.stripeCustomerID, state.failureCode, state.failureMessage,
                    state.receiptURL, state.riskLevel, state.riskScore, eventCreated, now, now,
                ])
            return true
        }
        return try connection.execute(
            """
            UPDATE \(table) SET status = ?, amount = ?, currency = ?, stripe_customer_id = COALESCE(?, stripe_customer_id),
                failure_code = ?, failure_message = ?, receipt_url = COALESCE(?, receipt_url), risk_level = COALESCE(?, risk_level),
                risk_score = COALESCE(?, risk_score), status_event_created = ?, updated_at = ?
            WHERE payment_intent = ? AND status_event_created <= ?
            """,
            [
                state.status, state.amount, state.currency, state.stripeCustomerID, state.failureCode, state.failureMessage,
                state.receiptURL, state.riskLevel, state.riskScore, eventCreated, now, paymentIntent, eventCreated,
            ]
        ).affectedRows > 0
    }

    /// Adds what a charge event knows (receipt, Radar risk). The PaymentIntent's own events
    /// own the status and failure; a charge only sets them while no PaymentIntent event came.
    /// A fact that changes (a new payment, a receipt, a risk verdict) is audited, naming `actor`.
    public func reportCharge(_ paymentIntent: String, _ state: State, actor: String, now: Date) throws {
        let before = try connection.queryOne(
            "SELECT receipt_url IS NOT NULL AS receipt, risk_level FROM \(table) WHERE payment_intent = ? FOR UPDATE",
            [paymentIntent])
        try connection.execute(
            """
            INSERT INTO \(table) (payment_intent, status, amount, currency, stripe_customer_id, failure_code, failure_message,
                receipt_url, risk_level, risk_score, status_event_created, created_at, updated_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?)
            ON DUPLICATE KEY UPDATE receipt_url = COALESCE(VALUES(receipt_url), receipt_url),
                risk_level = COALESCE(VALUES(risk_level), risk_level), risk_score = COALESCE(VALUES(risk_score), risk_score),
                stripe_customer_id = COALESCE(stripe_customer_id, VALUES(stripe_customer_id)), updated_at = VALUES(updated_at)
            """,
            [
                paymentIntent, state.status, state.amount, state.currency, state.stripeCustomerID, state.failureCode, state.failureMessage,
                state.receiptURL, state.riskLevel, state.riskScore, now, now,
            ])
        let hadReceipt = try before.map { try $0.int("receipt") == 1 } ?? false
        let riskBefore = try before?.optionalString("risk_level")
        if before == nil || (!hadReceipt && state.receiptURL != nil) || (state.riskLevel != nil && state.riskLevel != riskBefore) {
            try AuditLog(connection, prefix: prefix).record(
                subject: "payment", id: paymentIntent, action: "charge_reported", before: riskBefore,
                after: state.riskLevel ?? riskBefore, actor: actor,
                detail: before == nil ? "status \(state.status)" : nil, now: now)
        }
    }

    /// Records the refunded total; it only ever grows (refund events may arrive in any order).
    /// Creates the payment if no event about it arrived yet.
    /// A total that grows is audited (before → after), naming `actor`.
    public func reportRefunded(_ paymentIntent: String, amountRefunded: Int64, amount: Int64, currency: String, actor: String, now: Date) throws {
        let before = try connection.queryOne("SELECT amount_refunded FROM \(table) WHERE payment_intent = ? FOR UPDATE", [paymentIntent])?.int(
            "amount_refunded")
        try connection.execute(
            """
            INSERT INTO \(table) (payment_intent, status, amount, currency, amount_refunded, status_event_created, created_at, updated_at)
            VALUES (?, 'succeeded', ?, ?, ?, 0, ?, ?)
            ON DUPLICATE KEY UPDATE amount_refunded = GREATEST(amount_refunded, VALUES(amount_refunded)), updated_at = VALUES(updated_at)
            """, [paymentIntent, amount, currency, amountRefunded, now, now])
        if before == nil || amountRefunded > before! {
            try AuditLog(connection, prefix: prefix).record(
                subject: "payment", id: paymentIntent, action: "refunded_total", before: before.map(String.init),
                after: String(max(amountRefunded, before ?? 0)), actor: actor, now: now)
        }
    }

    /// The statuses seen, oldest first by Stripe's event time.
    public func statusHistory(_ paymentIntent: String) throws -> [String] {
        try connection.query("SELECT status FROM \(history) WHERE payment_intent = ? ORDER BY event_created, id", [paymentIntent]).map {
            try $0.string("status")
        }
    }

    static func decode(_ row: Row) throws -> Payment {
        Payment(
            paymentIntent: try row.string("payment_intent"), status: try row.string("status"), amount: try row.int("amount"),
            currency: try row.string("currency"), amountRefunded: try row.int("amount_refunded"),
            failureCode: try row.optionalString("failure_code"), failureMessage: try row.optionalString("failure_message"),
            receiptURL: try row.optionalString("receipt_url"), riskLevel: try row.optionalString("risk_level"),
            riskScore: try row.optionalInt("risk_score"))
    }
}
