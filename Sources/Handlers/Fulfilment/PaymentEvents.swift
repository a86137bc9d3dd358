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
                elements = (
                    session,
                    try fulfilment.isGranted(paymentIntent)
                        ? nil
                        : try fulfilment.purchase(ofIntent: paymentIntent, amount: received, currency: state.currency, metadata: session.metadata)
                )
            }
            let event = self.event
            return { connection in
                let before = try PaymentRepository(connection, prefix: prefix).lock(paymentIntent)?.status
                if try PaymentRepository(connection, prefix: prefix).report(paymentIntent, state, eventID: event.id, eventCreated: event.created, now: now),
                    before != state.status
                {
                    try AuditLog(connection, prefix: prefix).record(
                        subject: "payment", id: paymentIntent, action: "status", before: before,
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
                    try payments.reportRefunded(paymentIntent, amountRefunded: amountRefunded, amount: amount, currency: currency, actor: actor, now: now)
                    // A refund already known to have failed no longer counts, whichever event came first.
                    let undone = try RefundRepository(connection, prefix: prefix).undoneTotal(paymentIntent: paymentIntent)
                    let refunded = max(0, amountRefunded - undone)
                    if let order = try OrderRepository(connection, prefix: prefix).lock(paymentIntent: paymentIntent) {
                        try OrderAdjustments(context: context, connection: connection, actor: actor)
                            .refund(order, amountRefunded: refunded, chargeAmount: amount)
                    } else if let invoice = try InvoiceRepository(connection, prefix: prefix).lock(paymentIntent: paymentIntent),
                        refunded > invoice.amountRefunded
                    {
                        try PeriodAdjustments(context: context, connection: connection, actor: actor).refundChanged(invoice, amountRefunded: refunded)
                    }
                } else {
                    try payments.reportCharge(paymentIntent, state, actor: actor, now: now)
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
