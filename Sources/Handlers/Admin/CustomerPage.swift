import Foundation
import MariaStore

/// `GET /admin/customers/{id}`: everything about one customer, with the actions an operator
/// takes on it. Never a license key.
enum CustomerPage {
    static func show(_ request: Request, _ context: Context) throws -> Response {
        let session = try AdminSession.require(request, context)
        guard let id = Int64(request.pathParameters["id"] ?? ""), id > 0 else { throw AdminRefusal.notFound }
        let store = context.store
        let notice = request.queryItems.first { $0.name == "done" }.map { AdminActions.doneMessage($0.value) } ?? nil
        let view = try store.withConnection { connection -> CustomerView? in
            try CustomerView.load(id, connection: connection, prefix: store.prefix)
        }
        guard let view else { throw AdminRefusal.notFound }
        var html = notice.map { AdminPage.notice($0) } ?? ""
        html += overview(view, session: session, context: context)
        html += orders(view, session: session, context: context)
        html += licenses(view, session: session, context: context)
        html += credits(view, session: session, context: context)
        html += subscriptions(view)
        html += invoices(view, session: session, context: context)
        html += emails(view)
        html += audit(view)
        html += erase(view, session: session, context: context)
        return AdminPage.render("Customer \(id)", html, session: session, context: context)
    }

    static func overview(_ view: CustomerView, session: AdminSession, context: Context) -> String {
        var rows = [
            ["Email", AdminPage.escape(view.customer.email ?? "—")], ["Customer since", AdminPage.escape(view.customer.createdAt)],
            ["Stripe customers", AdminPage.escape(view.stripeCustomers.joined(separator: ", "))],
            ["Credit balance", "<span id=\"credit-balance\">\(view.balance)</span>"],
        ]
        if let erased = view.customer.anonymisedAt { rows.append(["Erased", AdminPage.escape(erased)]) }
        return "<table id=\"customer\"><tbody>" + rows.map { "<tr><th scope=\"row\">\($0[0])</th><td>\($0[1])</td></tr>" }.joined() + "</tbody></table>"
    }

    static func orders(_ view: CustomerView, session: AdminSession, context: Context) -> String {
        var html = "<h2>Orders and payments</h2>"
        html += AdminPage.table(
            ["Order", "Created", "Status", "Amount", "Refunded", "Payment", "Payment history", "Actions"],
            view.orders.map { item in
                let order = item.order
                var actions = ""
                if let intent = order.paymentIntent, order.amountRefunded < order.amountTotal, order.status == .paid || order.status == .refunded {
                    actions += refundForm(
                        intent: intent, left: order.amountTotal - order.amountRefunded, currency: order.currency, view: view,
                        session: session, context: context)
                }
                if order.attention != nil {
                    actions += AdminPage.actionForm(
                        "fulfil", label: "Fulfil", fields: [("session", order.sessionID), ("customer", String(view.customer.id))],
                        confirm: "Grant what is due", session: session, context: context)
                }
                let payment = item.payment.map { "\(AdminPage.escape($0.status))" + ($0.failureCode.map { " (\(AdminPage.escape($0)))" } ?? "") } ?? "—"
                return [
                    AdminPage.escape(order.sessionID), AdminPage.escape(order.createdAt.map(ISOTime.string) ?? ""),
                    AdminPage.escape(order.status.rawValue)
                        + (order.attention.map { "<br><span class=\"muted\">\(AdminPage.escape($0))</span>" } ?? ""),
                    AdminPage.money(order.amountTotal, order.currency), AdminPage.money(order.amountRefunded, order.currency),
                    AdminPage.escape(order.paymentIntent ?? "—") + "<br>" + payment, AdminPage.escape(item.history.joined(separator: " → ")), actions,
                ]
            }, numeric: [3, 4]
        ).replacingOccurrences(of: "<table>", with: "<table id=\"orders\">")
        return html
    }

