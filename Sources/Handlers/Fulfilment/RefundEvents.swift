import Foundation
import MariaStore

/// `refund.created`, `refund.updated`, `refund.failed` and `charge.refund.updated`: a refund's
/// own status. A refund that fails or is cancelled after `charge.refunded` was applied gave no
/// money back, so what it revoked is given back: the order (or the renewal's period) is
/// refunded only by what is still refunded.
struct RefundEvents {
    let context: Context
    let event: StripeEvent

    func prepare() throws(JSONObject.ShapeError) -> (Connection) throws -> Void {
        let object = event.object
        let refund = try object.string("id")
        let paymentIntent = try object.reference("payment_intent")
        let amount = try object.int("amount")
        let status = try object.string("status")
        let event = self.event
        let context = self.context
        return { connection in
            let prefix = context.store.prefix
            let actor = "stripe:\(event.id)"
            let (applied, before) = try RefundRepository(connection, prefix: prefix).report(
                refund: refund, paymentIntent: paymentIntent, amount: amount, status: status, eventCreated: event.created, now: context.clock.now)
            guard applied, before != status else { return }
            try AuditLog(connection, prefix: prefix).record(
                subject: "refund", id: refund, action: "status", before: before, after: status, actor: actor,
                now: context.clock.now)
            // Only a refund that was counted (it was not failed before) is taken back now.
            guard RefundRepository.undone.contains(status), let paymentIntent,
                let payment = try PaymentRepository(connection, prefix: prefix).find(paymentIntent)
            else { return }
            let still = max(0, payment.amountRefunded - (try RefundRepository(connection, prefix: prefix).undoneTotal(paymentIntent: paymentIntent)))
            if let order = try OrderRepository(connection, prefix: prefix).lock(paymentIntent: paymentIntent), order.amountRefunded > still {
                try OrderAdjustments(context: context, connection: connection, actor: actor).refundUndone(order, amountRefunded: still)
            } else if let invoice = try InvoiceRepository(connection, prefix: prefix).lock(paymentIntent: paymentIntent), invoice.amountRefunded > still {
                try PeriodAdjustments(context: context, connection: connection, actor: actor).refundChanged(invoice, amountRefunded: still)
            }
        }
    }
}
