import Foundation
import MariaStore

/// `invoice.paid`, `invoice.payment_failed` and `invoice_payment.paid`: subscription periods.
///
/// Credits are granted per paid period, not per invoice line: for an invoice that starts or
/// renews a period (`billing_reason` `subscription_create` or `subscription_cycle`) and was paid
/// more than nothing, the plan's credits times the period's paid quantity, once per
/// (subscription, period start). Proration lines (a plan or quantity change in the portal),
/// lines of zero or less, and invoices of nothing at all — a free trial, a 100 % coupon —
/// grant none: credits come with paid periods. Every line counts, past the first page.
struct InvoiceEvents {
    let context: Context
    let event: StripeEvent

    static let periodReasons: Set<String> = ["subscription_create", "subscription_cycle"]

    /// The ledger key of a subscription period's credits (one per product after it).
    static func periodKey(_ subscription: String, _ start: Date) -> String {
        "\(subscription):\(Int64(start.timeIntervalSince1970))"
    }

    /// A subscription line of an invoice.
    struct Line {
        let price: String?
        let quantity: Int64
        let amount: Int64
        let proration: Bool
        let periodStart: Date?
        let periodEnd: Date?
    }

    func prepare() throws -> (Connection) throws -> Void {
        let object = event.object
        let event = self.event
        let context = self.context
        let prefix = context.store.prefix
        let actor = "stripe:\(event.id)"

        if event.type == "invoice_payment.paid" {
            let invoice = try object.reference("invoice")
            let intent = try object.optionalObject("payment")?.reference("payment_intent")
            return { connection in
                guard let invoice, let intent else { return }
                try InvoiceRepository(connection, prefix: prefix).setPaymentIntent(invoice: invoice, paymentIntent: intent)
                try Self.catchUp(invoice, paymentIntent: intent, actor: actor, context: context, connection: connection)
            }
        }

        let invoice = try object.string("id")
        let subscription =
            try object.optionalObject("parent")?.optionalObject("subscription_details")?.reference("subscription")
            ?? object.reference("subscription")
        let customer = try object.reference("customer")
        let email = try object.optionalString("customer_email")

        if event.type == "invoice.payment_failed" {
            return { connection in
                // An invoice without an address still reaches the buyer we know.
                let recipient = try email ?? CustomerRepository(connection, prefix: prefix).email(stripeCustomerID: customer)
                try Outbox(connection, prefix: prefix).enqueue(
                    kind: "payment_failed_email", dedupeKey: "payment-failed:\(invoice):\(event.id)", recipient: recipient,
                    payload: String(
                        decoding: JSONValue.object([
                            "invoice": .string(invoice), "subscription": subscription.map(JSONValue.string) ?? .null,
                        ]).serialized(), as: UTF8.self), sealed: nil, now: context.clock.now)
            }
        }

        // invoice.paid
        let reason = try object.optionalString("billing_reason")
        let amountPaid = try object.optionalInt("amount_paid") ?? 0
        let currency = try PaymentEvents.currency(object)
        let lines = try allLines(object, invoice: invoice)
        let intent = try paymentIntent(object, invoice: invoice, amountPaid: amountPaid)
        let period = lines.first { !$0.proration && $0.periodStart != nil } ?? lines.first { $0.periodStart != nil }
        return { connection in
            let now = context.clock.now
            let customerID = try CustomerRepository(connection, prefix: prefix).findOrCreate(stripeCustomerID: customer, email: email, actor: actor, now: now)
            try InvoiceRepository(connection, prefix: prefix).record(
                InvoiceRepository.Invoice(
                    invoice: invoice, subscription: subscription, customerID: customerID, billingReason: reason, periodStart: period?.periodStart,
                    periodEnd: period?.periodEnd, amountPaid: amountPaid, currency: currency, paymentIntent: intent), actor: actor, now: now)
            if let reason, Self.periodReasons.contains(reason), amountPaid > 0, let subscription, let start = period?.periodStart, let customerID {
                try grantPeriod(lines, subscription: subscription, start: start, customerID: customerID, invoice: invoice, actor: actor, connection: connection)
            } else if amountPaid <= 0 || !(reason.map(Self.periodReasons.contains) ?? false) {
                context.logger.info(
                    "invoice grants no credits",
                    metadata: [
                        "invoice": "\(invoice)", "billing_reason": "\(reason ?? "none")",
                        "amount_paid": "\(amountPaid)",
                    ])
            }
            if let intent { try Self.catchUp(invoice, paymentIntent: intent, actor: actor, context: context, connection: connection) }
        }
    }

