import Foundation
import MariaStore

/// Applies one verified Stripe event exactly once: the event id enters the ledger in the same
/// transaction as every change it causes, so a second delivery — even one arriving at the
/// same moment on another worker — finds it there and changes nothing.
public struct EventProcessor {
    /// What the webhook answers (HTTP 200 with `{"status": …}`).
    public enum Result: String, Sendable {
        case processed, duplicate, ignored
        case otherMode = "other_mode"
    }

    /// An event that was recorded as failed and must be answered non-2xx so Stripe retries.
    public struct Unprocessed: Error, CustomStringConvertible {
        public let reason: String
        public var description: String { reason }
    }

    /// Event types this version applies.
    static let checkoutTypes: [String: OrderRepository.Status?] = [
        "checkout.session.completed": nil,  // paid → paid, unpaid → pending
        "checkout.session.async_payment_succeeded": .paid,
        "checkout.session.async_payment_failed": .failed,
        "checkout.session.expired": .expired,
    ]

    /// Payment, refund and risk facts.
    static let paymentTypes: Set<String> = [
        "payment_intent.succeeded", "payment_intent.payment_failed", "payment_intent.processing", "payment_intent.canceled",
        "charge.succeeded", "charge.failed", "charge.refunded",
    ]
    static let disputeTypes: Set<String> = ["charge.dispute.created", "charge.dispute.updated", "charge.dispute.closed"]
    static let subscriptionTypes: Set<String> = ["customer.subscription.created", "customer.subscription.updated", "customer.subscription.deleted"]
    static let invoiceTypes: Set<String> = ["invoice.paid", "invoice.payment_failed", "invoice_payment.paid"]
    static let refundTypes: Set<String> = ["refund.created", "refund.updated", "refund.failed", "charge.refund.updated"]

    let context: Context

    public init(context: Context) {
        self.context = context
    }

    public func process(_ event: StripeEvent, rawBody: [UInt8]) throws -> Result {
        // No look at the ledger first: the claim inside the transaction finds a redelivery (a
        // round trip spared on every new event), and the only preparation that costs more than
        // that, fetching line items from Stripe, is skipped for orders already granted.
        let liveMode = context.configuration.stripe.mode == .live
        if event.livemode != liveMode {
            context.logger.notice("event from the other mode recorded, not applied", metadata: ["event": "\(event.id)", "type": "\(event.type)"])
            return try record(event, outcome: .otherMode, result: .otherMode)
        }
        let apply: (Connection) throws -> Void
        do {
            if let implied = Self.checkoutTypes[event.type] {
                guard let prepared = try prepareCheckout(event, implied: implied) else {
                    return try record(event, outcome: .ignored, result: .ignored)
                }
                apply = prepared
            } else if Self.paymentTypes.contains(event.type) {
                apply = try PaymentEvents(context: context, event: event).prepare()
            } else if Self.disputeTypes.contains(event.type) {
                apply = try DisputeEvents(context: context, event: event).prepare()
            } else if Self.subscriptionTypes.contains(event.type) {
                apply = try SubscriptionEvents(context: context, event: event).prepare()
            } else if Self.invoiceTypes.contains(event.type) {
                apply = try InvoiceEvents(context: context, event: event).prepare()
            } else if Self.refundTypes.contains(event.type) {
                apply = try RefundEvents(context: context, event: event).prepare()
            } else {
                return try record(event, outcome: .ignored, result: .ignored)
            }
        } catch let error as JSONObject.ShapeError {
            throw try fail(event, rawBody: rawBody, reason: "the event's shape cannot be read: \(error)")
        }
        do {
            return try exactlyOnce(event, apply: apply) ? .processed : .duplicate
        } catch let error as DatabaseError where !error.isTransient && !error.isUnavailable {
            // The database refused the event's data (a value too long, say): that will not
            // pass on a retry either, so it is recorded with its payload for `events replay`
            // after a fix, never lost once Stripe stops retrying.
            throw try fail(event, rawBody: rawBody, reason: "the database refused the event: \(error)")
        } catch let error as JSONObject.ShapeError {
            throw try fail(event, rawBody: rawBody, reason: "the event's shape cannot be read: \(error)")
        }
    }

