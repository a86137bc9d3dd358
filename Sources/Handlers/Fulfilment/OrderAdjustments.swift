import Foundation
import MariaStore

/// What refunds, disputes and subscription changes do to an order's grants. Each function is
/// safe to run again (it only moves states forward, and ledger entries are keyed), which is
/// what lets the same code apply an event as it arrives *and* catch up when the order itself
/// arrives later.
///
/// Policies: a full refund refunds the order — its licenses answer `refunded` and lose their
/// sites, its credits are taken back, its entitlements revoked. A partial refund keeps the
/// grants (the operator may revoke a license); its email names the amount refunded. A dispute
/// suspends the licenses while open; lost, it disables them, takes back the credits and revokes
/// entitlements; won, it reinstates them. A refund that fails or is cancelled afterwards undoes
/// what it did.
struct OrderAdjustments {
    let context: Context
    let connection: Connection
    let actor: String

    private var prefix: TablePrefix { context.store.prefix }
    private var now: Date { context.clock.now }
    private var reversals: CreditReversals { CreditReversals(connection: connection, prefix: prefix, actor: actor, now: now) }

    /// Brings a paid order up to date with what is already known about its payment and
    /// subscription (events that arrived before the order did).
    func catchUp(_ order: OrderRepository.Order, subscription: String?) throws {
        if let paymentIntent = order.paymentIntent {
            if let payment = try PaymentRepository(connection, prefix: prefix).find(paymentIntent), payment.amountRefunded > 0 {
                // Refunds known to have failed gave nothing back.
                let undone = try RefundRepository(connection, prefix: prefix).undoneTotal(paymentIntent: paymentIntent)
                if payment.amountRefunded > undone {
                    try refund(order, amountRefunded: payment.amountRefunded - undone, chargeAmount: payment.amount)
                }
            }
            for dispute in try DisputeRepository(connection, prefix: prefix).disputes(paymentIntent: paymentIntent) {
                try disputeChanged(order, dispute: dispute.dispute, status: dispute.status)
            }
        }
        if let subscription, let state = try SubscriptionRepository(connection, prefix: prefix).find(subscription) {
            try SubscriptionAdjustments(context: context, connection: connection, actor: actor).follow(state)
        }
    }