    /// The plan's credits for the period, by the quantity its non-proration lines paid for.
    private func grantPeriod(
        _ lines: [Line], subscription: String, start: Date, customerID: Int64, invoice: String, actor: String,
        connection: Connection
    ) throws {
        let prefix = context.store.prefix
        let now = context.clock.now
        let products = ProductRepository(connection, prefix: prefix)
        var quantities: [String: (product: Product, quantity: Int64)] = [:]
        for line in lines where !line.proration && line.amount > 0 && line.quantity > 0 {
            guard let price = line.price, let product = try products.forPrice(price), product.kind == .subscription, product.credits != nil else { continue }
            let (sum, overflow) = (quantities[product.product]?.quantity ?? 0).addingReportingOverflow(line.quantity)
            guard !overflow else { continue }
            quantities[product.product] = (product, sum)
        }
        let grants = CreditLedger(connection, prefix: prefix)
        for (name, entry) in quantities.sorted(by: { $0.key < $1.key }) {
            let (credits, overflow) = (entry.product.credits ?? 0).multipliedReportingOverflow(by: entry.quantity)
            guard !overflow else {
                context.logger.warning("invoice quantity out of range; no credits granted", metadata: ["invoice": "\(invoice)"])
                continue
            }
            if try grants.appendCredits(
                customerID: customerID, delta: credits, kind: "grant", source: "subscription",
                sourceID: Self.periodKey(subscription, start) + ":\(name)", now: now)
            {
                try AuditLog(connection, prefix: prefix).record(
                    subject: "credits", id: String(customerID), action: "granted", before: nil,
                    after: String(credits), actor: actor, detail: "invoice \(invoice), \(entry.quantity) × \(name)",
                    now: now)
            }
        }
    }

    /// A refund or dispute of the invoice's payment that arrived before the invoice did.
    static func catchUp(_ invoice: String, paymentIntent: String, actor: String, context: Context, connection: Connection) throws {
        let prefix = context.store.prefix
        guard let stored = try InvoiceRepository(connection, prefix: prefix).lock(paymentIntent: paymentIntent), stored.invoice == invoice else { return }
        let adjustments = PeriodAdjustments(context: context, connection: connection, actor: actor)
        if let payment = try PaymentRepository(connection, prefix: prefix).find(paymentIntent), payment.amountRefunded > stored.amountRefunded {
            let undone = try RefundRepository(connection, prefix: prefix).undoneTotal(paymentIntent: paymentIntent)
            try adjustments.refundChanged(stored, amountRefunded: max(0, payment.amountRefunded - undone))
        }
        for dispute in try DisputeRepository(connection, prefix: prefix).disputes(paymentIntent: paymentIntent) {
            try adjustments.disputeChanged(stored, dispute: dispute.dispute, status: dispute.status)
        }
    }

    /// Every line of the invoice: those in the event, and the rest from Stripe's API when the
    /// event's list has more.
    private func allLines(_ object: JSONObject, invoice: String) throws -> [Line] {
        guard let list = try object.optionalObject("lines") else { return [] }
        var lines = try list.array("data").map(Self.line)
        if try list.optionalBool("has_more") == true {
            var after = try list.array("data").last?.optionalString("id")
            while let cursor = after {
                let page = try context.stripe.get("/v1/invoices/\(FormEncoding.escape(invoice))/lines", query: [("limit", "100"), ("starting_after", cursor)])
                let data = try page.array("data")
                lines += try data.map(Self.line)
                after = try page.optionalBool("has_more") == true ? data.last?.optionalString("id") : nil
            }
        }
        return lines
    }

    static func line(_ line: JSONObject) throws(JSONObject.ShapeError) -> Line {
        let modern = try line.optionalObject("pricing")?.optionalObject("price_details")?.reference("price")
        let legacy = try line.optionalObject("price")?.optionalString("id")
        let details = try line.optionalObject("parent")?.optionalObject("subscription_item_details")
        let nested = try details?.optionalBool("proration")
        let flat = try line.optionalBool("proration")
        let proration = nested ?? flat ?? false
        let period = try line.optionalObject("period")
        return Line(
            price: modern ?? legacy, quantity: try line.optionalInt("quantity") ?? 1, amount: try line.optionalInt("amount") ?? 0,
            proration: proration, periodStart: try period?.optionalInt("start").map { Date(timeIntervalSince1970: Double($0)) },
            periodEnd: try period?.optionalInt("end").map { Date(timeIntervalSince1970: Double($0)) })
    }

    /// The PaymentIntent that paid the invoice: in the event (older API versions, or with the
    /// `payments` list expanded), else asked of Stripe's invoice payments (since 2025-03-31 an
    /// invoice no longer names it). Without a secret key, an `invoice_payment.paid` event links it.
    private func paymentIntent(_ object: JSONObject, invoice: String, amountPaid: Int64) throws -> String? {
        if let legacy = try object.reference("payment_intent") { return legacy }
        if let payments = try object.optionalObject("payments") {
            for payment in try payments.array("data") {
                if let intent = try payment.optionalObject("payment")?.reference("payment_intent") { return intent }
            }
        }
        guard amountPaid > 0, context.configuration.stripe.secretKey != nil else { return nil }
        let page = try context.stripe.get("/v1/invoice_payments", query: [("invoice", invoice), ("limit", "10")])
        for payment in try page.array("data") where try payment.optionalString("status") != "canceled" {
            if let intent = try payment.optionalObject("payment")?.reference("payment_intent") { return intent }
        }
        return nil
    }
}
