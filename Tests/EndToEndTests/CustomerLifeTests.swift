import Foundation
import Handlers
import MariaStore
import TestSupport
import Testing

/// Customers' lives over months, through nginx with signed events in Stripe's current shapes:
/// what a customer holds — credits, seats, tiers, license validity, notifications — follows
/// exactly what they paid. Each life is played in order with checks after each step, then in
/// random orders Stripe may deliver it in (every order with PFC_LONG_TESTS=1), each ending in
/// the same state.
@Suite("Customer lives over months", .serialized)
struct CustomerLifeTests {
    static let day: Int64 = 86_400
    static let plan = "price_1SnKmonthlyLic0001"  // pro-monthly: 2 sites per unit, 50 credits per paid period
    let shop: ShopStack
    let start = Int64(Date().timeIntervalSince1970)

    init() throws {
        shop = try ShopStack(extraLicensing: "churn_limit = 100\n")
    }

    /// One step of a life: what Stripe sends.
    struct Step {
        let label: String
        let body: [UInt8]
    }

    func deliver(_ step: Step) throws {
        let reply = try shop.deliver(step.body)
        #expect(
            reply.status == 200 && ["processed", "duplicate"].contains(reply.json["status"] as? String ?? ""), "\(step.label): \(reply.status) \(reply.text)")
    }

    /// Plays `steps` in random orders (all of them with PFC_LONG_TESTS=1), each from a clean
    /// database, and runs `check` on each end state.
    func everyOrder(of steps: [Step], seed: UInt64, check: (String) throws -> Void) throws {
        let orders: [[Step]]
        if ProcessInfo.processInfo.environment["PFC_LONG_TESTS"] == "1" && steps.count <= 7 {
            orders = Self.permutations(steps)
        } else {
            var random = SplitMix(state: seed)
            orders = (0..<20).map { _ in steps.shuffled(using: &random) }
        }
        for order in orders {
            try shop.reset()
            for step in order { try deliver(step) }
            try check(order.map(\.label).joined(separator: " → "))
        }
    }

    static func permutations(_ items: [Step]) -> [[Step]] {
        guard items.count > 1 else { return [items] }
        return items.indices.flatMap { i -> [[Step]] in
            var rest = items
            let first = rest.remove(at: i)
            return permutations(rest).map { [first] + $0 }
        }
    }

    struct SplitMix: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    // MARK: What a customer holds

    func balance(_ email: String) throws -> (balance: Int, debt: Int) {
        let reply = try shop.api("GET", "/credits/balance?customer=\(email.replacingOccurrences(of: "@", with: "%40"))")
        return (reply.json["balance"] as? Int ?? -1, reply.json["debt"] as? Int ?? -1)
    }

    func license() throws -> String? {
        try shop.value(
            "SELECT CONCAT(product, ' limit ', activation_limit, ' ', status, ' ', COALESCE(DATE_FORMAT(expires_at, '%Y-%m-%d %H:%i'), 'never')) AS v FROM pfc_licenses"
        )
    }

    func date(_ unix: Int64) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm"
        return formatter.string(from: Date(timeIntervalSince1970: Double(unix)))
    }

    /// What the key of the life's license answers for a site.
    func verdict(_ action: String, _ key: String, _ site: String) throws -> String {
        let reply = try shop.form("/license/\(action)", [("license_key", key), ("site_url", site)])
        return reply.json["status"] as? String ?? "\(reply.status) \(reply.text)"
    }

    /// A subscription's checkout, and Stripe's answer when asked about the subscription.
    func subscriptionCheckout(_ life: String, events: StripeEventBuilder, state: [UInt8]) throws -> Step {
        let object = try JSONSerialization.jsonObject(with: Data(state)) as? [String: Any]
        let data = object?["data"] as? [String: Any]
        shop.stripe.on(
            "GET", "/v1/subscriptions/sub_\(life)",
            .json(200, String(decoding: try JSONSerialization.data(withJSONObject: data?["object"] ?? [:]), as: UTF8.self)))
        shop.stripe.lineItems(session: "cs_test_\(life)", [(Self.plan, 1)])
        return Step(
            label: "checkout",
            body: try events.checkoutCompleted(
                session: "cs_test_\(life)", mode: "subscription", customer: "cus_\(life)",
                email: "\(life)@example.com", amount: 900, subscription: "sub_\(life)"))
    }

    // MARK: Lives

    @Test func upgradeToTenSeatsThenDowngrade() throws {
        let events = StripeEventBuilder(start: start, prefix: "up")
        let period = (start, start + 30 * Self.day)
        let created = try events.subscription(
            "customer.subscription.created", id: "sub_up", customer: "cus_up", status: "active", price: Self.plan,
            quantity: 1, period: period)
        let invoice = try events.invoice(
            id: "in_up0", subscription: "sub_up", customer: "cus_up", email: "up@example.com", reason: "subscription_create",
            amountPaid: 900, lines: [.init(price: Self.plan, quantity: 1, amount: 900, period: period)])
        let upgraded = try events.subscription(
            "customer.subscription.updated", id: "sub_up", customer: "cus_up", status: "active", price: Self.plan,
            quantity: 10, period: period)
        let downgraded = try events.subscription(
            "customer.subscription.updated", id: "sub_up", customer: "cus_up", status: "active", price: Self.plan,
            quantity: 1, period: period)
        let checkout = try subscriptionCheckout("up", events: events, state: downgraded)
        let steps = [
            checkout, Step(label: "created", body: created), Step(label: "invoice", body: invoice),
            Step(label: "10 seats", body: upgraded), Step(label: "1 seat", body: downgraded),
        ]
        let validUntil = date(period.1 + 7 * Self.day)

        // In order, with what a plugin sees at each step.
        for step in steps.prefix(3) { try deliver(step) }
        #expect(try license() == "pro-monthly limit 2 active \(validUntil)")
        #expect(try balance("up@example.com") == (50, 0))
        let key = try #require(try shop.emailedKeys().first)
        try deliver(steps[3])
        #expect(try license() == "pro-monthly limit 20 active \(validUntil)")
        for index in 0..<12 { #expect(try verdict("activate", key, "https://site\(index).example.org") == "active") }
        try deliver(steps[4])
        #expect(try license() == "pro-monthly limit 2 active \(validUntil)")
        // Above the new limit: the twelve seats stay, a thirteenth is refused…
        #expect(try verdict("verify", key, "https://site11.example.org") == "active")
        #expect(try verdict("activate", key, "https://new.example.org") == "no_activations_left")
        // …until enough are deactivated.
        for index in 1..<12 { #expect(try verdict("deactivate", key, "https://site\(index).example.org") == "site_inactive") }
        #expect(try verdict("activate", key, "https://new.example.org") == "active")
        #expect(try shop.count("outbox", "kind = 'notification' AND payload LIKE '%subscription.changed%' AND payload LIKE '%\"quantity\":10%'") == 1)

        try everyOrder(of: steps, seed: 1) { (order: String) throws in
            #expect(try license() == "pro-monthly limit 2 active \(validUntil)", "\(order)")
            #expect(try balance("up@example.com") == (50, 0), "\(order)")
            #expect(try shop.value("SELECT CONCAT(status, ' ', quantity) AS v FROM pfc_subscriptions") == "active 1", "\(order)")
        }
    }

    @Test func freeTrialThenTheFirstPaidPeriod() throws {
        let events = StripeEventBuilder(start: start, prefix: "trial")
        let trial = (start, start + 14 * Self.day)
        let paid = (trial.1, trial.1 + 30 * Self.day)
        let trialing = try events.subscription(
            "customer.subscription.created", id: "sub_trial", customer: "cus_trial", status: "trialing",
            price: Self.plan, quantity: 1, period: trial)
        let trialInvoice = try events.invoice(
            id: "in_trial0", subscription: "sub_trial", customer: "cus_trial", email: "trial@example.com",
            reason: "subscription_create", amountPaid: 0,
            lines: [.init(price: Self.plan, quantity: 1, amount: 0, period: trial)])
        let active = try events.subscription(
            "customer.subscription.updated", id: "sub_trial", customer: "cus_trial", status: "active",
            price: Self.plan, quantity: 1, period: paid)
        let firstPaid = try events.invoice(
            id: "in_trial1", subscription: "sub_trial", customer: "cus_trial", email: "trial@example.com",
            reason: "subscription_cycle", amountPaid: 900, lines: [.init(price: Self.plan, quantity: 1, amount: 900, period: paid)])
        let checkout = try subscriptionCheckout("trial", events: events, state: trialing)
        let steps = [
            checkout, Step(label: "trialing", body: trialing), Step(label: "$0 invoice", body: trialInvoice),
            Step(label: "active", body: active), Step(label: "paid invoice", body: firstPaid),
        ]

        for step in steps.prefix(3) { try deliver(step) }
        // The trial: the license works until the trial ends (plus the grace), no credits yet.
        #expect(try license() == "pro-monthly limit 2 active \(date(trial.1 + 7 * Self.day))")
        #expect(try balance("trial@example.com") == (0, 0))
        for step in steps.suffix(2) { try deliver(step) }
        #expect(try license() == "pro-monthly limit 2 active \(date(paid.1 + 7 * Self.day))")
        #expect(try balance("trial@example.com") == (50, 0))

        try everyOrder(of: steps, seed: 2) { (order: String) throws in
            #expect(try license() == "pro-monthly limit 2 active \(date(paid.1 + 7 * Self.day))", "\(order)")
            #expect(try balance("trial@example.com") == (50, 0), "\(order)")
        }
    }

    @Test func quantityToggledWithProrationsGrantsOnlyPaidPeriods() throws {
        let events = StripeEventBuilder(start: start, prefix: "toggle")
        let first = (start, start + 30 * Self.day)
        let second = (first.1, first.1 + 30 * Self.day)
        let rest = (start + 10 * Self.day, first.1)
        func invoice(_ id: String, _ reason: String, _ paid: Int64, _ lines: [StripeEventBuilder.InvoiceLine]) throws -> [UInt8] {
            try events.invoice(
                id: id, subscription: "sub_toggle", customer: "cus_toggle", email: "toggle@example.com", reason: reason, amountPaid: paid, lines: lines)
        }
        func subscription(_ type: String, _ quantity: Int, _ period: (Int64, Int64)) throws -> [UInt8] {
            try events.subscription(type, id: "sub_toggle", customer: "cus_toggle", status: "active", price: Self.plan, quantity: quantity, period: period)
        }
        let steps = [
            Step(label: "created", body: try subscription("customer.subscription.created", 1, first)),
            Step(
                label: "first invoice",
                body: try invoice("in_toggle0", "subscription_create", 900, [.init(price: Self.plan, quantity: 1, amount: 900, period: first)])),
            Step(label: "3 seats", body: try subscription("customer.subscription.updated", 3, first)),
            Step(
                label: "proration up",
                body: try invoice(
                    "in_toggle1", "subscription_update", 1200,
                    [
                        .init(price: Self.plan, quantity: 3, amount: 1800, proration: true, period: rest),
                        .init(price: Self.plan, quantity: 1, amount: -600, proration: true, period: rest),
                    ])),
            Step(label: "1 seat", body: try subscription("customer.subscription.updated", 1, first)),
            Step(
                label: "proration down",
                body: try invoice(
                    "in_toggle2", "subscription_update", 0,
                    [
                        .init(price: Self.plan, quantity: 1, amount: 600, proration: true, period: rest),
                        .init(price: Self.plan, quantity: 3, amount: -1800, proration: true, period: rest),
                    ])),
            Step(
                label: "renewal",
                body: try invoice("in_toggle3", "subscription_cycle", 900, [.init(price: Self.plan, quantity: 1, amount: 900, period: second)])),
        ]
        for step in steps.prefix(6) { try deliver(step) }
        // Toggling the quantity in the portal earns nothing: only the paid period's 50.
        #expect(try balance("toggle@example.com") == (50, 0))
        try deliver(steps[6])
        #expect(try balance("toggle@example.com") == (100, 0))

        try everyOrder(of: steps, seed: 3) { (order: String) throws in
            #expect(try balance("toggle@example.com") == (100, 0), "\(order)")
            #expect(try shop.value("SELECT CAST(quantity AS CHAR) AS v FROM pfc_subscriptions") == "1", "\(order)")
        }
    }

    @Test func aRefundedRenewalTakesBackItsPeriod() throws {
        let events = StripeEventBuilder(start: start, prefix: "refund")
        let first = (start - 30 * Self.day, start)
        let second = (start, start + 30 * Self.day)
        let steps = [
            Step(
                label: "created",
                body: try events.subscription(
                    "customer.subscription.created", id: "sub_renew", customer: "cus_renew", status: "active",
                    price: Self.plan, quantity: 1, period: first)),
            Step(
                label: "first invoice",
                body: try events.invoice(
                    id: "in_renew0", subscription: "sub_renew", customer: "cus_renew", email: "renew@example.com",
                    reason: "subscription_create", amountPaid: 900,
                    lines: [.init(price: Self.plan, quantity: 1, amount: 900, period: first)])),
            Step(
                label: "renewed",
                body: try events.subscription(
                    "customer.subscription.updated", id: "sub_renew", customer: "cus_renew", status: "active",
                    price: Self.plan, quantity: 1, period: second)),
            Step(
                label: "renewal invoice",
                body: try events.invoice(
                    id: "in_renew1", subscription: "sub_renew", customer: "cus_renew", email: "renew@example.com",
                    reason: "subscription_cycle", amountPaid: 900,
                    lines: [.init(price: Self.plan, quantity: 1, amount: 900, period: second)])),
            Step(label: "renewal refunded", body: try events.chargeRefunded(paymentIntent: "pi_for_in_renew1", amount: 900, refunded: 900)),
        ]
        let checkout = try subscriptionCheckout("renew", events: events, state: steps[2].body)
        let life = [checkout] + steps
        for step in life.prefix(5) { try deliver(step) }
        #expect(try balance("renew@example.com") == (100, 0))
        #expect(try license() == "pro-monthly limit 2 active \(date(second.1 + 7 * Self.day))")
        try deliver(life[5])
        // The refunded period's credits are gone, and the license ends where that period began.
        #expect(try balance("renew@example.com") == (50, 0))
        #expect(try license() == "pro-monthly limit 2 expired \(date(second.0))")
        #expect(try shop.count("outbox", "kind = 'refund_email' AND recipient = 'renew@example.com' AND payload LIKE '%9.00 USD%'") == 1)

        try everyOrder(of: life, seed: 4) { (order: String) throws in
            #expect(try balance("renew@example.com") == (50, 0), "\(order)")
            #expect(try license() == "pro-monthly limit 2 expired \(date(second.0))", "\(order)")
        }
    }

    @Test func aLostRenewalDisputeTakesBackCreditsAlreadySpentAsADebt() throws {
        let events = StripeEventBuilder(start: start, prefix: "dispute")
        let first = (start - 60 * Self.day, start - 30 * Self.day)
        let second = (start - 30 * Self.day, start)
        let third = (start, start + 30 * Self.day)
        func invoice(_ id: String, _ reason: String, _ period: (Int64, Int64)) throws -> [UInt8] {
            try events.invoice(
                id: id, subscription: "sub_disp", customer: "cus_disp", email: "disp@example.com", reason: reason, amountPaid: 900,
                lines: [.init(price: Self.plan, quantity: 1, amount: 900, period: period)])
        }
        let steps = [
            Step(
                label: "created",
                body: try events.subscription(
                    "customer.subscription.created", id: "sub_disp", customer: "cus_disp", status: "active",
                    price: Self.plan, quantity: 1, period: first)),
            Step(label: "first invoice", body: try invoice("in_disp0", "subscription_create", first)),
            Step(label: "renewal invoice", body: try invoice("in_disp1", "subscription_cycle", second)),
            Step(
                label: "dispute opened",
                body: try events.dispute(
                    "charge.dispute.created", id: "du_disp", paymentIntent: "pi_for_in_disp1", amount: 900,
                    status: "needs_response")),
            Step(
                label: "dispute lost",
                body: try events.dispute(
                    "charge.dispute.closed", id: "du_disp", paymentIntent: "pi_for_in_disp1", amount: 900,
                    status: "lost")),
        ]
        for step in steps.prefix(3) { try deliver(step) }
        #expect(try balance("disp@example.com") == (100, 0))
        let spent = try shop.api("POST", "/credits/consume", json: #"{"customer":"disp@example.com","amount":100,"idempotency_key":"spend-all"}"#)
        #expect(spent.json["balance"] as? Int == 0)
        for step in steps.suffix(2) { try deliver(step) }
        // The lost period's 50 credits were already spent: the account owes them.
        #expect(try balance("disp@example.com") == (0, 50))
        let refused = try shop.api("POST", "/credits/consume", json: #"{"customer":"disp@example.com","amount":1,"idempotency_key":"in-debt"}"#)
        #expect(refused.status == 402)
        #expect(refused.text.contains("owes 50"))
        // The next paid period pays the debt first.
        try deliver(Step(label: "next renewal", body: try invoice("in_disp2", "subscription_cycle", third)))
        #expect(try balance("disp@example.com") == (0, 0))

        try everyOrder(of: steps, seed: 5) { (order: String) throws in
            #expect(try balance("disp@example.com") == (50, 0), "\(order)")
            #expect(try shop.count("credit_ledger", "source = 'dispute' AND delta = -50") == 1, "\(order)")
        }
    }

    @Test func aRefundThatFailsGivesEverythingBack() throws {
        let events = StripeEventBuilder(start: start, prefix: "fail")
        shop.stripe.lineItems(session: "cs_test_failrefund", [("price_1Credits", 1)])
        let steps = [
            Step(
                label: "paid",
                body: try events.checkoutCompleted(
                    session: "cs_test_failrefund", mode: "payment", customer: "cus_fail",
                    email: "fail@example.com", amount: 500, paymentIntent: "pi_failrefund")),
            Step(label: "refunded", body: try events.chargeRefunded(paymentIntent: "pi_failrefund", amount: 500, refunded: 500)),
            Step(
                label: "refund created",
                body: try events.refund(
                    "refund.created", id: "re_fail", paymentIntent: "pi_failrefund", amount: 500,
                    status: "pending")),
            Step(
                label: "refund failed",
                body: try events.refund(
                    "refund.failed", id: "re_fail", paymentIntent: "pi_failrefund", amount: 500,
                    status: "failed")),
        ]
        for step in steps.prefix(2) { try deliver(step) }
        #expect(try shop.value("SELECT status AS v FROM pfc_orders") == "refunded")
        #expect(try balance("fail@example.com") == (0, 0))
        #expect(try shop.count("outbox", "kind = 'notification' AND dedupe_key LIKE 'grant.revoked:%'") == 1)
        for step in steps.suffix(2) { try deliver(step) }
        // The money never went back: the order is paid and the credits are the buyer's again.
        #expect(try shop.value("SELECT CONCAT(status, ' ', amount_refunded) AS v FROM pfc_orders") == "paid 0")
        #expect(try balance("fail@example.com") == (100, 0))
        #expect(try shop.count("outbox", "kind = 'notification' AND dedupe_key LIKE 'grant.restored:%'") == 1)

        try everyOrder(of: steps, seed: 6) { (order: String) throws in
            #expect(try shop.value("SELECT status AS v FROM pfc_orders") == "paid", "\(order)")
            #expect(try balance("fail@example.com") == (100, 0), "\(order)")
        }
    }
}
