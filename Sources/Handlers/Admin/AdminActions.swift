import Foundation
import MariaStore

/// `POST /admin/actions/{action}`: what an operator does from the admin page. Every action
/// needs the session, its CSRF token and the form's confirmation box, and is audited naming the
/// admin (`admin:EMAIL`) at the one place the change happens. After it, the browser is sent
/// back (303) with a short word of what was done — never personal data — in the URL.
enum AdminActions {
    static func perform(_ request: Request, _ context: Context) throws -> Response {
        let session = try AdminSession.require(request, context)
        let fields = try RequestFields(request).values
        try session.checkCSRF(fields)
        guard fields["confirm"] == "yes" else { throw AdminRefusal.invalid("Tick the confirmation box to go ahead.") }
        let action = request.pathParameters["action"] ?? ""
        let customer = fields["customer"].flatMap { Int64($0) }
        let back = customer.map { "/customers/\($0)" } ?? "/"
        do {
            switch action {
            case "refund": try refund(fields, session: session, context: context)
            case "fulfil": try fulfil(fields, session: session, context: context)
            case "revoke", "reinstate":
                let administration = LicenseAdministration(context: context, actor: session.actor)
                try administration.setStatus(try license(fields), action == "revoke" ? .disabled : .active, reason: try text(fields, "reason"))
            case "extend":
                guard let days = fields["days"].flatMap({ Int($0) }), (1...3650).contains(days) else { throw AdminRefusal.invalid("Days must be 1 to 3650.") }
                try LicenseAdministration(context: context, actor: session.actor).extend(try license(fields), days: days)
            case "deactivate-site":
                _ = try LicenseAdministration(context: context, actor: session.actor).deactivate(try license(fields), site: try text(fields, "site"))
            case "rotate-key":
                try LicenseKeyIssuer(context: context).rotate(licenseID: try license(fields), actor: session.actor)
            case "credits": try adjustCredits(fields, session: session, context: context)
            case "replay": return try replay(fields, session: session, context: context)
            case "retry-outbox":
                let store = context.store
                let id = fields["message"].flatMap { Int64($0) }
                try store.transaction { try Outbox($0, prefix: store.prefix).retry(id, actor: session.actor, now: context.clock.now) }
            case "erase":
                guard let customer else { throw AdminRefusal.invalid("No customer named.") }
                let report = try PersonalDataService(context: context).erase(customerID: customer, dryRun: false, actor: session.actor)
                // Never "erased" for nothing done.
                guard report.customers == 1 else { throw AdminRefusal.invalid("No such customer.") }
            default:
                throw AdminRefusal.notFound
            }
        } catch let error as APIError where error.status.code < 500 {
            throw AdminRefusal.invalid(error.message)
        }
        return AdminPage.redirect(back + "?done=" + action, context: context)
    }

    /// The sentence shown after `action` was done.
    static func doneMessage(_ action: String) -> String? {
        [
            "refund": "The refund was sent to Stripe; the order changes when Stripe confirms it.", "fulfil": "The order was fulfilled as far as it can be.",
            "revoke": "The license was revoked.", "reinstate": "The license was reinstated.", "extend": "The license was extended.",
            "deactivate-site": "The site was deactivated.", "rotate-key": "A new key was issued and emailed; the old one no longer works.",
            "credits": "The credit balance was changed.", "replay": "The event was replayed.", "retry-outbox": "The messages are queued again.",
            "erase": "The customer's personal data was erased.",
        ][action]
    }

    static func license(_ fields: [String: String]) throws -> Int64 {
        guard let id = fields["license"].flatMap({ Int64($0) }), id > 0 else { throw AdminRefusal.invalid("No license named.") }
        return id
    }

    static func text(_ fields: [String: String], _ name: String, maxLength: Int = 500) throws -> String {
        guard let value = fields[name]?.trimmingWhitespace(), !value.isEmpty, value.count <= maxLength else {
            throw AdminRefusal.invalid("\(name.capitalized) is required (at most \(maxLength) characters).")
        }
        return value
    }

