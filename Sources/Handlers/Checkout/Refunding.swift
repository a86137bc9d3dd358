import Foundation
import MariaStore

/// A refund through Stripe, asked for by the admin API (`POST /refunds`) or the admin page.
///
/// The request is recorded (and audited, naming who asked) before Stripe is called, under the
/// caller's idempotency key: a retry after a timeout or a 5xx — even one that came after Stripe
/// had refunded — is the same request with the same Stripe idempotency key, so never a second
/// refund. The change of state itself arrives by webhook (`charge.refunded`).
public struct Refunding {
    let context: Context

    public init(context: Context) {
        self.context = context
    }

    /// What Stripe answered (or, for a key already used, what it answered then).
    public struct Outcome: Sendable, Equatable {
        public let refund: String
        public let status: String
        public let amount: Int64
        public let replayed: Bool
    }

    /// Refunds `amount` (nil: all that is left) of `paymentIntent`.
    public func refund(paymentIntent intent: String, amount: Int64?, reason: String?, callerKey: String, actor: String) throws -> Outcome {
        var form = [("payment_intent", intent)]
        if let amount { form.append(("amount", String(amount))) }
        if let reason { form.append(("reason", reason)) }
        let store = context.store
        let asked = RefundRequestRepository.Request(idempotencyKey: callerKey, paymentIntent: intent, amount: amount, reason: reason)
        let recorded = try store.transaction { connection -> RefundRequestRepository.Request in
            let stored = try RefundRequestRepository(connection, prefix: store.prefix).recordOrFind(asked, actor: actor, now: context.clock.now)
            if stored == asked {
                try AuditLog(connection, prefix: store.prefix).record(
                    subject: "payment", id: intent, action: "refund_requested", before: nil,
                    after: amount.map(String.init) ?? "full", actor: actor, now: context.clock.now)
            }
            return stored
        }
        guard recorded.asksTheSame(as: asked) else {
            throw APIError(.conflict, code: "idempotency_key_reused", message: "this Idempotency-Key was used for a different refund")
        }
        if let refund = recorded.refund, let refunded = recorded.refundedAmount {
            return Outcome(refund: refund, status: recorded.status, amount: refunded, replayed: true)
        }
        let key = IdempotencyKey.derive("refund", form: form, scope: callerKey)
        let refund = try context.stripe.post("/v1/refunds", form: form, idempotencyKey: key)
        guard let id = try? refund.string("id"), let status = try? refund.string("status"), let refunded = try? refund.int("amount") else {
            throw APIError(.badGateway, code: "upstream_error", message: "Stripe's answer was not a refund")
        }
        try store.transaction { connection in
            try RefundRequestRepository(connection, prefix: store.prefix).complete(
                callerKey, refund: id, status: status, refundedAmount: refunded,
                now: context.clock.now)
            try AuditLog(connection, prefix: store.prefix).record(
                subject: "payment", id: intent, action: "refund_created", before: nil, after: status,
                actor: actor, detail: "refund \(id)", now: context.clock.now)
        }
        return Outcome(refund: id, status: status, amount: refunded, replayed: false)
    }
}
