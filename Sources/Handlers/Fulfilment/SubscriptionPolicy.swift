import Foundation
import MariaStore

/// How a subscription's license follows the subscription: a pure rule.
public enum SubscriptionPolicy {
    /// The license status and expiry for a subscription `status` with its period end.
    /// - active / trialing: valid until the period end plus the grace (renewals can be late);
    /// - past_due: the same grace while Stripe retries the payment;
    /// - canceled / unpaid / incomplete_expired / paused: valid until the period end, then expired;
    /// - incomplete: nothing changes (the first payment has not gone through yet).
    public static func license(forSubscription status: String, periodEnd: Date?, now: Date, graceDays: Int)
        -> (status: LicenseRepository.Status, expiresAt: Date?)?
    {
        let grace = Double(graceDays) * 86_400
        switch status {
        case "active", "trialing", "past_due":
            return (.active, periodEnd.map { $0.addingTimeInterval(grace) })
        case "canceled", "unpaid", "incomplete_expired", "paused":
            guard let periodEnd, periodEnd > now else { return (.expired, periodEnd ?? now) }
            return (.active, periodEnd)
        default:
            return nil
        }
    }
}
