import Foundation
import TestSupport
import Testing

/// Apache drops `Authorization` before FastCGI unless told to pass it (`CGIPassAuth` for
/// mod_proxy_fcgi, `FcgidPassHeader` for mod_fcgid): every call WordPress makes with its API
/// key, through both shipped Apache configurations, against the local fake Stripe.
@Suite("API keys through Apache (apache/payments-proxy-fcgi.conf, apache/payments-fcgid.conf)")
struct APIKeyThroughApacheTests {
    static let apiKey = ShopStack.apiKey
    static let adminKey = ShopStack.adminKey

    /// A migrated database with the catalogue, and the configuration both modes run with.
    static func shop(stripe: FakeStripeServer, directory: String) throws -> String {
        let config = directory + "/payments.ini"
        try ServiceProcess.writeConfiguration(
            at: config, database: try MariaDBServer.shared.createDatabase("apikey"), listen: directory + "/payments.sock",
            extra: WebhookEndToEndTests.settings(stripe: stripe) + """

                [api]
                key = \(apiKey)
                admin_key = \(adminKey)

                [checkout]
                allowed_origins = https://shop.example.com
                public_url = https://shop.example.com/payments
                return_url = https://shop.example.com/account

                [server]
                liveness_listen = \(directory)/liveness.sock
                """)
        let catalogue = directory + "/catalogue.ini"
        try WebhookEndToEndTests.catalogue.write(toFile: catalogue, atomically: true, encoding: .utf8)
        for arguments in [["migrate"], ["catalog", "import", catalogue]] {
            let run = try ChildProcess.run(TestPaths.binary, arguments + ["--config", config])
            guard run.status == 0 else { throw TestSupportError("\(arguments): \(run.output)") }
        }
        return config
    }

    static func fakeStripe() throws -> FakeStripeServer {
        let stripe = try FakeStripeServer()
        stripe.lineItems(session: WebhookEndToEndTests.cardSession, [("price_1Pro", 1)])
        stripe.lineItems(session: "cs_test_a1UejXx8ebIdTzFolicVypUAZpOBVkoQKDbaarXoPlPVtj8p0zujPEEhjT", [("price_1Credits", 1)])
        stripe.answersSubscriptionQuestions(subscription: try StripeFixtures.object("customer.subscription.created"))
        return stripe
    }

    @Test func everyKeyedCallThroughProxyFCGI() throws {
        let stripe = try Self.fakeStripe()
        let directory = TestPaths.scratchDirectory("apikey")
        let config = try Self.shop(stripe: stripe, directory: directory)
        let service = try ChildProcess(TestPaths.binary, ["serve", "--config", config], logPath: directory + "/service.log")
        defer { service.stop() }
        #expect(TestPaths.waitUntil(seconds: 10) { FastCGIClient.canConnect(directory + "/payments.sock") }, "\(service.output)")
        let apache = try ApacheServer(.proxyFCGI(socket: directory + "/payments.sock"))
        try playEveryKeyedCall(port: apache.port, stripe: stripe)
    }

    @Test func everyKeyedCallThroughFcgid() throws {
        let stripe = try Self.fakeStripe()
        let config = try Self.shop(stripe: stripe, directory: TestPaths.scratchDirectory("apikey"))
        let apache = try ApacheServer(.fcgid(configPath: config))
        defer { apache.stop() }
        try playEveryKeyedCall(port: apache.port, stripe: stripe)
    }