    /// Reads the session and, when it is paid and not yet granted, decides what was bought
    /// (which may need Stripe's API): everything that needs the network happens before the
    /// transaction opens. nil for a session that sells nothing (setup mode).
    private func prepareCheckout(_ event: StripeEvent, implied: OrderRepository.Status?) throws -> ((Connection) throws -> Void)? {
        let fulfilment = CheckoutFulfilment(context: context, actor: "stripe:\(event.id)")
        let session = try CheckoutFulfilment.Session(event.object)
        guard session.sells else { return nil }
        let proposed = implied ?? (session.isPaid ? .paid : .pending)
        // Deciding costs a read and maybe a Stripe call: spared once the order is granted.
        var purchase: Purchase?
        var subscription: SubscriptionRepository.State?
        if proposed == .paid, try !fulfilment.isGranted(session.id) {
            purchase = try fulfilment.purchase(of: session)
            subscription = try fulfilment.unknownSubscription(of: session)
        }
        return { connection in
            // Granted lines are skipped inside apply, so `purchase` may be nil when all were done.
            try fulfilment.apply(session, proposed: proposed, purchase: purchase, subscription: subscription, on: connection)
        }
    }

    /// Runs `apply` and records the event as `outcome` in one transaction, unless the ledger
    /// already holds it. The ledger row is claimed first (`EventLedger.claim`), so of two
    /// deliveries racing, the second waits for the first and then sees it done.
    private func exactlyOnce(_ event: StripeEvent, outcome: EventLedger.Outcome = .processed, apply: @escaping (Connection) throws -> Void) throws -> Bool {
        let store = context.store
        let now = context.clock.now
        return try store.transaction { connection -> Bool in
            let ledger = EventLedger(connection, prefix: store.prefix)
            // A fresh claim already holds the final outcome (and rolls back with everything
            // else if apply throws); only a retry of a failed event must overwrite its record.
            let retryOfFailure: Bool
            if try ledger.claim(
                id: event.id, type: event.type, livemode: event.livemode, apiVersion: event.apiVersion,
                created: event.created, receivedAt: now, outcome: outcome)
            {
                retryOfFailure = false
            } else {
                // Only an event that failed before may be applied again (the claim holds its lock).
                guard try ledger.lockedOutcome(of: event.id) == .failed else { return false }
                retryOfFailure = true
            }
            try apply(connection)
            if retryOfFailure {
                try ledger.record(
                    id: event.id, type: event.type, livemode: event.livemode, apiVersion: event.apiVersion,
                    created: event.created, receivedAt: now, outcome: outcome)
            }
            return true
        }
    }

    private func record(_ event: StripeEvent, outcome: EventLedger.Outcome, result: Result) throws -> Result {
        try exactlyOnce(event, outcome: outcome) { _ in } ? result : .duplicate
    }

    /// Records the event as failed, with its payload and the reason, and returns the error to throw.
    private func fail(_ event: StripeEvent, rawBody: [UInt8], reason: String) throws -> Unprocessed {
        context.logger.error("event not processed", metadata: ["event": "\(event.id)", "type": "\(event.type)", "reason": "\(reason)"])
        let store = context.store
        let now = context.clock.now
        try store.transaction { connection in
            let ledger = EventLedger(connection, prefix: store.prefix)
            if let existing = try ledger.lockedOutcome(of: event.id), existing != .failed { return }
            try ledger.record(
                id: event.id, type: event.type, livemode: event.livemode, apiVersion: event.apiVersion,
                created: event.created, receivedAt: now, outcome: .failed, error: reason, payload: rawBody)
        }
        return Unprocessed(reason: reason)
    }
}
