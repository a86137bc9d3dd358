import Foundation
import Handlers
import MariaStore
import TestSupport

/// The shop with its admin page: admins made with `payments-fcgi admin add`, a browser's
/// sign-in over HTTP, metrics open to 127.0.0.1, and a month of sales seeded through signed
/// events — one-off orders in USD and EUR, a partial refund, a lost dispute, a subscription.
struct AdminShop {
    static let password = "correct horse battery staple"
    let shop: ShopStack

    /// `extraSettings`: more INI text (sections of their own, such as `[admin]`).
    init(extraSettings: String = "") throws {
        shop = try ShopStack(extraLicensing: "\n[metrics]\nallowed_addresses = 127.0.0.1\n" + extraSettings)
    }

    /// The same shop with two database accounts, as README's deployment recommends: the owner
    /// migrates; the service's own account has the grants `payments-fcgi grants` prints (the
    /// audit log only readable and appendable).
    init(serviceAccount user: String) throws {
        let owner = try MariaDBServer.shared.createDatabase("audit")
        let service = ConnectionOptions(socket: owner.socket, user: user, password: user, database: owner.database)
        shop = try ShopStack(
            extraLicensing: "\n[metrics]\nallowed_addresses = 127.0.0.1\n", database: service,
            owner: (
                owner,
                { service in
                    let root = try Connection(options: MariaDBServer.shared.rootOptions)
                    defer { root.close() }
                    // The account's name is the test's own constant; nothing here comes from outside.
                    try root.execute("CREATE USER IF NOT EXISTS '\(user)'@'localhost' IDENTIFIED BY '\(user)'")
                    for statement in ServiceGrants.statements(database: service.database, prefix: .standard, user: user, host: "localhost") ?? [] {
                        try root.execute(statement)
                    }
                }
            ))
    }

    var port: Int { shop.port }

    /// Adds an admin (the password on standard input, as an operator pipes it); returns the
    /// TOTP secret when `totp`.
    @discardableResult
    func addAdmin(_ email: String, totp: Bool = false) throws -> [UInt8]? {
        let result = try ChildProcess.run(
            TestPaths.binary, ["admin", "add", "--config", shop.config, email] + (totp ? ["--totp"] : []),
            input: Self.password + "\n")
        guard result.status == 0 else { throw TestSupportError("admin add failed: \(result.output)") }
        guard totp else { return nil }
        guard let uri = result.output.split(separator: "\n").first(where: { $0.hasPrefix("otpauth://") }),
            let secret = uri.split(separator: "secret=").last?.split(separator: "&").first, let bytes = Base32.decode(String(secret))
        else {
            throw TestSupportError("no otpauth URI in: \(result.output)")
        }
        return bytes
    }

    /// The `name=value` pairs of every Set-Cookie of a reply.
    static func cookies(_ reply: HTTPClient.Reply) -> [String: String] {
        var cookies: [String: String] = [:]
        for (name, value) in reply.headers where name.lowercased() == "set-cookie" {
            let pair = value.split(separator: ";").first.map(String.init) ?? ""
            let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
            if parts.count == 2 { cookies[parts[0]] = parts[1] }
        }
        return cookies
    }

    /// The value of hidden input `name` in a page.
    static func hidden(_ name: String, in html: String) -> String? {
        guard let range = html.range(of: "name=\"\(name)\" value=\"") else { return nil }
        return String(html[range.upperBound...].prefix { $0 != "\"" })
    }

    /// Signs in as a browser does (the form's cookie and token, then the POST): the session
    /// cookie header and the page's CSRF token, or the refusal.
    /// `device`: the remembered-browser cookie's value a browser that signed in before sends.
    func signIn(_ email: String, password: String = AdminShop.password, code: String = "", device: String? = nil) throws -> (
        reply: HTTPClient.Reply, cookie: String?
    ) {
        let form = try shop.page("/admin/sign-in")
        guard let token = Self.cookies(form)["pfc_admin_signin"] else { throw TestSupportError("no sign-in cookie: \(form.status)") }
        let reply = try shop.form(
            "/admin/sign-in", [("csrf", token), ("email", email), ("password", password), ("code", code)],
            cookie: "pfc_admin_signin=\(token)" + (device.map { "; pfc_admin_device=\($0)" } ?? ""))
        return (reply, Self.cookies(reply)["pfc_admin"].map { "pfc_admin=\($0)" })
    }

