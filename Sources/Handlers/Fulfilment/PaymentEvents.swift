import Foundation
import MariaStore

/// `payment_intent.*` and `charge.*` events: the payment record (status history, failure,
/// receipt, Radar risk), refunds, and PaymentIntents that carry a catalogue product
/// (Stripe Elements purchases).
struct PaymentEvents {
    let context: Context
    let event: StripeEvent
    var actor: String { "stripe:\(event.id)" }

    /// Parses what the event says about its payment, and what an Elements purchase bought,
    /// before any transaction.
    func prepare() throws -> (Connection) throws -> Void {
        let object = event.object
        let now = context.clock.now
        let prefix = context.store.prefix
        switch event.type {
        case let type where type.hasPrefix("payment_intent."):
            let paymentIntent = try object.string("id")
            let error = try object.optionalObject("last_payment_error")
            let declineCode = try error?.optionalString("decline_code")
            let errorCode = try error?.optionalString("code")
            let state = PaymentRepository.State(
                status: try object.string("status"), amount: try object.int("amount"), currency: try Self.currency(object),
                stripeCustomerID: try object.reference("customer"), failureCode: declineCode ?? errorCode,
                failureMessage: try error?.optionalString("message"))
            let fulfilment = CheckoutFulfilment(context: context, actor: actor)
            var elements: (session: CheckoutFulfilment.Session, purchase: Purchase?)?
            if state.status == "succeeded", let session = try elementsPurchase(object) {
                // What was received is checked against what the product costs (once: not again
                // for an order already granted).
                let received = try object.optionalInt("amount_received") ?? state.amount
                elements = (session, try fulfilment.isGranted(paymentIntent) ? nil
                    : try fulfilment.purchase(ofIntent: paymentIntent, amount: received, currency: state.currency, metadata: session.metadata))
            }
            let event = self.event
            return { connection in
                let before = try PaymentRepository(connection, prefix: prefix).lock(paymentIntent)?.status
                if try PaymentRepository(connection, prefix: prefix).report(paymentIntent, state, eventID: event.id, eventCreated: event.created, now: now),
                   before != state.status {
                    try AuditLog(connection, prefix: prefix).record(subject: "payment", id: paymentIntent, action: "status", before: before,
                                                                    after: state.status, actor: actor, now: now)
                }
                if let elements {
                    try fulfilment.apply(elements.session, proposed: .paid, purchase: elements.purchase, on: connection)
                }
            }

        default:  // charge.succeeded, charge.failed, charge.refunded
            guard let paymentIntent = try object.reference("payment_intent") else {
                return { _ in }  // a charge outside PaymentIntents (legacy API): nothing of ours
            }
            let outcome = try object.optionalObject("outcome")
            let amount = try object.int("amount")
            let currency = try Self.currency(object)
            let amountRefunded = try object.optionalInt("amount_refunded") ?? 0
            let status = try object.string("status")
            let state = PaymentRepository.State(
                status: status == "failed" ? "requires_payment_method" : status, amount: amount, currency: currency,
                stripeCustomerID: try object.reference("customer"), failureCode: try object.optionalString("failure_code"),
                failureMessage: try object.optionalString("failure_message"), receiptURL: try object.optionalString("receipt_url"),
                riskLevel: try outcome?.optionalString("risk_level"), riskScore: try outcome?.optionalInt("risk_score"))
            let isRefund = event.type == "charge.refunded"
            return { connection in
                let payments = PaymentRepository(connection, prefix: prefix)
                if isRefund {
                    try payments.reportRefunded(paymentIntent, amountRefunded: amountRefunded, amount: amount, currency: currency, now: now)
                    if let order = try OrderRepository(connection, prefix: prefix).lock(paymentIntent: paymentIntent) {
                        try OrderAdjustments(context: context, connection: connection, actor: actor)
                            .refund(order, amountRefunded: amountRefunded, chargeAmount: amount)
                    }
                } else {
                    try payments.reportCharge(paymentIntent, state, now: now)
                }
            }
        }
    }

