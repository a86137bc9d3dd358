import Foundation
import MariaStore

/// `charge.dispute.*`: the dispute record, and what it does to what the disputed payment
/// bought — an order's licenses and credits, or a renewal's period.
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
            let actor = "stripe:\(event.id)"
            let (applied, before) = try DisputeRepository(connection, prefix: prefix).report(
                dispute: dispute, paymentIntent: paymentIntent, status: status, amount: amount, currency: currency, reason: reason,
                eventCreated: event.created, now: context.clock.now)
            guard applied else { return }
            try AuditLog(connection, prefix: prefix).record(
                subject: "dispute", id: dispute, action: "status", before: before, after: status,
                actor: actor, now: context.clock.now)
            guard let paymentIntent else { return }
            if let order = try OrderRepository(connection, prefix: prefix).lock(paymentIntent: paymentIntent) {
                try OrderAdjustments(context: context, connection: connection, actor: actor).disputeChanged(order, dispute: dispute, status: status)
            } else if let invoice = try InvoiceRepository(connection, prefix: prefix).lock(paymentIntent: paymentIntent) {
                try PeriodAdjustments(context: context, connection: connection, actor: actor).disputeChanged(invoice, dispute: dispute, status: status)
            }
        }
    }
}
