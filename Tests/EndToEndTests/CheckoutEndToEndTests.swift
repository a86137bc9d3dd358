import Foundation
import Handlers
import MariaStore
import Testing
import TestSupport

/// Checkout, the success page, the portal, PaymentIntents, payment history, refunds,
/// reconciliation and WooCommerce, through nginx against the local fake Stripe.
@Suite("Checkout and payments through nginx")
struct CheckoutEndToEndTests {
    static let apiKey = "wp-api-key-0123456789abcdefghij"
    static let adminKey = "wp-admin-key-0123456789abcdefghij"
    static let cardSession = "cs_test_a1PayCardOneOffLicence0001xYz9Qw2Er4Ty6Ui8Op0As2Df4Gh6Jk8"
    let web: WebhookEndToEndTests
    let woo: LoopbackHTTPServer
    let wooRequests = Statuses()

    init() throws {
        let requests = wooRequests
        woo = try LoopbackHTTPServer { request in
            requests.add("\(request.method) \(request.path) \(request.headers["authorization"] ?? "") \(request.text)")
            return .json(200, #"{"id":77,"status":"processing"}"#)
        }
        web = try WebhookEndToEndTests(database: nil, extraSettings: """

            [api]
            key = \(Self.apiKey)
            admin_key = \(Self.adminKey)

            [checkout]
            allowed_origins = https://shop.example.com
            public_url = https://shop.example.com/payments
            return_url = https://shop.example.com/account
            max_quantity = 10

            [woocommerce]
            url = \(woo.baseURL)
            consumer_key = ck_test_123
            consumer_secret = cs_secret_456

            [delivery]
            interval_seconds = 1
            """)
    }

    var port: Int { web.nginx.port }
    var stripe: FakeStripeServer { web.stripe }

    func api(_ method: String, _ path: String, json: String? = nil, key: String? = apiKey, headers: [(String, String)] = []) throws -> HTTPClient.Reply {
        var all = headers
        if let key { all.append(("Authorization", "Bearer \(key)")) }
        if json != nil { all.append(("Content-Type", "application/json")) }
        return try HTTPClient.send(port: port, method: method, path: "/payments" + path, headers: all, body: Array((json ?? "").utf8))
    }

    /// The session object of a fixture, as `GET /v1/checkout/sessions/{id}` answers it.
    static func sessionJSON(_ fixture: String, _ changes: [String: Any] = [:]) throws -> String {
        let event = try JSONSerialization.jsonObject(with: Data(try StripeFixtures.load(fixture))) as! [String: Any]
        var object = (event["data"] as! [String: Any])["object"] as! [String: Any]
        for (key, value) in changes { object[key] = value }
        return String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self)
    }

    @Test func serverCreatesASessionWithStripesWireFormat() throws {
        stripe.on("POST", "/v1/checkout/sessions", .dropped,
                  .json(200, #"{"id":"cs_test_new","object":"checkout.session","url":"https://checkout.stripe.com/c/pay/cs_test_new"}"#))
        let reply = try api("POST", "/checkout/session", json: """
            {"product":"pro-license","quantity":2,"customer_email":"buyer@example.com","client_reference_id":"wc_order_77",
             "metadata":{"campaign":"black friday"},"success_url":"https://shop.example.com/thanks","cancel_url":"https://shop.example.com/cart"}
            """)
        #expect(reply.status == 200, "\(reply.text)")
        #expect(reply.json["id"] as? String == "cs_test_new")
        #expect(reply.json["url"] as? String == "https://checkout.stripe.com/c/pay/cs_test_new")
        let attempts = stripe.requests.filter { $0.path == "/v1/checkout/sessions" }
        #expect(attempts.count == 2)  // the dropped connection was retried…
        #expect(Set(attempts.map { $0.headers["idempotency-key"] ?? "" }).count == 1)  // …with the same key
        let sent = try #require(attempts.last)
        #expect(sent.headers["stripe-version"] == "2026-05-27.dahlia")
        #expect(sent.headers["idempotency-key"]?.hasPrefix("pfc-checkout-") == true)
        #expect(sent.form.map { "\($0.0)=\($0.1)" } == [
            "mode=payment", "line_items[0][price]=price_1Pro", "line_items[0][quantity]=2",
            "success_url=https://shop.example.com/thanks", "cancel_url=https://shop.example.com/cart",
            "metadata[product]=pro-license", "metadata[quantity]=2", "metadata[campaign]=black friday",
            "client_reference_id=wc_order_77", "customer_email=buyer@example.com",
        ])
        // The same request again reuses the key: Stripe answers with the same session.
        _ = try api("POST", "/checkout/session", json: """
            {"product":"pro-license","quantity":2,"customer_email":"buyer@example.com","client_reference_id":"wc_order_77",
             "metadata":{"campaign":"black friday"},"success_url":"https://shop.example.com/thanks","cancel_url":"https://shop.example.com/cart"}
            """)
        #expect(Set(stripe.requests.filter { $0.path == "/v1/checkout/sessions" }.map { $0.headers["idempotency-key"] ?? "" }).count == 1)
    }