    static func refund(_ fields: [String: String], session: AdminSession, context: Context) throws {
        let intent = try text(fields, "payment_intent", maxLength: 255)
        let key = try text(fields, "idempotency_key", maxLength: 64)
        let store = context.store
        // What was paid and what is left: an order's, or a subscription period's.
        let paid = try store.withConnection { connection -> (currency: String, left: Int64)? in
            if let order = try OrderRepository(connection, prefix: store.prefix).lock(paymentIntent: intent) {
                return (order.currency, order.amountTotal - order.amountRefunded)
            }
            return try InvoiceRepository(connection, prefix: store.prefix).lock(paymentIntent: intent).map { ($0.currency, $0.amountPaid - $0.amountRefunded) }
        }
        guard let paid else { throw AdminRefusal.invalid("No order or subscription period is paid by \(intent).") }
        var amount: Int64?
        if let typed = fields["amount"]?.trimmingWhitespace(), !typed.isEmpty {
            guard let minor = Money.minorUnits(decimal: typed, currency: paid.currency), minor > 0, minor <= paid.left else {
                throw AdminRefusal.invalid("The amount must be more than nothing and at most what is left of the payment, in \(paid.currency).")
            }
            amount = minor
        }
        _ = try Refunding(context: context).refund(
            paymentIntent: intent, amount: amount, reason: "requested_by_customer",
            callerKey: "admin-page:" + key, actor: session.actor)
    }

    static func fulfil(_ fields: [String: String], session: AdminSession, context: Context) throws {
        let sessionID = try text(fields, "session", maxLength: 255)
        _ = try CheckoutFulfilment(context: context, actor: session.actor).fulfil(sessionID: sessionID)
    }

    static func adjustCredits(_ fields: [String: String], session: AdminSession, context: Context) throws {
        guard let customer = fields["customer"].flatMap({ Int64($0) }) else { throw AdminRefusal.invalid("No customer named.") }
        guard let delta = fields["delta"].flatMap({ Int64($0.trimmingWhitespace()) }), delta != 0, abs(delta) <= 100_000_000 else {
            throw AdminRefusal.invalid("Credits must be a whole number other than 0 (negative to debit).")
        }
        let reason = try text(fields, "reason", maxLength: 200)
        let key = try text(fields, "idempotency_key", maxLength: 64)
        let store = context.store
        let now = context.clock.now
        try store.transaction { connection in
            let customers = CustomerRepository(connection, prefix: store.prefix)
            try customers.lock(customer)
            let grants = CreditLedger(connection, prefix: store.prefix)
            let before = try grants.creditBalance(customerID: customer)
            // The form's own key: submitting the same form twice changes the balance once.
            guard try grants.appendCredits(customerID: customer, delta: delta, kind: "adjustment", source: "admin", sourceID: key, now: now) else { return }
            try AuditLog(connection, prefix: store.prefix).record(
                subject: "credits", id: String(customer), action: delta > 0 ? "granted" : "debited",
                before: String(before), after: String(before + delta), actor: session.actor,
                detail: reason, now: now)
        }
    }

    static func replay(_ fields: [String: String], session: AdminSession, context: Context) throws -> Response {
        let id = try text(fields, "event", maxLength: 255)
        let store = context.store
        guard let payload = try store.withConnection({ try EventLedger($0, prefix: store.prefix).payload(of: id) }) else {
            throw AdminRefusal.invalid("Event \(id) has no stored payload (only failed events keep theirs).")
        }
        let outcome: String
        do {
            let event = try StripeEvent.parse(payload)
            outcome = try EventProcessor(context: context).process(event, rawBody: payload).rawValue
        } catch {
            outcome = "still failing"
        }
        try store.transaction { connection in
            try AuditLog(connection, prefix: store.prefix).record(
                subject: "event", id: id, action: "replayed", before: "failed", after: outcome,
                actor: session.actor, now: context.clock.now)
        }
        return AdminPage.redirect("/events?outcome=failed&done=replay", context: context)
    }
}