    /// A page's CSRF token (every signed-in page carries it in the header's forms).
    func csrf(cookie: String) throws -> String {
        let page = try shop.page("/admin/events", cookie: cookie)
        guard let token = Self.hidden("csrf", in: page.text) else { throw TestSupportError("no csrf token: \(page.status) \(page.text.prefix(300))") }
        return token
    }

    // MARK: A month of sales

    /// One seeded sale: days before today (UTC), currency, amount (minor units).
    struct Sale {
        let daysAgo: Int
        let currency: String
        let amount: Int64
        let session: String
        let intent: String
        let email: String
    }

    static let sales: [Sale] = [
        (0, "USD"), (1, "USD"), (3, "USD"), (7, "USD"), (12, "USD"), (20, "USD"), (29, "USD"),
        (0, "EUR"), (2, "EUR"), (5, "EUR"), (15, "EUR"), (25, "EUR"),
    ].enumerated().map { index, sale in
        let tag = "\(sale.1.lowercased())\(index)"
        return Sale(
            daysAgo: sale.0, currency: sale.1, amount: sale.1 == "USD" ? 4900 : 1900, session: "cs_test_seed_\(tag)",
            intent: "pi_seed_\(tag)", email: "buyer.\(tag)@example.com")
    }
    /// The USD sale 3 days ago is refunded 15.00; the EUR sale 5 days ago lost a dispute.
    static let refunded = (intent: "pi_seed_usd2", amount: Int64(1500))
    static let disputed = (intent: "pi_seed_eur9", amount: Int64(1900))
    /// A monthly subscription paid today: 9.00 USD for 30 days.
    static let subscriptionAmount: Int64 = 900
    static let plan = "price_1SnKmonthlyLic0001"

    static func day(_ daysAgo: Int) -> String {
        BusinessCalendar.dayLabel(BusinessCalendar.adding(days: -daysAgo, to: BusinessCalendar.startOfDay(Date())))
    }