    static func licenses(_ view: CustomerView, session: AdminSession, context: Context) -> String {
        var html = "<h2>Licenses</h2>"
        html += AdminPage.table(
            ["License", "Product", "Status", "Expires", "Seats", "Sites", "Actions"],
            view.licenses.map { item in
                let license = item.summary
                let idText = String(license.id)
                let customer = ("customer", String(view.customer.id))
                let sites = item.activations.map { activation in
                    AdminPage.escape(activation.site) + " <span class=\"muted\">(\(activation.kind.rawValue))</span> "
                        + AdminPage.actionForm(
                            "deactivate-site", label: "Deactivate", fields: [("license", idText), ("site", activation.site), customer],
                            confirm: "Free this seat", session: session, context: context)
                }.joined(separator: "<br>")
                var actions = ""
                if license.status == .active {
                    actions += AdminPage.actionForm(
                        "revoke", label: "Revoke", fields: [("license", idText), customer],
                        inputs: "<label>Reason <input name=\"reason\" size=\"14\" required></label> ",
                        confirm: "Stop this license", session: session, context: context)
                } else {
                    actions += AdminPage.actionForm(
                        "reinstate", label: "Reinstate", fields: [("license", idText), customer],
                        inputs: "<label>Reason <input name=\"reason\" size=\"14\" required></label> ",
                        confirm: "Make it work again", session: session, context: context)
                }
                if license.expiresAt != nil {
                    actions +=
                        "<br>"
                        + AdminPage.actionForm(
                            "extend", label: "Extend", fields: [("license", idText), customer],
                            inputs: "<label>Days <input name=\"days\" size=\"4\" value=\"30\" required></label> ",
                            confirm: "Move the expiry", session: session, context: context)
                }
                actions +=
                    "<br>"
                    + AdminPage.actionForm(
                        "rotate-key", label: "New key by email", fields: [("license", idText), customer],
                        confirm: "The current key stops working", session: session, context: context)
                return [
                    idText, AdminPage.escape(license.product + (license.tier.map { " (\($0))" } ?? "")), AdminPage.escape(license.status.rawValue),
                    AdminPage.escape(license.expiresAt.map(ISOTime.string) ?? "never"), "\(license.seatsUsed) / \(license.activationLimit)", sites, actions,
                ]
            }
        ).replacingOccurrences(of: "<table>", with: "<table id=\"licenses\">")
        return html
    }

    static func credits(_ view: CustomerView, session: AdminSession, context: Context) -> String {
        var html = "<h2>Credits</h2>"
        html += AdminPage.actionForm(
            "credits", label: "Apply",
            fields: [
                ("customer", String(view.customer.id)),
                ("idempotency_key", Hex.encode(context.random.bytes(16))),
            ],
            inputs: "<label>Credits (negative to debit) <input name=\"delta\" size=\"6\" required></label> "
                + "<label>Reason <input name=\"reason\" size=\"20\" required></label> ",
            confirm: "Change the balance", session: session, context: context)
        html += AdminPage.table(
            ["When", "Change", "Kind", "Source"],
            view.credits.map {
                [AdminPage.escape($0.createdAt), String($0.delta), AdminPage.escape($0.kind), AdminPage.escape($0.source)]
            }, numeric: [1]
        ).replacingOccurrences(of: "<table>", with: "<table id=\"credits\">")
        return html
    }

    static func subscriptions(_ view: CustomerView) -> String {
        "<h2>Subscriptions</h2>"
            + AdminPage.table(
                ["Subscription", "Plan", "Quantity", "Status", "Period ends", "Cancels at period end"],
                view.subscriptions.map {
                    [
                        AdminPage.escape($0.subscription), AdminPage.escape($0.product ?? "—"), $0.quantity.map(String.init) ?? "—",
                        AdminPage.escape($0.status),
                        AdminPage.escape($0.currentPeriodEnd.map(ISOTime.string) ?? "—"), $0.cancelAtPeriodEnd ? "yes" : "no",
                    ]
                })
    }

    static func invoices(_ view: CustomerView, session: AdminSession, context: Context) -> String {
        "<h2>Paid periods</h2>"
            + AdminPage.table(
                ["Invoice", "Subscription", "Period", "Paid", "Refunded", "Actions"],
                view.invoices.map { invoice in
                    var actions = ""
                    if let intent = invoice.paymentIntent, invoice.amountRefunded < invoice.amountPaid {
                        actions = refundForm(
                            intent: intent, left: invoice.amountPaid - invoice.amountRefunded, currency: invoice.currency, view: view,
                            session: session, context: context)
                    }
                    return [
                        AdminPage.escape(invoice.invoice), AdminPage.escape(invoice.subscription ?? "—"),
                        AdminPage.escape("\(invoice.periodStart?.prefix(10) ?? "?") → \(invoice.periodEnd?.prefix(10) ?? "?")"),
                        AdminPage.money(invoice.amountPaid, invoice.currency), AdminPage.money(invoice.amountRefunded, invoice.currency), actions,
                    ]
                }, numeric: [3, 4]
            ).replacingOccurrences(of: "<table>", with: "<table id=\"invoices\">")
    }

