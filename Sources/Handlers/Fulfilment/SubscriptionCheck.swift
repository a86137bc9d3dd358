import Foundation
import MariaStore

/// `payments-fcgi subscriptions check` (hourly, beside `reconcile`): lists the subscriptions
/// Stripe has and repairs what differs here — status, period end, cancellation, plan and
/// quantity — through the same code as their events, reporting each change. A webhook that
/// never arrived leaves no license valid longer (or shorter) than paid for.
public struct SubscriptionCheck {
    let context: Context

    public init(context: Context) {
        self.context = context
    }

    public struct Change: Sendable {
        public let subscription: String
        public let differences: [String]
    }

    public func run(dryRun: Bool) throws -> (checked: Int, changes: [Change]) {
        let store = context.store
        let objects = try StripeList.all("/v1/subscriptions", query: [("status", "all")], stripe: context.stripe)
        var changes: [Change] = []
        for object in objects {
            let reported = try SubscriptionEvents.state(object)
            let (known, product) = try store.withConnection { connection in
                (
                    try SubscriptionRepository(connection, prefix: store.prefix).find(reported.subscription),
                    try reported.priceID.flatMap { try ProductRepository(connection, prefix: store.prefix).forPrice($0)?.product }
                )
            }
            var differences: [String] = []
            func note(_ name: String, _ here: String?, _ there: String?) {
                if here != there { differences.append("\(name) \(here ?? "none") → \(there ?? "none")") }
            }
            if let known {
                note("status", known.status, reported.status)
                note("period end", known.currentPeriodEnd.map(ISOTime.string), reported.currentPeriodEnd.map(ISOTime.string))
                note("cancel at period end", String(known.cancelAtPeriodEnd), String(reported.cancelAtPeriodEnd))
                note("plan", known.product, product)
                note("quantity", known.quantity.map(String.init), reported.quantity.map(String.init))
            } else {
                differences.append("not known here: \(reported.status)")
            }
            guard !differences.isEmpty else { continue }
            changes.append(Change(subscription: reported.subscription, differences: differences))
            if dryRun { continue }
            let now = context.clock.now
            try store.transaction { connection in
                // As of now: what Stripe says at this moment is newer than any event sent before.
                try SubscriptionEvents.apply(
                    reported, eventCreated: Int64(now.timeIntervalSince1970), actor: "operator:subscriptions-check",
                    dedupe: "check:\(reported.subscription):\(Int64(now.timeIntervalSince1970))", context: context, connection: connection)
            }
        }
        return (objects.count, changes)
    }
}