    /// A PaymentIntent created by our intents endpoint names its product in metadata; it is
    /// then an order of its own, keyed by the PaymentIntent id.
    private func elementsPurchase(_ object: JSONObject) throws(JSONObject.ShapeError) -> CheckoutFulfilment.Session? {
        let metadata = try object.stringMap("metadata")
        guard let product = metadata["product"], !product.isEmpty else { return nil }
        return CheckoutFulfilment.Session(
            id: try object.string("id"), mode: "payment", paymentStatus: "paid", amountTotal: try object.int("amount"),
            currency: try Self.currency(object), stripeCustomerID: try object.reference("customer"),
            email: try object.optionalString("receipt_email"), clientReferenceID: metadata["client_reference_id"],
            paymentIntent: try object.string("id"), subscription: nil, metadata: metadata, livemode: event.livemode)
    }

    static func currency(_ object: JSONObject) throws(JSONObject.ShapeError) -> String {
        let code = try object.string("currency")
        guard code.utf8.count == 3, code.allSatisfy(\.isLetter) else {
            throw JSONObject.ShapeError(path: "\(object.path).currency", problem: "expected a three-letter ISO currency code")
        }
        return code.uppercased()
    }
}

/// `charge.dispute.*`: the dispute record, and what it does to the order's licenses.
struct DisputeEvents {
    let context: Context
    let event: StripeEvent

    func prepare() throws(JSONObject.ShapeError) -> (Connection) throws -> Void {
        let object = event.object
        let dispute = try object.string("id")
        let paymentIntent = try object.reference("payment_intent")
        let status = try object.string("status")
        let amount = try object.int("amount")
        let currency = try PaymentEvents.currency(object)
        let reason = try object.optionalString("reason")
        let event = self.event
        let context = self.context
        return { connection in
            let prefix = context.store.prefix
            let applied = try DisputeRepository(connection, prefix: prefix).report(
                dispute: dispute, paymentIntent: paymentIntent, status: status, amount: amount, currency: currency, reason: reason,
                eventCreated: event.created, now: context.clock.now)
            guard applied else { return }
            try AuditLog(connection, prefix: prefix).record(subject: "dispute", id: dispute, action: "status", before: nil, after: status,
                                                            actor: "stripe:\(event.id)", now: context.clock.now)
            guard let paymentIntent, let order = try OrderRepository(connection, prefix: prefix).lock(paymentIntent: paymentIntent) else { return }
            try OrderAdjustments(context: context, connection: connection, actor: "stripe:\(event.id)").disputeChanged(order, status: status)
        }
    }
}

/// `customer.subscription.*` and `invoice.*`: the subscription record, its licenses, and the
/// plan's credits once per paid invoice.
struct SubscriptionEvents {
    let context: Context
    let event: StripeEvent