    @Test func browserFormIsRedirectedToStripe() throws {
        stripe.on("POST", "/v1/checkout/sessions", .json(200, #"{"id":"cs_test_b","url":"https://checkout.stripe.com/c/pay/cs_test_b"}"#))
        let reply = try HTTPClient.send(port: port, method: "POST", path: "/payments/checkout/session",
                                        headers: [("Content-Type", "application/x-www-form-urlencoded")], body: Array("product=pro-monthly".utf8))
        #expect(reply.status == 303)
        #expect(reply.header("Location") == "https://checkout.stripe.com/c/pay/cs_test_b")
        let sent = try #require(stripe.requests.last)
        #expect(sent.form.first { $0.0 == "mode" }?.1 == "subscription")
        #expect(sent.form.first { $0.0 == "success_url" }?.1 == "https://shop.example.com/payments/checkout/success?session_id={CHECKOUT_SESSION_ID}")
        #expect(sent.form.first { $0.0 == "cancel_url" }?.1 == "https://shop.example.com/account")
        let bad = try HTTPClient.send(port: port, method: "POST", path: "/payments/checkout/session",
                                      headers: [("Content-Type", "application/x-www-form-urlencoded")], body: Array("product=nothing".utf8))
        #expect(bad.status == 400)
        #expect(bad.header("Content-Type") == "text/html; charset=utf-8")
        #expect(bad.text.contains("product nothing is not in the catalogue"))
    }

    @Test func badCheckoutRequestsAreRefusedBeforeStripe() throws {
        for (json, expected) in [
            (#"{"product":"nothing"}"#, "not in the catalogue"),
            (#"{"product":"pro-license","quantity":11}"#, "quantity must be a whole number from 1 to 10"),
            (#"{"product":"pro-license","success_url":"https://evil.example.net/x","cancel_url":"https://shop.example.com/c"}"#, "success_url must be on one of the allowed origins"),
            (#"{"product":"pro-license","metadata":{"note":"\#(String(repeating: "x", count: 501))"}}"#, "values at most 500"),
            (#"{"product":"pro-license","metadata":{"product":"free"}}"#, "metadata.product is reserved"),
        ] {
            let reply = try api("POST", "/checkout/session", json: json)
            #expect(reply.status == 400, "\(json)")
            #expect(reply.text.contains(expected), "\(reply.text)")
        }
        #expect(try api("POST", "/checkout/session", json: #"{"product":"pro-license"}"#, key: "wrong").status == 401)
        #expect(stripe.requests.filter { $0.path == "/v1/checkout/sessions" }.isEmpty)
        stripe.on("POST", "/v1/checkout/sessions", .json(400, #"{"error":{"type":"invalid_request_error","code":"resource_missing","message":"No such price: 'price_1Pro'","param":"line_items[0][price]"}}"#))
        let refused = try api("POST", "/checkout/session", json: #"{"product":"pro-license"}"#)
        #expect(refused.status == 502)
        #expect(refused.errorCode == "upstream_error")
        #expect(refused.text.contains("No such price"))
    }

    @Test func successPageFulfilsBeforeTheWebhookAndTheWebhookFindsItDone() throws {
        stripe.on("GET", "/v1/checkout/sessions/\(Self.cardSession)", .json(200, try Self.sessionJSON("checkout.session.completed.payment_card")))
        let page = try HTTPClient.send(port: port, path: "/payments/checkout/success?session_id=\(Self.cardSession)")
        #expect(page.status == 200)
        #expect(page.header("Content-Type") == "text/html; charset=utf-8")
        #expect(page.header("Cache-Control") == "no-store")
        let match = try #require(page.text.range(of: #"PFC(-[0-9A-Z]{7}){4}"#, options: .regularExpression))
        let key = String(page.text[match])
        #expect(page.text.contains("Activate"))
        #expect(page.text.contains("49.00 USD"))
        let webhook = try web.deliver(try StripeFixtures.load("checkout.session.completed.payment_card"))
        #expect(webhook.json["status"] as? String == "processed")
        #expect(try web.count("licenses") == 1)
        #expect(try web.count("grants") == 1)
        // The key shown is the key issued.
        let verdict = try HTTPClient.send(port: port, method: "POST", path: "/payments/license/verify",
                                          headers: [("Content-Type", "application/x-www-form-urlencoded")],
                                          body: Array("license_key=\(key)&site_url=example.com".utf8))
        #expect(verdict.json["status"] as? String == "site_inactive")
        // After the display window the page only says it was emailed, and offers a new key.
        let store = Store(options: web.stack.database, prefix: .standard, logger: .init(label: "t"))
        defer { store.close() }
        try store.unitOfWork { try $0.execute("UPDATE pfc_licenses SET display_until = '2020-01-01 00:00:00'") }
        let later = try HTTPClient.send(port: port, path: "/payments/checkout/success?session_id=\(Self.cardSession)")
        #expect(!later.text.contains(key))
        #expect(later.text.contains("was emailed to you"))
        let resend = try HTTPClient.send(port: port, method: "POST", path: "/payments/checkout/resend-key",
                                         headers: [("Content-Type", "application/x-www-form-urlencoded")],
                                         body: Array("session_id=\(Self.cardSession)&license=1".utf8))
        #expect(resend.status == 200)
        #expect(resend.text.contains("A new key is on its way"))
        #expect(try web.count("outbox", "kind = 'license_email'") == 2)
    }

    @Test func successPageForUnknownOrPendingSessions() throws {
        let missing = try HTTPClient.send(port: port, path: "/payments/checkout/success?session_id=cs_test_unknown")
        #expect(missing.status == 404)
        #expect(missing.text.contains("We could not find this purchase"))
        #expect(try HTTPClient.send(port: port, path: "/payments/checkout/success?session_id=<script>").status == 400)
        let pending = "cs_test_a1PayAsyncSepaLicence0002xYz9Qw2Er4Ty6Ui8Op0As2Df4Gh6Jk8"
        stripe.on("GET", "/v1/checkout/sessions/\(pending)", .json(200, try Self.sessionJSON("checkout.session.completed.payment_async_unpaid")))
        let processing = try HTTPClient.send(port: port, path: "/payments/checkout/success?session_id=\(pending)")
        #expect(processing.status == 200)
        #expect(processing.text.contains("Payment processing"))
    }

    @Test func portalIntentsHistoryAndRefunds() throws {
        _ = try web.deliver(try StripeFixtures.load("checkout.session.completed.payment_card"))
        _ = try web.deliver(try StripeFixtures.load("payment_intent.succeeded"))
        stripe.on("POST", "/v1/billing_portal/sessions", .json(200, #"{"id":"bps_1","url":"https://billing.stripe.com/p/session/bps_1"}"#))
        let portal = try api("POST", "/billing/portal", json: #"{"customer":"buyer@example.com"}"#)
        #expect(portal.json["url"] as? String == "https://billing.stripe.com/p/session/bps_1")
        #expect(stripe.requests.last?.text == "customer=cus_TnK8pQ2vXw4LmA&return_url=https%3A%2F%2Fshop.example.com%2Faccount")
        #expect(try api("POST", "/billing/portal", json: #"{"customer":"nobody@example.com"}"#).status == 404)

        stripe.on("GET", "/v1/prices/price_1Pro", .json(200, #"{"id":"price_1Pro","object":"price","unit_amount":4900,"currency":"usd"}"#))
        stripe.on("POST", "/v1/payment_intents", .json(200, #"{"id":"pi_new","object":"payment_intent","client_secret":"pi_new_secret_abc"}"#))
        let intent = try api("POST", "/payments/intents", json: #"{"product":"pro-license","quantity":3,"customer_email":"e@example.com"}"#)
        #expect(intent.json["client_secret"] as? String == "pi_new_secret_abc")
        #expect(intent.json["amount"] as? Int == 14700)
        #expect(stripe.requests.last?.form.map { "\($0.0)=\($0.1)" } == [
            "amount=14700", "currency=usd", "automatic_payment_methods[enabled]=true", "metadata[product]=pro-license",
            "metadata[quantity]=3", "receipt_email=e@example.com",
        ])

        let history = try api("GET", "/payments?customer=buyer%40example.com")
        let payments = try #require(history.json["payments"] as? [[String: Any]])
        #expect(payments.count == 1)
        #expect(payments[0]["status"] as? String == "paid")
        #expect(payments[0]["amount"] as? Int == 4900)
        let one = try api("GET", "/payments/pi_3SnKpayCard0000001")
        #expect(one.json["order"] as? String == Self.cardSession)
        #expect(one.json["payment_status"] as? String == "succeeded")
        #expect(one.json["history"] as? [String] == ["succeeded"])
        #expect(try api("GET", "/payments/pi_nothing").status == 404)

        stripe.on("POST", "/v1/refunds", .json(200, #"{"id":"re_1","object":"refund","status":"succeeded","amount":1000}"#))
        #expect(try api("POST", "/refunds", json: #"{"payment_intent":"pi_3SnKpayCard0000001","amount":1000}"#).status == 401)
        let refund = try api("POST", "/refunds", json: #"{"payment_intent":"pi_3SnKpayCard0000001","amount":1000,"reason":"requested_by_customer"}"#, key: Self.adminKey)
        #expect(refund.json["id"] as? String == "re_1")
        #expect(stripe.requests.last?.text == "payment_intent=pi_3SnKpayCard0000001&amount=1000&reason=requested_by_customer")
    }

    @Test func wooCommerceOrderIsMarkedPaidThenRefunded() throws {
        let body = try StripeFixtures.variant("checkout.session.completed.payment_card", object: ["client_reference_id": "wc_order_77"])
        #expect(try web.deliver(body).json["status"] as? String == "processed")
        #expect(TestPaths.waitUntil(seconds: 10) { wooRequests.all.count == 1 }, "\(web.stack.service.log)")
        let paid = try #require(wooRequests.all.first)
        #expect(paid.hasPrefix("PUT /wp-json/wc/v3/orders/77 Basic \(Data("ck_test_123:cs_secret_456".utf8).base64EncodedString()) "))
        #expect(paid.contains(#""set_paid":true"#) && paid.contains(#""status":"processing""#) && paid.contains("pi_3SnKpayCard0000001"))
        _ = try web.deliver(try StripeFixtures.load("charge.refunded.full"))
        #expect(TestPaths.waitUntil(seconds: 10) { wooRequests.all.count == 2 })
        #expect(wooRequests.all.last?.contains(#"{"status":"refunded"}"#) == true)
    }

    @Test func reconcileFulfilsWhatNoWebhookDid() throws {
        stripe.on("GET", "/v1/checkout/sessions", .json(200, """
            {"object":"list","has_more":false,"data":[\(try Self.sessionJSON("checkout.session.completed.payment_card")),
             \(try Self.sessionJSON("checkout.session.expired"))]}
            """))
        let run = try ChildProcess.run(TestPaths.binary, ["reconcile", "--config", web.stack.service.configPath])
        #expect(run.status == 0, "\(run.output)")
        #expect(run.output.contains("examined 2 sessions, fulfilled 1: \(Self.cardSession)"))
        #expect(try web.count("licenses") == 1)
        let query = try #require(stripe.requests.last { $0.path == "/v1/checkout/sessions" }?.query)
        #expect(query.hasPrefix("status=complete&created%5Bgte%5D="))
        let again = try ChildProcess.run(TestPaths.binary, ["reconcile", "--config", web.stack.service.configPath])
        #expect(again.output.contains("fulfilled 0"))
        #expect(try web.count("licenses") == 1)
    }
}
