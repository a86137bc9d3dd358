import Foundation
import MariaStore

/// What a refund or dispute of a subscription's payment does: the period it paid for loses
/// its credits (a full refund, a lost dispute), and when it was the latest period, the
/// subscription's licenses end where that period began. A refund that failed, or a dispute
/// won, gives it back. A partial refund of a period keeps its grants.
struct PeriodAdjustments {
    let context: Context
    let connection: Connection
    let actor: String

    private var prefix: TablePrefix { context.store.prefix }
    private var now: Date { context.clock.now }
    private var reversals: CreditReversals { CreditReversals(connection: connection, prefix: prefix, actor: actor, now: now) }

    /// `amountRefunded`: the invoice's payment's refunded total as it is now.
    func refundChanged(_ invoice: InvoiceRepository.Invoice, amountRefunded: Int64) throws {
        let invoices = InvoiceRepository(connection, prefix: prefix)
        if amountRefunded > invoice.amountRefunded, let email = try CustomerRepository(connection, prefix: prefix).email(of: invoice.customerID) {
            try Outbox(connection, prefix: prefix).enqueue(
                kind: "refund_email", dedupeKey: "refund:\(invoice.invoice):\(amountRefunded)", recipient: email,
                payload: String(
                    decoding: JSONValue.object([
                        "amount": .string(Money.format(amountRefunded - invoice.amountRefunded, currency: invoice.currency)),
                        "order": .string(invoice.invoice),
                    ]).serialized(), as: UTF8.self), sealed: nil, now: now)
        }
        try invoices.setRefunded(invoice.invoice, amount: amountRefunded)
        let full = invoice.amountPaid > 0 && amountRefunded >= invoice.amountPaid
        if full {
            try reverse(invoice, cause: .refund, reason: "refunded")
        } else if invoice.amountRefunded >= invoice.amountPaid, invoice.amountPaid > 0 {
            try restore(invoice, cause: .refund, reason: "refund undone")
        }
        try followSubscription(invoice)
    }

    func disputeChanged(_ invoice: InvoiceRepository.Invoice, dispute: String, status: String) throws {
        switch status {
        case "lost": try reverse(invoice, cause: .dispute, reason: "dispute lost")
        case "won", "warning_closed": try restore(invoice, cause: .dispute, reason: "dispute won")
        default: return
        }
        try followSubscription(invoice)
    }

    /// The period's credit grants (one per product), as `InvoiceEvents` keyed them.
    private func grants(_ invoice: InvoiceRepository.Invoice) throws -> [(sourceID: String, customerID: Int64, delta: Int64)] {
        guard let subscription = invoice.subscription, let start = invoice.periodStart else { return [] }
        return try CreditLedger(connection, prefix: prefix).entries(source: "subscription", sourceIDPrefix: InvoiceEvents.periodKey(subscription, start) + ":")
    }

    private func reverse(_ invoice: InvoiceRepository.Invoice, cause: CreditReversals.Cause, reason: String) throws {
        for grant in try grants(invoice) where grant.delta > 0 {
            try reversals.reverse(
                cause, grantSource: "subscription", grantID: grant.sourceID, credits: grant.delta, fallbackCustomer: grant.customerID,
                detail: "invoice \(invoice.invoice): \(reason)")
        }
    }

    private func restore(_ invoice: InvoiceRepository.Invoice, cause: CreditReversals.Cause, reason: String) throws {
        for grant in try grants(invoice) where grant.delta > 0 {
            try reversals.restore(cause, grantID: grant.sourceID, detail: "invoice \(invoice.invoice): \(reason)")
        }
    }

    private func followSubscription(_ invoice: InvoiceRepository.Invoice) throws {
        guard let subscription = invoice.subscription, let state = try SubscriptionRepository(connection, prefix: prefix).find(subscription) else { return }
        try SubscriptionAdjustments(context: context, connection: connection, actor: actor).follow(state)
    }
}
