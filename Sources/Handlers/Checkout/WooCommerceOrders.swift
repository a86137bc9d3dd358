import Foundation
import MariaStore

/// Keeps a WooCommerce order in step with the Checkout Session that pays it. Only a binding
/// made by `POST /checkout/woocommerce` (our record of the session, with the order's total)
/// can touch an order; a `client_reference_id` never does. Changes go through the outbox, so
/// an unreachable shop is retried, never skipped:
/// - paid: the order is read again and marked paid only if it is still pending with the total
///   and currency the session was created for; otherwise it is flagged for an operator;
/// - refunded: each refund (partial ones too) is recorded on the order for the amount refunded.
struct WooCommerceOrders {
    let context: Context

    /// Queues "mark paid" for the WooCommerce order bound to `order`'s session.
    func orderPaid(_ wooCommerceOrder: Int64, amount: Int64, currency: String, order: OrderRepository.Order, connection: Connection) throws {
        try enqueue(
            dedupe: "woocommerce:\(wooCommerceOrder):paid",
            payload: .object([
                "action": "paid", "order_id": .int(wooCommerceOrder), "amount": .int(amount), "currency": .string(currency),
                "session": .string(order.sessionID), "transaction_id": order.paymentIntent.map(JSONValue.string) ?? .null,
            ]), connection: connection)
    }

    /// Queues the refund of `refundedNow − refundedBefore` on the WooCommerce order bound to
    /// `order`'s session, if there is one.
    func orderRefunded(_ order: OrderRepository.Order, refundedBefore: Int64, refundedNow: Int64, connection: Connection) throws {
        guard refundedNow > refundedBefore,
            let bound = try CheckoutRepository(connection, prefix: context.store.prefix).find(order.sessionID)?.wooCommerceOrder
        else { return }
        // Keyed by the refunded total: each new refund is one WooCommerce refund.
        try enqueue(
            dedupe: "woocommerce:\(bound):refund:\(refundedNow)",
            payload: .object([
                "action": "refund", "order_id": .int(bound), "amount": .int(refundedNow - refundedBefore), "currency": .string(order.currency),
                "session": .string(order.sessionID), "transaction_id": order.paymentIntent.map(JSONValue.string) ?? .null,
            ]), connection: connection)
    }

    private func enqueue(dedupe: String, payload: JSONValue, connection: Connection) throws {
        try Outbox(connection, prefix: context.store.prefix).enqueue(
            kind: "woocommerce", dedupeKey: dedupe, recipient: nil, payload: String(decoding: payload.serialized(), as: UTF8.self),
            sealed: nil, now: context.clock.now)
    }

    /// Sends one queued change.
    func send(_ message: Outbox.Message) throws -> OutboxDeliverer.Outcome {
        let payload = try JSONObject.parse(Array(message.payload.utf8))
        guard let action = try payload.optionalString("action") else {
            // Queued by a version that trusted client references: never applied blindly.
            return .skipped("a WooCommerce update queued by an earlier version is not applied; check the order by hand")
        }
        let client = WooCommerceClient(settings: context.configuration.woocommerce)
        let id = try payload.int("order_id")
        let amount = try payload.int("amount")
        let currency = try payload.string("currency")
        let session = try payload.string("session")
        let transaction = try payload.optionalString("transaction_id")
        do {
            switch action {
            case "paid":
                let current = try client.order(id)
                if current.status == "pending", current.total == amount, current.currency == currency {
                    try client.markPaid(id, transactionID: transaction)
                    return .sent
                }
                if let transaction, current.transactionID == transaction, ["processing", "completed", "on-hold"].contains(current.status) {
                    return .sent  // marked by an earlier attempt whose answer was lost
                }
                let reason =
                    "WooCommerce order \(id) was not marked paid: it is \(current.status) at "
                    + "\(Money.format(current.total, currency: current.currency)), the payment was for \(Money.format(amount, currency: currency))"
                try flag(session: session, reason: reason)
                return .skipped(reason)
            case "refund":
                try client.recordRefund(
                    id, amount: Money.decimal(amount, currency: currency),
                    reason: "Refunded through Stripe" + (transaction.map { " (\($0))" } ?? ""))
                return .sent
            default:
                return .skipped("unknown WooCommerce action \(action)")
            }
        } catch WooCommerceClient.Failure.noSuchOrder(let missing) {
            let reason = "WooCommerce has no order \(missing) any more"
            try flag(session: session, reason: reason)
            return .skipped(reason)
        } catch let failure as WooCommerceClient.Failure {
            return .failed(failure.description)
        }
    }

    /// Flags our order for an operator: the shop and the payment disagree.
    private func flag(session: String, reason: String) throws {
        let store = context.store
        let now = context.clock.now
        try store.transaction { connection in
            let orders = OrderRepository(connection, prefix: store.prefix)
            guard let order = try orders.lock(sessionID: session) else { return }
            try orders.flag(order.id, attention: reason, now: now)
            try AuditLog(connection, prefix: store.prefix).record(
                subject: "order", id: session, action: "needs_attention", before: nil, after: nil,
                actor: "outbox", detail: reason, now: now)
        }
        context.logger.warning("WooCommerce order not updated", metadata: ["order": "\(session)", "reason": "\(reason)"])
    }
}
