import Foundation
import Handlers
import MariaStore
import TestSupport
import Testing

/// What the shop's site reads about a customer, and the commands that keep this service in
/// step with Stripe, against the fake Stripe answering its list and retrieve calls.
@Suite("Customers and keeping in step with Stripe")
struct KeepingInStepTests {
    static let plan = "price_1SnKmonthlyLic0001"
    let shop: ShopStack
    let start = Int64(Date().timeIntervalSince1970)

    init() throws {
        shop = try ShopStack()
    }

    func deliver(_ body: [UInt8]) throws {
        let reply = try shop.deliver(body)
        #expect(reply.json["status"] as? String == "processed", "\(reply.text)")
    }

    @Test func theShopReadsWhatACustomerHolds() throws {
        let events = StripeEventBuilder(start: start, prefix: "holds")
        let period = (start, start + 30 * 86_400)
        // A subscription, a one-off license activated at checkout on the site the buyer typed, credits.
        shop.stripe.lineItems(session: "cs_test_holds_sub", [(Self.plan, 1)])
        shop.stripe.on(
            "GET", "/v1/subscriptions/sub_holds",
            .json(
                200,
                try StripeFixtures.object("customer.subscription.created")
                    .replacingOccurrences(of: "sub_1SnKmonthly00000001", with: "sub_holds")))
        try deliver(
            try events.subscription(
                "customer.subscription.created", id: "sub_holds", customer: "cus_holds", status: "active", price: Self.plan,
                quantity: 2, period: period))
        try deliver(
            try events.checkoutCompleted(
                session: "cs_test_holds_sub", mode: "subscription", customer: "cus_holds", email: "holds@example.com",
                amount: 1800, subscription: "sub_holds"))
        shop.stripe.lineItems(session: "cs_test_holds_lic", [("price_1Pro", 1)])
        try deliver(
            try ShopStack.completed(
                "cs_test_holds_lic",
                [
                    "customer": "cus_holds", "customer_details": ["email": "Holds@Example.com"],
                    "metadata": ["site_url": "https://www.typed-site.example.org/"],
                ]))
        shop.stripe.lineItems(session: "cs_test_holds_credits", [("price_1Credits", 2)])
        try deliver(try ShopStack.completed("cs_test_holds_credits", ["customer": "cus_holds", "customer_details": ["email": "holds@example.com"]]))
        shop.stripe.on(
            "GET", "/v1/customers/cus_holds/payment_methods",
            .json(
                200,
                """
                {"object":"list","has_more":false,"data":[{"id":"pm_1","object":"payment_method","type":"card",
                 "card":{"brand":"visa","last4":"4242","exp_month":12,"exp_year":2030}}]}
                """))

        let reply = try shop.api("GET", "/customers/holds%40example.com")
        #expect(reply.status == 200, "\(reply.text)")
        let json = reply.json
        #expect(json["stripe_customers"] as? [String] == ["cus_holds"])
        let credits = try #require(json["credits"] as? [String: Any])
        #expect(credits["balance"] as? Int == 200)
        let subscriptions = try #require(json["subscriptions"] as? [[String: Any]])
        #expect(subscriptions.count == 1)
        #expect(subscriptions.first?["plan"] as? String == "Pro monthly")
        #expect(subscriptions.first?["quantity"] as? Int == 2)
        #expect(subscriptions.first?["status"] as? String == "active")
        #expect(subscriptions.first?["days_left"] as? Int == 30)
        let licenses = try #require(json["licenses"] as? [[String: Any]])
        #expect(Set(licenses.compactMap { $0["product"] as? String }) == ["pro-monthly", "pro-license"])
        let perpetual = try #require(licenses.first { $0["product"] as? String == "pro-license" })
        #expect(perpetual["seats_used"] as? Int == 1)  // the typed site, activated at checkout
        #expect(perpetual["activation_limit"] as? Int == 3)
        #expect(licenses.first { $0["product"] as? String == "pro-monthly" }?["activation_limit"] as? Int == 4)
        let cards = try #require(json["payment_methods"] as? [[String: Any]])
        #expect(cards.count == 1)
        #expect(cards.first?["brand"] as? String == "visa" && cards.first?["last4"] as? String == "4242")
        #expect(cards.first?["exp_month"] as? Int == 12 && cards.first?["exp_year"] as? Int == 2030)
        #expect(!reply.text.contains("PFC-"))  // never a key
        #expect(try shop.api("GET", "/customers/cus_holds").json["email"] as? String == "holds@example.com")
        #expect(try shop.api("GET", "/customers/nobody%40example.com").status == 404)
        #expect(try shop.api("GET", "/customers/holds%40example.com", key: nil).status == 401)
        // The site typed at checkout is active for the plugin at once.
        #expect(try shop.count("activations", "site = 'typed-site.example.org' AND kind = 'production'") == 1)
    }