    func prepare() throws(JSONObject.ShapeError) -> (Connection) throws -> Void {
        let object = event.object
        let event = self.event
        let context = self.context
        let actor = "stripe:\(event.id)"
        let prefix = context.store.prefix
        if event.type.hasPrefix("customer.subscription.") {
            let subscription = try object.string("id")
            let status = try object.string("status")
            let customer = try object.reference("customer")
            let cancelAtPeriodEnd = (try object.optionalBool("cancel_at_period_end")) ?? false
            // Since API 2025-03-31 the period sits on each item; before, on the subscription.
            var periodEnd = try object.optionalInt("current_period_end")
            if periodEnd == nil, let items = try object.optionalObject("items") {
                for item in try items.array("data") {
                    if let end = try item.optionalInt("current_period_end") { periodEnd = max(periodEnd ?? end, end) }
                }
            }
            let end = periodEnd.map { Date(timeIntervalSince1970: Double($0)) }
            return { connection in
                let applied = try SubscriptionRepository(connection, prefix: prefix).report(
                    subscription: subscription, stripeCustomerID: customer, status: status, currentPeriodEnd: end,
                    cancelAtPeriodEnd: cancelAtPeriodEnd, eventCreated: event.created, now: context.clock.now)
                // An older state than the one stored is recorded in the ledger, not applied.
                guard applied else { return }
                let now = context.clock.now
                try AuditLog(connection, prefix: prefix).record(subject: "subscription", id: subscription, action: "status", before: nil, after: status,
                                                                actor: actor, now: now)
                let outbox = Outbox(connection, prefix: prefix)
                try outbox.enqueue(kind: "notification", dedupeKey: "subscription.changed:\(event.id)", recipient: nil,
                                   payload: String(decoding: JSONValue.object([
                                       "type": "subscription.changed", "subscription": .string(subscription), "status": .string(status),
                                       "cancel_at_period_end": .bool(cancelAtPeriodEnd),
                                       "current_period_end": end.map { .string(ISOTime.string($0)) } ?? .null,
                                   ]).serialized(), as: UTF8.self), sealed: nil, now: now)
                if cancelAtPeriodEnd, status == "active" || status == "trialing", let end,
                   let email = try CustomerRepository(connection, prefix: prefix).email(stripeCustomerID: customer) {
                    // Once per subscription and period: a repeated update does not mail again.
                    try outbox.enqueue(kind: "subscription_ending_email", dedupeKey: "subscription-ending:\(subscription):\(Int64(end.timeIntervalSince1970))",
                                       recipient: email, payload: String(decoding: JSONValue.object([
                                           "period_end": .string(String(ISOTime.string(end).prefix(10))),
                                       ]).serialized(), as: UTF8.self), sealed: nil, now: now)
                }
                let stored = try SubscriptionRepository(connection, prefix: prefix).find(subscription)
                try OrderAdjustments(context: context, connection: connection, actor: actor)
                    .subscriptionChanged(subscription, status: status, periodEnd: stored?.currentPeriodEnd)
            }
        }

        // invoice.paid / invoice.payment_failed
        let invoice = try object.string("id")
        let subscription = try object.optionalObject("parent")?.optionalObject("subscription_details")?.reference("subscription")
        let legacySubscription = try object.reference("subscription")
        let customer = try object.reference("customer")
        let email = try object.optionalString("customer_email")
        var prices: [(price: String, quantity: Int)] = []
        if let lines = try object.optionalObject("lines") {
            for line in try lines.array("data") {
                let modern = try line.optionalObject("pricing")?.optionalObject("price_details")?.reference("price")
                let legacy = try line.optionalObject("price")?.optionalString("id")
                if let price = modern ?? legacy ?? nil { prices.append((price, Int(try line.optionalInt("quantity") ?? 1))) }
            }
        }
        let subscriptionID = subscription ?? legacySubscription
        if event.type == "invoice.payment_failed" {
            return { connection in
                try Outbox(connection, prefix: prefix).enqueue(
                    kind: "payment_failed_email", dedupeKey: "payment-failed:\(invoice):\(event.id)", recipient: email,
                    payload: String(decoding: JSONValue.object([
                        "invoice": .string(invoice), "subscription": subscriptionID.map(JSONValue.string) ?? .null,
                    ]).serialized(), as: UTF8.self), sealed: nil, now: context.clock.now)
            }
        }
        return { connection in
            // Each paid invoice grants the plan's credits once: (invoice, line) is the ledger key.
            let products = ProductRepository(connection, prefix: prefix)
            let grants = GrantRepository(connection, prefix: prefix)
            let now = context.clock.now
            for (index, line) in prices.enumerated() {
                guard let product = try products.forPrice(line.price), product.kind == .subscription, let perPeriod = product.credits else { continue }
                let (credits, overflow) = perPeriod.multipliedReportingOverflow(by: Int64(line.quantity))
                guard line.quantity > 0, !overflow else {
                    context.logger.warning("invoice line quantity out of range; no credits granted", metadata: ["invoice": "\(invoice)", "line": "\(index)"])
                    continue
                }
                guard let customerID = try CustomerRepository(connection, prefix: prefix).findOrCreate(stripeCustomerID: customer, email: email, now: now) else {
                    continue  // an invoice names its customer; one that does not cannot be credited
                }
                if try grants.appendCredits(customerID: customerID, delta: credits, kind: "grant",
                                            source: "invoice", sourceID: "\(invoice):\(index)", now: now) {
                    try AuditLog(connection, prefix: prefix).record(subject: "credits", id: String(customerID), action: "granted", before: nil,
                                                                    after: String(credits), actor: actor, detail: "invoice \(invoice)", now: now)
                }
            }
        }
    }
}