    func playEveryKeyedCall(port: Int, stripe: FakeStripeServer) throws {
        func call(_ method: String, _ path: String, json: String = "", key: String? = Self.apiKey, idempotency: String? = nil) throws -> HTTPClient.Reply {
            var headers: [(String, String)] = json.isEmpty ? [] : [("Content-Type", "application/json")]
            if let key { headers.append(("Authorization", "Bearer \(key)")) }
            if let idempotency { headers.append(("Idempotency-Key", idempotency)) }
            return try HTTPClient.send(port: port, method: method, path: "/payments" + path, headers: headers, body: Array(json.utf8))
        }
        // What the calls read: a paid license order with its payment, and a credit pack.
        for fixture in ["checkout.session.completed.payment_card", "payment_intent.succeeded", "pay-rails.checkout.session.completed.subscription.2020-08-27"] {
            let body = try StripeFixtures.load(fixture)
            let delivered = try HTTPClient.send(
                port: port, method: "POST", path: "/payments/stripe/webhook",
                headers: [
                    ("Content-Type", "application/json"), ("Stripe-Signature", StripeFixtures.signature(body, secret: WebhookEndToEndTests.secret)),
                ], body: body)
            #expect(delivered.json["status"] as? String == "processed", "\(fixture): \(delivered.text)")
        }

        let balance = try call("GET", "/credits/balance?customer=chris%40gorails.com")
        #expect(balance.status == 200, "\(balance.text)")
        #expect(balance.json["balance"] as? Int == 100)

        let consumed = try call(
            "POST", "/credits/consume", json: #"{"customer":"chris@gorails.com","amount":5,"idempotency_key":"wp-job-1"}"#, idempotency: "wp-job-1")
        #expect(consumed.status == 200, "\(consumed.text)")
        #expect(consumed.json["balance"] as? Int == 95)

        stripe.on("POST", "/v1/checkout/sessions", .json(200, #"{"id":"cs_test_keyed","url":"https://checkout.stripe.com/c/pay/cs_test_keyed"}"#))
        let session = try call(
            "POST", "/checkout/session", json: #"{"product":"pro-license","customer_email":"buyer@example.com"}"#, idempotency: "wc-checkout-1")
        #expect(session.status == 200, "the keyed JSON answer, not the form's 303: \(session.status) \(session.text)")
        #expect(session.json["id"] as? String == "cs_test_keyed")
        #expect(session.json["url"] as? String == "https://checkout.stripe.com/c/pay/cs_test_keyed")

        stripe.on("POST", "/v1/billing_portal/sessions", .json(200, #"{"id":"bps_1","url":"https://billing.stripe.com/p/session/bps_1"}"#))
        let portal = try call("POST", "/billing/portal", json: #"{"customer":"buyer@example.com"}"#)
        #expect(portal.status == 200, "\(portal.text)")
        #expect(portal.json["url"] as? String == "https://billing.stripe.com/p/session/bps_1")

        stripe.on("GET", "/v1/prices/price_1Pro", .json(200, #"{"id":"price_1Pro","object":"price","unit_amount":4900,"currency":"usd"}"#))
        stripe.on("POST", "/v1/payment_intents", .json(200, #"{"id":"pi_keyed","object":"payment_intent","client_secret":"pi_keyed_secret_abc"}"#))
        let intent = try call(
            "POST", "/payments/intents", json: #"{"product":"pro-license","quantity":2,"customer_email":"e@example.com"}"#, idempotency: "wc-intent-1")
        #expect(intent.status == 200, "\(intent.text)")
        #expect(intent.json["client_secret"] as? String == "pi_keyed_secret_abc")
        #expect(intent.json["amount"] as? Int == 9800)

        let history = try call("GET", "/payments?customer=buyer%40example.com")
        #expect(history.status == 200, "\(history.text)")
        #expect((history.json["payments"] as? [[String: Any]])?.count == 1)

        let payment = try call("GET", "/payments/pi_3SnKpayCard0000001")
        #expect(payment.status == 200, "\(payment.text)")
        #expect(payment.json["order"] as? String == WebhookEndToEndTests.cardSession)

        stripe.on("POST", "/v1/refunds", .json(200, #"{"id":"re_keyed","object":"refund","status":"succeeded","amount":1000}"#))
        let refund = try call(
            "POST", "/refunds", json: #"{"payment_intent":"pi_3SnKpayCard0000001","amount":1000}"#, key: Self.adminKey, idempotency: "wp-refund-1")
        #expect(refund.status == 200, "\(refund.text)")
        #expect(refund.json["id"] as? String == "re_keyed")

        // And the same calls with no key, or a wrong one, are refused.
        let keyed: [(String, String, String)] = [
            ("GET", "/credits/balance?customer=chris%40gorails.com", ""),
            ("POST", "/credits/consume", #"{"customer":"chris@gorails.com","amount":5,"idempotency_key":"wp-job-2"}"#),
            ("POST", "/billing/portal", #"{"customer":"buyer@example.com"}"#),
            ("POST", "/payments/intents", #"{"product":"pro-license"}"#),
            ("GET", "/payments?customer=buyer%40example.com", ""),
            ("GET", "/payments/pi_3SnKpayCard0000001", ""),
            ("POST", "/refunds", #"{"payment_intent":"pi_3SnKpayCard0000001","amount":1000}"#),
        ]
        for (method, path, json) in keyed {
            for key in [nil, "wrong-key-0123456789abcdefghij"] {
                let refused = try call(method, path, json: json, key: key, idempotency: "refused-1")
                #expect(refused.status == 401, "\(method) \(path) with key \(key ?? "none"): \(refused.status) \(refused.text)")
                #expect(refused.errorCode == "unauthorized")
            }
        }
        #expect(
            try call("POST", "/checkout/session", json: #"{"product":"pro-license"}"#, key: "wrong-key-0123456789abcdefghij", idempotency: "x").status == 401)
        #expect(try call("POST", "/refunds", json: #"{"payment_intent":"pi_3SnKpayCard0000001"}"#, key: Self.apiKey, idempotency: "y").status == 401)
        #expect(stripe.requests.filter { $0.path == "/v1/refunds" }.count == 1)
    }
}