    @Test func aFailedRenewalReachesTheBuyerWithoutAnInvoiceAddress() throws {
        let events = StripeEventBuilder(start: start, prefix: "failmail")
        shop.stripe.lineItems(session: "cs_test_failmail", [(Self.plan, 1)])
        try deliver(
            try events.checkoutCompleted(
                session: "cs_test_failmail", mode: "subscription", customer: "cus_failmail", email: "failmail@example.com",
                amount: 900, subscription: "sub_failmail"))
        try deliver(
            try events.invoice(
                "invoice.payment_failed", id: "in_failmail", subscription: "sub_failmail", customer: "cus_failmail", email: nil,
                reason: "subscription_cycle", amountPaid: 0, lines: []))
        #expect(try shop.count("outbox", "kind = 'payment_failed_email' AND recipient = 'failmail@example.com'") == 1)
    }

    @Test func invoiceLinesPastTheFirstPageCount() throws {
        let events = StripeEventBuilder(start: start, prefix: "pages")
        let period = (start, start + 30 * 86_400)
        var first =
            try JSONSerialization.jsonObject(
                with: Data(
                    try events.invoice(
                        id: "in_pages", subscription: "sub_pages", customer: "cus_pages", email: "pages@example.com", reason: "subscription_create",
                        amountPaid: 2700,
                        lines: [.init(price: Self.plan, quantity: 1, amount: 900, period: period)]))) as? [String: Any] ?? [:]
        // The event holds one line and says there are more; Stripe's API has the other two.
        var data = first["data"] as? [String: Any] ?? [:]
        var object = data["object"] as? [String: Any] ?? [:]
        var lines = object["lines"] as? [String: Any] ?? [:]
        lines["has_more"] = true
        object["lines"] = lines
        data["object"] = object
        first["data"] = data
        let line = (lines["data"] as? [[String: Any]])?.first ?? [:]
        let more = (1...2).map { index -> [String: Any] in
            var next = line
            next["id"] = "il_in_pages_more\(index)"
            return next
        }
        shop.stripe.on(
            "GET", "/v1/invoices/in_pages/lines",
            .json(
                200,
                String(
                    decoding: try JSONSerialization.data(
                        withJSONObject: [
                            "object": "list", "has_more": false, "data": more,
                        ] as [String: Any]), as: UTF8.self)))
        try deliver(Array(try JSONSerialization.data(withJSONObject: first)))
        #expect(try shop.api("GET", "/credits/balance?customer=pages%40example.com").json["balance"] as? Int == 150)
        #expect(shop.stripe.requests("GET", "/v1/invoices/in_pages/lines").first?.query.contains("starting_after=il_in_pages_0") == true)
    }