    /// A refund of (part of) what is left of a payment, under a key fixed when the page was
    /// drawn: the same form sent twice is one refund.
    static func refundForm(intent: String, left: Int64, currency: String, view: CustomerView, session: AdminSession, context: Context) -> String {
        AdminPage.actionForm(
            "refund", label: "Refund",
            fields: [
                ("payment_intent", intent), ("customer", String(view.customer.id)),
                ("idempotency_key", Hex.encode(context.random.bytes(16))),
            ],
            inputs: "<label>Amount (\(AdminPage.escape(currency)), empty = all \(AdminPage.money(left, currency))) "
                + "<input name=\"amount\" size=\"8\" inputmode=\"decimal\"></label> ",
            confirm: "Refund through Stripe", session: session, context: context)
    }

    static func emails(_ view: CustomerView) -> String {
        "<h2>Emails</h2>"
            + AdminPage.table(
                ["Message", "Kind", "Queued", "Delivered", "Given up", "Last error"],
                view.emails.map {
                    [
                        String($0.id), AdminPage.escape($0.kind), AdminPage.escape($0.createdAt), AdminPage.escape($0.deliveredAt ?? "—"),
                        AdminPage.escape($0.deadAt ?? "—"), AdminPage.escape($0.lastError ?? ""),
                    ]
                })
    }

    static func audit(_ view: CustomerView) -> String {
        "<h2>Audit trail</h2>"
            + AdminPage.table(
                ["When", "What", "Action", "Before → after", "By", "Detail"],
                view.audit.map {
                    [
                        AdminPage.escape($0.occurredAt), AdminPage.escape("\($0.subject) \($0.subjectID)"), AdminPage.escape($0.action),
                        AdminPage.escape("\($0.before ?? "—") → \($0.after ?? "—")"), AdminPage.escape($0.actor), AdminPage.escape($0.detail ?? ""),
                    ]
                }
            ).replacingOccurrences(of: "<table>", with: "<table id=\"audit\">")
    }

    static func erase(_ view: CustomerView, session: AdminSession, context: Context) -> String {
        guard view.customer.anonymisedAt == nil else { return "" }
        return
            "<h2>Personal data</h2><p>Erasing keeps orders, amounts, dates and working licenses, and removes the email address and everything that names this person.</p>"
            + AdminPage.actionForm(
                "erase", label: "Erase this customer's personal data", fields: [("customer", String(view.customer.id))],
                confirm: "I understand this cannot be undone", session: session, context: context)
    }
}

/// What the customer page shows, read in one unit of work.
struct CustomerView {
    struct OrderItem {
        let order: OrderRepository.Order
        let payment: PaymentRepository.Payment?
        let history: [String]
    }

    struct LicenseItem {
        let summary: LicenseRepository.Summary
        let activations: [ActivationRepository.Activation]
    }

    let customer: CustomerDirectory.Customer
    let stripeCustomers: [String]
    let orders: [OrderItem]
    let licenses: [LicenseItem]
    let balance: Int64
    let credits: [CustomerDirectory.CreditEntry]
    let subscriptions: [SubscriptionRepository.Subscription]
    let invoices: [CustomerDirectory.PaidPeriod]
    let emails: [CustomerDirectory.Email]
    let audit: [CustomerDirectory.AuditEntry]

    static func load(_ id: Int64, connection: Connection, prefix: TablePrefix) throws -> CustomerView? {
        let directory = CustomerDirectory(connection, prefix: prefix)
        guard let customer = try directory.find(id) else { return nil }
        let payments = PaymentRepository(connection, prefix: prefix)
        let activations = ActivationRepository(connection, prefix: prefix)
        return CustomerView(
            customer: customer, stripeCustomers: try CustomerRepository(connection, prefix: prefix).stripeCustomers(customerID: id),
            orders: try OrderRepository(connection, prefix: prefix).orders(customerID: id).map { order in
                OrderItem(
                    order: order, payment: try order.paymentIntent.flatMap { try payments.find($0) },
                    history: try order.paymentIntent.map { try payments.statusHistory($0) } ?? [])
            },
            licenses: try LicenseRepository(connection, prefix: prefix).summaries(customerID: id).map {
                LicenseItem(summary: $0, activations: try activations.all(licenseID: $0.id))
            },
            balance: try CreditLedger(connection, prefix: prefix).creditBalance(customerID: id), credits: try directory.credits(customerID: id),
            subscriptions: try SubscriptionRepository(connection, prefix: prefix).subscriptions(customerID: id),
            invoices: try directory.invoices(customerID: id),
            emails: try directory.emails(to: customer.email), audit: try directory.auditTrail(customerID: id))
    }
}