    /// Records a refund; a full one refunds the order, its licenses and its credits.
    func refund(_ order: OrderRepository.Order, amountRefunded: Int64, chargeAmount: Int64) throws {
        let orders = OrderRepository(connection, prefix: prefix)
        if amountRefunded > order.amountRefunded {
            if let email = try CustomerRepository(connection, prefix: prefix).email(of: order.customerID) {
                // One confirmation per refunded total (a second partial refund gets its own),
                // naming what was refunded now, not the order's total.
                try Outbox(connection, prefix: prefix).enqueue(
                    kind: "refund_email", dedupeKey: "refund:\(order.id):\(amountRefunded)", recipient: email,
                    payload: String(
                        decoding: JSONValue.object([
                            "amount": .string(Money.format(amountRefunded - order.amountRefunded, currency: order.currency)),
                            "order": .string(order.sessionID),
                        ]).serialized(), as: UTF8.self), sealed: nil, now: now)
            }
            // A WooCommerce order paid through us gets the same refund, partial ones too.
            try WooCommerceOrders(context: context).orderRefunded(
                order, refundedBefore: order.amountRefunded, refundedNow: amountRefunded,
                connection: connection)
        }
        try orders.setRefunded(order.id, amount: amountRefunded, now: now)
        let full = amountRefunded >= max(order.amountTotal, chargeAmount) || (chargeAmount > 0 && amountRefunded >= chargeAmount)
        guard full, let next = OrderTransitions.next(from: order.status, to: .refunded) else {
            if !full {
                try AuditLog(connection, prefix: prefix).record(
                    subject: "order", id: order.sessionID, action: "partially_refunded", before: nil,
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
            try audit.record(
                subject: "license", id: String(license.id), action: "status", before: license.status.rawValue, after: "refunded", actor: actor, now: now)
            let released = try ActivationRepository(connection, prefix: prefix).removeAll(licenseID: license.id)
            if released > 0 {
                try audit.record(
                    subject: "license", id: String(license.id), action: "activations_released", before: nil, after: String(released),
                    actor: actor, detail: "refund", now: now)
            }
        }
        try revokeGrants(order, cause: .refund, reason: "refunded")
    }

    /// A refund counted earlier failed or was cancelled: the order's refunded total is now
    /// `amountRefunded`; a refunded order that is no longer fully refunded is paid again and
    /// gets back what the refund took.
    func refundUndone(_ order: OrderRepository.Order, amountRefunded: Int64) throws {
        let orders = OrderRepository(connection, prefix: prefix)
        try orders.setRefundedExactly(order.id, amount: amountRefunded, now: now)
        guard order.status == .refunded, amountRefunded < order.amountTotal else { return }
        try orders.setStatus(order.id, .paid, now: now)
        let audit = AuditLog(connection, prefix: prefix)
        try audit.record(
            subject: "order", id: order.sessionID, action: "status", before: "refunded", after: "paid", actor: actor,
            detail: "the refund failed or was cancelled", now: now)
        let licenses = LicenseRepository(connection, prefix: prefix)
        for license in try licenses.licenses(orderID: order.id) where license.status == .refunded {
            try licenses.update(license.id, status: .active, expiresAt: license.expiresAt, now: now)
            try audit.record(
                subject: "license", id: String(license.id), action: "status", before: "refunded", after: "active", actor: actor,
                detail: "refund undone", now: now)
        }
        try restoreGrants(order, cause: .refund, reason: "refund undone")
    }

    /// A dispute opened or changed: licenses are suspended while it is open, reinstated when
    /// it is won, disabled when it is lost (and the order's credits and entitlements go with
    /// them). Refunded licenses stay refunded.
    func disputeChanged(_ order: OrderRepository.Order, dispute: String, status: String) throws {
        let target: LicenseRepository.Status
        let from: Set<LicenseRepository.Status>
        switch status {
        case "won", "warning_closed":
            target = .active
            from = [.suspended, .disabled]
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
            try audit.record(
                subject: "license", id: String(license.id), action: "status", before: license.status.rawValue, after: target.rawValue,
                actor: actor, detail: "dispute \(status)", now: now)
        }
        if status == "lost" { try revokeGrants(order, cause: .dispute, reason: "dispute lost") }
        if status == "won" || status == "warning_closed" { try restoreGrants(order, cause: .dispute, reason: "dispute won") }
    }

    /// Takes back the order's credits and announces every grant revoked (once each).
    private func revokeGrants(_ order: OrderRepository.Order, cause: CreditReversals.Cause, reason: String) throws {
        for grant in try GrantRepository(connection, prefix: prefix).grants(orderID: order.id) {
            if let credits = grant.credits {
                try reversals.reverse(
                    cause, grantSource: "order", grantID: "\(order.id):\(grant.line)", credits: credits, fallbackCustomer: order.customerID,
                    detail: "order \(order.sessionID) line \(grant.line): \(reason)")
            }
            try notify("grant.revoked", order: order, grant: grant, reason: reason)
        }
    }

    /// Gives back what a reversal took and announces the grants restored.
    private func restoreGrants(_ order: OrderRepository.Order, cause: CreditReversals.Cause, reason: String) throws {
        for grant in try GrantRepository(connection, prefix: prefix).grants(orderID: order.id) {
            if grant.credits != nil {
                try reversals.restore(cause, grantID: "\(order.id):\(grant.line)", detail: "order \(order.sessionID) line \(grant.line): \(reason)")
            }
            try notify("grant.restored", order: order, grant: grant, reason: reason)
        }
    }

    /// Announces a grant revoked or restored — once per change: a grant revoked, restored and
    /// revoked again is announced three times, a repeated revocation once.
    private func notify(_ type: String, order: OrderRepository.Order, grant: GrantRepository.Grant, reason: String) throws {
        let outbox = Outbox(connection, prefix: prefix)
        let revoked = try outbox.count(dedupeKey: "grant.revoked:\(order.id):\(grant.line)")
        let restored = try outbox.count(dedupeKey: "grant.restored:\(order.id):\(grant.line)")
        // Revoking needs a grant in force; restoring, a revocation not yet undone.
        guard type == "grant.revoked" ? revoked == restored : revoked > restored else { return }
        try outbox.enqueue(
            kind: "notification", dedupeKey: "\(type):\(order.id):\(grant.line)" + (restored == 0 ? "" : "#\(restored)"), recipient: nil,
            payload: String(
                decoding: JSONValue.object([
                    "type": .string(type), "reason": .string(reason), "order": .string(order.sessionID), "line": .int(Int64(grant.line)),
                    "product": .string(grant.product), "license_id": grant.licenseID.map(JSONValue.int) ?? .null,
                    "entitlement": grant.entitlement.map(JSONValue.string) ?? .null,
                ]).serialized(), as: UTF8.self), sealed: nil, now: now)
    }
}