    @Test func subscriptionsCheckRepairsWhatNoWebhookSaid() throws {
        // The events Stripe sent an hour ago; the check runs now.
        let events = StripeEventBuilder(start: start - 3600, prefix: "check")
        let period = (start, start + 30 * 86_400)
        let known = try events.subscription(
            "customer.subscription.created", id: "sub_check", customer: "cus_check", status: "active", price: Self.plan,
            quantity: 1, period: period)
        try deliver(known)
        // Stripe has moved on: past due, 3 seats, set to cancel — and one subscription we never heard of.
        func object(_ event: [UInt8]) throws -> String {
            let root = try JSONSerialization.jsonObject(with: Data(event)) as? [String: Any]
            return String(decoding: try JSONSerialization.data(withJSONObject: (root?["data"] as? [String: Any])?["object"] ?? [:]), as: UTF8.self)
        }
        let now = try object(
            try events.subscription(
                "customer.subscription.updated", id: "sub_check", customer: "cus_check", status: "past_due",
                price: Self.plan, quantity: 3, period: period, cancelAtPeriodEnd: true))
        let unknown = try object(
            try events.subscription(
                "customer.subscription.created", id: "sub_unknown", customer: "cus_other", status: "active",
                price: Self.plan, quantity: 1, period: period))
        shop.stripe.on("GET", "/v1/subscriptions", .json(200, #"{"object":"list","has_more":false,"data":[\#(now),\#(unknown)]}"#))
        let dry = try ChildProcess.run(TestPaths.binary, ["subscriptions", "check", "--dry-run", "--config", shop.config])
        #expect(dry.status == 0, "\(dry.output)")
        #expect(dry.output.contains("sub_check: status active → past_due; cancel at period end false → true; quantity 1 → 3"), "\(dry.output)")
        #expect(dry.output.contains("sub_unknown: not known here: active"))
        #expect(dry.output.contains("checked 2 subscriptions, 2 would change"))
        #expect(try shop.value("SELECT status AS v FROM pfc_subscriptions WHERE subscription = 'sub_check'") == "active")
        let run = try ChildProcess.run(TestPaths.binary, ["subscriptions", "check", "--config", shop.config])
        #expect(run.output.contains("2 changed"), "\(run.output)")
        #expect(
            try shop.value("SELECT CONCAT(status, ' ', quantity, ' ', cancel_at_period_end) AS v FROM pfc_subscriptions WHERE subscription = 'sub_check'")
                == "past_due 3 1")
        #expect(try shop.count("subscriptions") == 2)
        #expect(try shop.count("audit_log", "actor = 'operator:subscriptions-check'") >= 2)
        let again = try ChildProcess.run(TestPaths.binary, ["subscriptions", "check", "--config", shop.config])
        #expect(again.output.contains("checked 2 subscriptions, 0 changed"), "\(again.output)")
    }

    @Test func catalogSyncShowsDifferencesAndPushCreatesPrices() throws {
        shop.stripe.on(
            "GET", "/v1/prices",
            .json(
                200,
                """
                {"object":"list","has_more":false,"data":[
                 {"id":"price_1Pro","object":"price","active":true,"currency":"usd","unit_amount":4900,"recurring":null,"product":{"id":"prod_1","name":"Pro"}},
                 {"id":"price_1SnKmonthlyLic0001","object":"price","active":false,"currency":"usd","unit_amount":900,"recurring":{"interval":"month"},"product":{"id":"prod_2","name":"Monthly"}},
                 {"id":"price_1Stray","object":"price","active":true,"currency":"eur","unit_amount":1500,"recurring":null,"product":{"id":"prod_3","name":"Stray"}}]}
                """))
        let sync = try ChildProcess.run(TestPaths.binary, ["catalog", "sync", "--config", shop.config])
        #expect(sync.status == 0, "\(sync.output)")
        #expect(sync.output.contains("price_1Stray\tnot in the catalogue: Stray, 15.00 EUR"))
        #expect(sync.output.contains("price_1SnKmonthlyLic0001\tpro-monthly uses it, but it is inactive at Stripe"))
        #expect(sync.output.contains("price_1Credits\tcredit-pack names a price Stripe does not have"))
        #expect(!sync.output.contains("price_1Pro\t"))

        #expect(
            try ChildProcess.run(TestPaths.binary, ["catalog", "add", "starter", "--kind", "license", "--activation-limit", "1", "--config", shop.config])
                .status == 0)
        shop.stripe.on("POST", "/v1/products", .json(200, #"{"id":"prod_starter","object":"product","name":"starter"}"#))
        shop.stripe.on("POST", "/v1/prices", .json(200, #"{"id":"price_starter","object":"price","unit_amount":1900,"currency":"usd"}"#))
        let push = try ChildProcess.run(TestPaths.binary, ["catalog", "push", "starter", "--amount", "1900", "--currency", "usd", "--config", shop.config])
        #expect(push.status == 0, "\(push.output)")
        #expect(push.output.contains("starter: price_starter"))
        #expect(shop.stripe.requests("POST", "/v1/prices").last?.text == "product=prod_starter&unit_amount=1900&currency=usd")
        #expect(try shop.value("SELECT stripe_price_id AS v FROM pfc_products WHERE product = 'starter'") == "price_starter")
        let twice = try ChildProcess.run(TestPaths.binary, ["catalog", "push", "starter", "--amount", "1900", "--currency", "usd", "--config", shop.config])
        #expect(twice.status != 0)
        #expect(twice.output.contains("already has a Stripe price"))
    }
}
