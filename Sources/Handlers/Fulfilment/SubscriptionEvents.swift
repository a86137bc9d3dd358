import Foundation
import MariaStore

/// `customer.subscription.*`: the subscription record (status, period, plan, quantity), and
/// its licenses following it (`SubscriptionAdjustments`).
struct SubscriptionEvents {
    let context: Context
    let event: StripeEvent

    /// A subscription object read the way every API version since 2020 writes it.
    static func state(_ object: JSONObject) throws(JSONObject.ShapeError) -> SubscriptionRepository.State {
        let subscription = try object.string("id")
        let customer = try object.reference("customer")
        // Since API 2025-03-31 the period sits on each item; before, on the subscription.
        var periodStart = try object.optionalInt("current_period_start")
        var periodEnd = try object.optionalInt("current_period_end")
        var price: String?
        var quantity: Int?
        if let items = try object.optionalObject("items") {
            for item in try items.array("data") {
                if let start = try item.optionalInt("current_period_start") { periodStart = max(periodStart ?? start, start) }
                if let end = try item.optionalInt("current_period_end") { periodEnd = max(periodEnd ?? end, end) }
                let modern = try item.optionalObject("price")?.optionalString("id")
                let legacy = try item.optionalObject("plan")?.optionalString("id")
                if price == nil, let id = modern ?? legacy {
                    price = id
                    quantity = try item.optionalInt("quantity").map { Int(clamping: $0) }
                }
            }
        }
        return SubscriptionRepository.State(
            subscription: subscription, stripeCustomerID: customer, status: try object.string("status"),
            currentPeriodStart: periodStart.map { Date(timeIntervalSince1970: Double($0)) },
            currentPeriodEnd: periodEnd.map { Date(timeIntervalSince1970: Double($0)) },
            cancelAtPeriodEnd: (try object.optionalBool("cancel_at_period_end")) ?? false, priceID: price, quantity: quantity)
    }

    func prepare() throws(JSONObject.ShapeError) -> (Connection) throws -> Void {
        let reported = try Self.state(event.object)
        let event = self.event
        let context = self.context
        return { connection in
            try Self.apply(reported, eventCreated: event.created, actor: "stripe:\(event.id)", dedupe: event.id, context: context, connection: connection)
        }
    }

    /// Records a state (from an event, or read from Stripe's API) and lets the licenses
    /// follow it; nothing when an older state arrives late. `dedupe` names the notification.
    static func apply(
        _ reported: SubscriptionRepository.State, eventCreated: Int64, actor: String, dedupe: String, context: Context,
        connection: Connection
    ) throws {
        let prefix = context.store.prefix
        let now = context.clock.now
        var state = reported
        state.product = try state.priceID.flatMap { try ProductRepository(connection, prefix: prefix).forPrice($0)?.product }
        state.customerID = try CustomerRepository(connection, prefix: prefix).findOrCreate(
            stripeCustomerID: state.stripeCustomerID, email: nil, actor: actor, now: now)
        let subscriptions = SubscriptionRepository(connection, prefix: prefix)
        let before = try subscriptions.find(state.subscription)
        guard try subscriptions.report(state, eventCreated: eventCreated, now: now), let stored = try subscriptions.find(state.subscription) else { return }
        let audit = AuditLog(connection, prefix: prefix)
        try audit.record(
            subject: "subscription", id: state.subscription, action: "status", before: before?.status, after: stored.status,
            actor: actor, now: now)
        if let before, before.product != stored.product || before.quantity != stored.quantity {
            try audit.record(
                subject: "subscription", id: state.subscription, action: "plan",
                before: "\(before.product ?? "?") ×\(before.quantity ?? 1)", after: "\(stored.product ?? "?") ×\(stored.quantity ?? 1)",
                actor: actor, now: now)
        }
        let outbox = Outbox(connection, prefix: prefix)
        try outbox.enqueue(
            kind: "notification", dedupeKey: "subscription.changed:\(dedupe)", recipient: nil,
            payload: String(
                decoding: JSONValue.object([
                    "type": "subscription.changed", "subscription": .string(state.subscription), "status": .string(stored.status),
                    "cancel_at_period_end": .bool(stored.cancelAtPeriodEnd),
                    "current_period_end": stored.currentPeriodEnd.map { .string(ISOTime.string($0)) } ?? .null,
                    "product": stored.product.map(JSONValue.string) ?? .null, "quantity": stored.quantity.map { .int(Int64($0)) } ?? .null,
                ]).serialized(), as: UTF8.self), sealed: nil, now: now)
        if stored.cancelAtPeriodEnd, stored.status == "active" || stored.status == "trialing", let end = stored.currentPeriodEnd,
            let email = try CustomerRepository(connection, prefix: prefix).email(of: stored.customerID)
        {
            // Once per subscription and period: a repeated update does not mail again.
            try outbox.enqueue(
                kind: "subscription_ending_email", dedupeKey: "subscription-ending:\(state.subscription):\(Int64(end.timeIntervalSince1970))",
                recipient: email,
                payload: String(
                    decoding: JSONValue.object([
                        "period_end": .string(String(ISOTime.string(end).prefix(10)))
                    ]).serialized(), as: UTF8.self), sealed: nil, now: now)
        }
        try SubscriptionAdjustments(context: context, connection: connection, actor: actor).follow(stored)
    }
}
