import Foundation
import MariaStore

/// What a subscription's state does to its licenses: status and expiry follow the
/// subscription (`SubscriptionPolicy`), never past a period whose payment was refunded or
/// lost in a dispute; plan and quantity follow its items (tier and activation limit — seats
/// above a lower limit stay until deactivated, new activations are refused meanwhile).
/// Refunded, disabled and suspended licenses are left as they are.
struct SubscriptionAdjustments {
    let context: Context
    let connection: Connection
    let actor: String

    private var prefix: TablePrefix { context.store.prefix }
    private var now: Date { context.clock.now }

    func follow(_ state: SubscriptionRepository.Subscription) throws {
        let licenses = LicenseRepository(connection, prefix: prefix)
        let audit = AuditLog(connection, prefix: prefix)
        let plan = try state.product.flatMap { try ProductRepository(connection, prefix: prefix).named($0) }
        var rule = SubscriptionPolicy.license(
            forSubscription: state.status, periodEnd: state.currentPeriodEnd, now: now,
            graceDays: context.configuration.licensing.pastDueGraceDays)
        // A refunded or lost latest period is not paid for: the license ends where it began.
        if let cap = try unpaidFrom(state.subscription), let current = rule, current.expiresAt.map({ $0 > cap }) ?? true {
            rule = (cap > now ? .active : .expired, cap)
        }
        for license in try licenses.licenses(subscription: state.subscription) {
            if let plan, plan.grantsLicense, let limit = plan.activationLimit, let current = try licenses.plan(license.id) {
                let (seats, overflow) = limit.multipliedReportingOverflow(by: max(1, state.quantity ?? 1))
                let newLimit = overflow ? Int(Int32.max) : min(seats, Int(Int32.max))
                if current.product != plan.product || current.tier != plan.tier || current.activationLimit != newLimit {
                    try licenses.changePlan(license.id, product: plan.product, tier: plan.tier, activationLimit: newLimit, now: now)
                    try audit.record(
                        subject: "license", id: String(license.id), action: "plan_changed",
                        before: "\(current.product) ×\(current.activationLimit)", after: "\(plan.product) ×\(newLimit)", actor: actor,
                        detail: "subscription \(state.subscription)", now: now)
                }
            }
            guard let rule, license.status == .active || license.status == .expired else { continue }
            guard license.status != rule.status || license.expiresAt != rule.expiresAt else { continue }
            try licenses.update(license.id, status: rule.status, expiresAt: rule.expiresAt, now: now)
            try audit.record(
                subject: "license", id: String(license.id), action: "subscription", before: license.status.rawValue, after: rule.status.rawValue,
                actor: actor, detail: "subscription \(state.subscription) \(state.status)", now: now)
        }
    }

    /// The start of the subscription's latest period when its payment was fully refunded or
    /// lost in a dispute; nil when the latest paid period stands.
    private func unpaidFrom(_ subscription: String) throws -> Date? {
        guard let latest = try InvoiceRepository(connection, prefix: prefix).latest(subscription: subscription) else { return nil }
        let lost =
            try latest.paymentIntent.map { intent in
                try DisputeRepository(connection, prefix: prefix).disputes(paymentIntent: intent).contains { $0.status == "lost" }
            } ?? false
        guard latest.amountRefunded >= latest.amountPaid || lost else { return nil }
        return latest.periodStart
    }
}