    /// Delivers the month's events and dates each order on its day.
    func seedMonth() throws {
        let start = Int64(Date().timeIntervalSince1970) - 3600
        let events = StripeEventBuilder(start: start, prefix: "seed")
        for sale in Self.sales {
            let price = sale.currency == "USD" ? "price_1Pro" : "price_1Credits"
            shop.stripe.lineItems(session: sale.session, [(price, 1, Int(sale.amount))])
            let body = try ShopStack.completed(
                sale.session,
                [
                    "currency": sale.currency.lowercased(), "amount_total": sale.amount, "amount_subtotal": sale.amount,
                    "customer": "cus_\(sale.intent.dropFirst(3))",
                    "customer_details": [
                        "email": sale.email, "name": "Name Of \(sale.intent)",
                        "address": ["line1": "1 \(sale.intent) Street", "city": "Springfield", "country": "US"],
                    ],
                    "payment_intent": sale.intent, "client_reference_id": NSNull(),
                    // What a shop's form might put in metadata: the buyer's name and address.
                    "metadata": ["buyer_name": "Name Of \(sale.intent)", "buyer_address": "1 \(sale.intent) Street"],
                ])
            try expectProcessed(try shop.deliver(body), sale.session)
        }
        try expectProcessed(
            try shop.deliver(try events.chargeRefunded(paymentIntent: Self.refunded.intent, amount: 4900, refunded: Self.refunded.amount)), "refund")
        try expectProcessed(
            try shop.deliver(
                try events.dispute(
                    "charge.dispute.created", id: "dp_seed", paymentIntent: Self.disputed.intent,
                    amount: Self.disputed.amount, status: "needs_response")), "dispute")
        try expectProcessed(
            try shop.deliver(
                try events.dispute(
                    "charge.dispute.closed", id: "dp_seed", paymentIntent: Self.disputed.intent,
                    amount: Self.disputed.amount, status: "lost")), "dispute lost")
        // The subscription: checkout, Stripe's subscription, its first invoice.
        let period = (start - 86_400, start - 86_400 + 30 * 86_400)
        let state = try events.subscription(
            "customer.subscription.created", id: "sub_seed", customer: "cus_subscriber", status: "active",
            price: Self.plan, quantity: 1, period: period)
        let object = try JSONSerialization.jsonObject(with: Data(state)) as? [String: Any]
        let data = object?["data"] as? [String: Any]
        shop.stripe.on(
            "GET", "/v1/subscriptions/sub_seed", .json(200, String(decoding: try JSONSerialization.data(withJSONObject: data?["object"] ?? [:]), as: UTF8.self))
        )
        shop.stripe.lineItems(session: "cs_test_seed_subscription", [(Self.plan, 1)])
        try expectProcessed(
            try shop.deliver(
                try events.checkoutCompleted(
                    session: "cs_test_seed_subscription", mode: "subscription", customer: "cus_subscriber",
                    email: "subscriber@example.com", amount: Self.subscriptionAmount, subscription: "sub_seed")), "subscription checkout")
        try expectProcessed(try shop.deliver(state), "subscription")
        try expectProcessed(
            try shop.deliver(
                try events.invoice(
                    id: "in_seed0", subscription: "sub_seed", customer: "cus_subscriber", email: "subscriber@example.com",
                    reason: "subscription_create", amountPaid: Self.subscriptionAmount,
                    lines: [.init(price: Self.plan, quantity: 1, amount: Self.subscriptionAmount, period: period)])), "invoice")
        // An event whose shape cannot be read is kept with its payload (for a replay): it
        // names the first EUR buyer, their name and address.
        let broken = try ShopStack.completed(
            "cs_test_seed_broken",
            [
                "amount_total": "not a number",
                "customer_details": [
                    "email": Self.sales[7].email, "name": "Name Of \(Self.sales[7].intent)",
                    "address": ["line1": "1 \(Self.sales[7].intent) Street"],
                ],
            ])
        let refused = try shop.deliver(broken)
        guard refused.status >= 500 else { throw TestSupportError("the broken event was answered \(refused.status) \(refused.text)") }
        // Each order on its own day (events arrive now; the month is what they stand for).
        let store = Store(options: shop.web.stack.database, prefix: .standard, logger: .init(label: "test"))
        defer { store.close() }
        try store.withConnection { connection in
            for sale in Self.sales {
                try connection.execute("UPDATE pfc_orders SET created_at = ? WHERE session_id = ?", [Self.day(sale.daysAgo) + " 00:30:00", sale.session])
            }
        }
    }

    func expectProcessed(_ reply: HTTPClient.Reply, _ label: String) throws {
        guard reply.status == 200, ["processed", "duplicate"].contains(reply.json["status"] as? String ?? "") else {
            throw TestSupportError("\(label): \(reply.status) \(reply.text)")
        }
    }

    /// What the seeded month must show, worked out by hand from `sales`: per currency, over
    /// the sales made on or after `firstDay` (a `YYYY-MM-DD`).
    struct Expected: Equatable {
        var sales: Int64 = 0
        var gross: Int64 = 0
        var refunds: Int64 = 0
        var disputes: Int64 = 0
        var net: Int64 { gross - refunds - disputes }
    }

    static func expected(since firstDay: String) -> [String: Expected] {
        var totals: [String: Expected] = [:]
        for sale in sales where day(sale.daysAgo) >= firstDay {
            totals[sale.currency, default: Expected()].sales += 1
            totals[sale.currency, default: Expected()].gross += sale.amount
            if sale.intent == refunded.intent { totals[sale.currency, default: Expected()].refunds += refunded.amount }
            if sale.intent == disputed.intent { totals[sale.currency, default: Expected()].disputes += disputed.amount }
        }
        // The subscription's invoice, paid today.
        totals["USD", default: Expected()].sales += 1
        totals["USD", default: Expected()].gross += subscriptionAmount
        return totals
    }
}
