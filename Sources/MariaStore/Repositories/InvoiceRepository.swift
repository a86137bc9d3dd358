import Foundation

/// Subscription invoices: each paid period, what it cost, which PaymentIntent paid it and how
/// much of it was refunded — what a renewal's refund or dispute is measured against.
public struct InvoiceRepository {
    let connection: Connection
    let table: String
    let prefix: TablePrefix

    public init(_ connection: Connection, prefix: TablePrefix) {
        self.connection = connection
        table = prefix.table("invoices")
        self.prefix = prefix
    }

    public struct Invoice: Sendable, Equatable {
        public var invoice: String
        public var subscription: String?
        public var customerID: Int64?
        public var billingReason: String?
        public var periodStart: Date?
        public var periodEnd: Date?
        public var amountPaid: Int64
        public var currency: String
        public var paymentIntent: String?
        public var amountRefunded: Int64 = 0

        public init(
            invoice: String, subscription: String?, customerID: Int64?, billingReason: String?, periodStart: Date?, periodEnd: Date?,
            amountPaid: Int64, currency: String, paymentIntent: String?
        ) {
            self.invoice = invoice
            self.subscription = subscription
            self.customerID = customerID
            self.billingReason = billingReason
            self.periodStart = periodStart
            self.periodEnd = periodEnd
            self.amountPaid = amountPaid
            self.currency = currency
            self.paymentIntent = paymentIntent
        }
    }

    /// Records a paid invoice once (audited, naming `actor`); a later report may only add its
    /// PaymentIntent.
    public func record(_ invoice: Invoice, actor: String, now: Date) throws {
        let result = try connection.execute(
            """
            INSERT INTO \(table) (invoice, subscription, customer_id, billing_reason, period_start, period_end, amount_paid, currency, payment_intent, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON DUPLICATE KEY UPDATE payment_intent = COALESCE(payment_intent, VALUES(payment_intent))
            """,
            [
                invoice.invoice, invoice.subscription, invoice.customerID, invoice.billingReason, invoice.periodStart,
                invoice.periodEnd, invoice.amountPaid, invoice.currency, invoice.paymentIntent,
                now,
            ])
        // 1: a new row; 2: the PaymentIntent added to a known one; 0: nothing new.
        guard result.affectedRows > 0 else { return }
        try AuditLog(connection, prefix: prefix).record(
            subject: "invoice", id: invoice.invoice, action: result.affectedRows == 1 ? "paid" : "payment_linked",
            before: nil, after: "\(invoice.amountPaid) \(invoice.currency)", actor: actor, now: now)
    }

    /// Links a paid invoice to the PaymentIntent that paid it (an `invoice_payment` event).
    public func setPaymentIntent(invoice: String, paymentIntent: String) throws {
        try connection.execute("UPDATE \(table) SET payment_intent = ? WHERE invoice = ? AND payment_intent IS NULL", [paymentIntent, invoice])
    }

    /// The invoice a PaymentIntent paid, locked.
    public func lock(paymentIntent: String) throws -> Invoice? {
        try connection.queryOne("SELECT * FROM \(table) WHERE payment_intent = ? FOR UPDATE", [paymentIntent]).map(Self.decode)
    }

    public func find(_ invoice: String) throws -> Invoice? {
        try connection.queryOne("SELECT * FROM \(table) WHERE invoice = ?", [invoice]).map(Self.decode)
    }

    /// The subscription's latest paid period, by start.
    public func latest(subscription: String) throws -> Invoice? {
        try connection.queryOne(
            "SELECT * FROM \(table) WHERE subscription = ? AND amount_paid > 0 ORDER BY period_start DESC, id DESC LIMIT 1",
            [subscription]
        ).map(Self.decode)
    }

    /// The refunded total (as Stripe reports it now, which may shrink when a refund fails).
    public func setRefunded(_ invoice: String, amount: Int64) throws {
        try connection.execute("UPDATE \(table) SET amount_refunded = ? WHERE invoice = ?", [amount, invoice])
    }

    static func decode(_ row: Row) throws -> Invoice {
        var invoice = Invoice(
            invoice: try row.string("invoice"), subscription: try row.optionalString("subscription"),
            customerID: try row.optionalInt("customer_id"), billingReason: try row.optionalString("billing_reason"),
            periodStart: try row.optionalDate("period_start"),
            periodEnd: try row.optionalDate("period_end"),
            amountPaid: try row.int("amount_paid"), currency: try row.string("currency"),
            paymentIntent: try row.optionalString("payment_intent"))
        invoice.amountRefunded = try row.int("amount_refunded")
        return invoice
    }
}
