import Foundation
import MariaStore

/// What refunds, disputes and subscription changes do to an order's grants. Each function is
/// safe to run again (it only moves states forward), which is what lets the same code apply
/// an event as it arrives *and* catch up when the order itself arrives later.
struct OrderAdjustments {
    let context: Context
    let connection: Connection
    let actor: String

    private var prefix: TablePrefix { context.store.prefix }
    private var now: Date { context.clock.now }

    /// Brings a paid order up to date with what is already known about its payment and
    /// subscription (events that arrived before the order did).
    func catchUp(_ order: OrderRepository.Order, subscription: String?) throws {
        if let paymentIntent = order.paymentIntent {
            if let payment = try PaymentRepository(connection, prefix: prefix).find(paymentIntent), payment.amountRefunded > 0 {
                try refund(order, amountRefunded: payment.amountRefunded, chargeAmount: payment.amount)
            }
            for dispute in try DisputeRepository(connection, prefix: prefix).disputes(paymentIntent: paymentIntent) {
                try disputeChanged(order, status: dispute.status)
            }
        }
        if let subscription, let state = try SubscriptionRepository(connection, prefix: prefix).find(subscription) {
            try subscriptionChanged(subscription, status: state.status, periodEnd: state.currentPeriodEnd)
        }
    }

    /// Records a refund; a full one refunds the order, its licenses and its credits.
    func refund(_ order: OrderRepository.Order, amountRefunded: Int64, chargeAmount: Int64) throws {
        let orders = OrderRepository(connection, prefix: prefix)
        if amountRefunded > order.amountRefunded {
            if let email = try CustomerRepository(connection, prefix: prefix).email(of: order.customerID) {
                // One confirmation per refunded total (a second partial refund gets its own).
                try Outbox(connection, prefix: prefix).enqueue(
                    kind: "refund_email", dedupeKey: "refund:\(order.id):\(amountRefunded)", recipient: email,
                    payload: String(decoding: JSONValue.object([
                        "amount": .string(Money.format(amountRefunded - order.amountRefunded, currency: order.currency)),
                        "order": .string(order.sessionID),
                    ]).serialized(), as: UTF8.self), sealed: nil, now: now)
            }
            // A WooCommerce order paid through us gets the same refund, partial ones too.
            try WooCommerceOrders(context: context).orderRefunded(order, refundedBefore: order.amountRefunded, refundedNow: amountRefunded,
                                                                  connection: connection)
        }
        try orders.setRefunded(order.id, amount: amountRefunded, now: now)
        let full = amountRefunded >= max(order.amountTotal, chargeAmount) || (chargeAmount > 0 && amountRefunded >= chargeAmount)
        guard full, let next = OrderTransitions.next(from: order.status, to: .refunded) else {
            if !full {
                try AuditLog(connection, prefix: prefix).record(subject: "order", id: order.sessionID, action: "partially_refunded", before: nil,
                                                                after: String(amountRefunded), actor: actor, now: now)
            }
            return
        }
        try orders.setStatus(order.id, next, now: now)
        let audit = AuditLog(connection, prefix: prefix)
        try audit.record(subject: "order", id: order.sessionID, action: "status", before: order.status.rawValue, after: next.rawValue, actor: actor, now: now)
        // A refunded license answers `refunded` to every check, so no site stays licensed.
        // (A license email still waiting in the outbox for it must not be sent: the
        // deliverer checks the license's status before sending.)
        let licenses = LicenseRepository(connection, prefix: prefix)
        for license in try licenses.licenses(orderID: order.id) where license.status != .refunded {
            try licenses.update(license.id, status: .refunded, expiresAt: license.expiresAt, now: now)
            try audit.record(subject: "license", id: String(license.id), action: "status", before: license.status.rawValue, after: "refunded", actor: actor, now: now)
            let released = try ActivationRepository(connection, prefix: prefix).removeAll(licenseID: license.id)
            if released > 0 {
                try audit.record(subject: "license", id: String(license.id), action: "activations_released", before: nil, after: String(released),
                                 actor: actor, detail: "refund", now: now)
            }
        }
        let grants = GrantRepository(connection, prefix: prefix)
        for grant in try grants.grants(orderID: order.id) {
            // Credits come back from whoever received them: the customer on the grant's own
            // ledger entry (an order's customer may have been filled in after the grant).
            if let credits = grant.credits,
               let customerID = try grants.creditRecipient(source: "order", sourceID: "\(order.id):\(grant.line)") ?? order.customerID,
               try grants.appendCredits(customerID: customerID, delta: -credits, kind: "reversal", source: "refund", sourceID: "\(order.id):\(grant.line)", now: now) {
                try audit.record(subject: "credits", id: String(customerID), action: "reversed", before: nil, after: String(-credits), actor: actor,
                                 detail: "order \(order.sessionID) line \(grant.line)", now: now)
            }
            try Outbox(connection, prefix: prefix).enqueue(
                kind: "notification", dedupeKey: "grant.revoked:\(order.id):\(grant.line)", recipient: nil,
                payload: String(decoding: JSONValue.object([
                    "type": "grant.revoked", "reason": "refunded", "order": .string(order.sessionID), "line": .int(Int64(grant.line)),
                    "product": .string(grant.product), "license_id": grant.licenseID.map(JSONValue.int) ?? .null,
                ]).serialized(), as: UTF8.self), sealed: nil, now: now)
        }
    }

    /// A dispute opened or changed: licenses are suspended while it is open, reinstated when
    /// it is won, disabled when it is lost. Refunded licenses stay refunded.
    func disputeChanged(_ order: OrderRepository.Order, status: String) throws {
        let target: LicenseRepository.Status
        let from: Set<LicenseRepository.Status>
        switch status {
        case "won", "warning_closed":
            target = .active
            from = [.suspended]
        case "lost":
            target = .disabled
            from = [.active, .suspended, .expired]
        default:  // warning_needs_response, warning_under_review, needs_response, under_review
            target = .suspended
            from = [.active]
        }
        let licenses = LicenseRepository(connection, prefix: prefix)
        let audit = AuditLog(connection, prefix: prefix)
        for license in try licenses.licenses(orderID: order.id) where from.contains(license.status) {
            try licenses.update(license.id, status: target, expiresAt: license.expiresAt, now: now)
            try audit.record(subject: "license", id: String(license.id), action: "status", before: license.status.rawValue, after: target.rawValue,
                             actor: actor, detail: "dispute \(status)", now: now)
        }
    }

    /// A subscription changed: its licenses follow (`SubscriptionPolicy`). Refunded,
    /// disabled and suspended licenses are left as they are.
    func subscriptionChanged(_ subscription: String, status: String, periodEnd: Date?) throws {
        guard let rule = SubscriptionPolicy.license(forSubscription: status, periodEnd: periodEnd, now: now,
                                                    graceDays: context.configuration.licensing.pastDueGraceDays) else { return }
        let licenses = LicenseRepository(connection, prefix: prefix)
        let audit = AuditLog(connection, prefix: prefix)
        for license in try licenses.licenses(subscription: subscription) where license.status == .active || license.status == .expired {
            guard license.status != rule.status || license.expiresAt != rule.expiresAt else { continue }
            try licenses.update(license.id, status: rule.status, expiresAt: rule.expiresAt, now: now)
            try audit.record(subject: "license", id: String(license.id), action: "subscription", before: license.status.rawValue, after: rule.status.rawValue,
                             actor: actor, detail: "subscription \(subscription) \(status)", now: now)
        }
    }
}
