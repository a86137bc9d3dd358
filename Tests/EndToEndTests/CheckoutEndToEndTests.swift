import Foundation
import Handlers
import MariaStore
import TestSupport
import Testing

/// Checkout, the success page, the portal, PaymentIntents, payment history, refunds,
/// reconciliation and WooCommerce, through nginx against the local fake Stripe and shop —
/// the paths as sellers and buyers use them. (Attacks on them: `SellingPathAttackTests`.)
@Suite("Checkout and payments through nginx")
struct CheckoutEndToEndTests {
    let shop: ShopStack

    init() throws {
        shop = try ShopStack()
    }

    var stripe: FakeStripeServer { shop.stripe }

    @Test func serverCreatesASessionWithStripesWireFormat() throws {
        stripe.on(
            "POST", "/v1/checkout/sessions", .dropped,
            .json(200, #"{"id":"cs_test_new","object":"checkout.session","url":"https://checkout.stripe.com/c/pay/cs_test_new"}"#))
        let request = """
            {"product":"pro-license","quantity":2,"customer_email":"buyer@example.com","client_reference_id":"wp_user_77",
             "metadata":{"campaign":"black friday"},"success_url":"https://shop.example.com/thanks","cancel_url":"https://shop.example.com/cart"}
            """
        let reply = try shop.api("POST", "/checkout/session", json: request)
        #expect(reply.status == 200, "\(reply.text)")
        #expect(reply.json["id"] as? String == "cs_test_new")
        #expect(reply.json["url"] as? String == "https://checkout.stripe.com/c/pay/cs_test_new")
        let attempts = stripe.requests.filter { $0.path == "/v1/checkout/sessions" }
        #expect(attempts.count == 2)  // the dropped connection was retried…
        #expect(Set(attempts.map { $0.headers["idempotency-key"] ?? "" }).count == 1)  // …with the same key
        let sent = try #require(attempts.last)
        #expect(sent.headers["stripe-version"] == "2026-05-27.dahlia")
        #expect(sent.headers["idempotency-key"]?.hasPrefix("pfc-checkout-") == true)
        #expect(
            sent.form.map { "\($0.0)=\($0.1)" } == [
                "mode=payment", "line_items[0][price]=price_1Pro", "line_items[0][quantity]=2",
                "success_url=https://shop.example.com/thanks", "cancel_url=https://shop.example.com/cart",
                "metadata[product]=pro-license", "metadata[quantity]=2", "metadata[campaign]=black friday",
                "client_reference_id=wp_user_77", "customer_email=buyer@example.com", "customer_creation=always",
            ])
        // What the session sells is recorded with it.
        #expect(try shop.value("SELECT CONCAT(product, ' x', quantity) AS v FROM pfc_checkouts WHERE stripe_id = 'cs_test_new'") == "pro-license x2")
        // The same request again (a retry with its own reference) reuses the key: one session.
        _ = try shop.api("POST", "/checkout/session", json: request)
        #expect(Set(stripe.requests.filter { $0.path == "/v1/checkout/sessions" }.map { $0.headers["idempotency-key"] ?? "" }).count == 1)
    }

    @Test func browserFormIsRedirectedToStripeWithItsCookie() throws {
        stripe.on("POST", "/v1/checkout/sessions", .json(200, #"{"id":"cs_test_b","url":"https://checkout.stripe.com/c/pay/cs_test_b"}"#))
        let reply = try shop.form("/checkout/session", [("product", "pro-monthly")])
        #expect(reply.status == 303)
        #expect(reply.header("Location") == "https://checkout.stripe.com/c/pay/cs_test_b")
        let cookie = try #require(reply.header("Set-Cookie"))
        #expect(cookie.hasPrefix("pfc_checkout="))
        #expect(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Secure") && cookie.contains("Path=/payments/checkout/"))
        let sent = try #require(stripe.requests.last)
        #expect(sent.form.first { $0.0 == "mode" }?.1 == "subscription")
        #expect(sent.form.first { $0.0 == "success_url" }?.1 == "https://shop.example.com/payments/checkout/success?session_id={CHECKOUT_SESSION_ID}")
        #expect(sent.form.first { $0.0 == "cancel_url" }?.1 == "https://shop.example.com/account")
        #expect(try shop.count("checkouts", "stripe_id = 'cs_test_b' AND browser_proof IS NOT NULL") == 1)
        let bad = try shop.form("/checkout/session", [("product", "nothing")])
        #expect(bad.status == 400)
        #expect(bad.header("Content-Type") == "text/html; charset=utf-8")
        #expect(bad.text.contains("product nothing is not in the catalogue"))
    }

    @Test func badCheckoutRequestsAreRefusedBeforeStripe() throws {
        let key = [("Idempotency-Key", "order-1")]
        for (json, expected) in [
            (#"{"product":"nothing"}"#, "not in the catalogue"),
            (#"{"product":"pro-license","quantity":11}"#, "quantity must be a whole number from 1 to 10"),
            (
                #"{"product":"pro-license","success_url":"https://evil.example.net/x","cancel_url":"https://shop.example.com/c"}"#,
                "success_url must be on one of the allowed origins"
            ),
            (#"{"product":"pro-license","metadata":{"note":"\#(String(repeating: "x", count: 501))"}}"#, "values must be at most 500"),
            (#"{"product":"pro-license","metadata":{"product":"free"}}"#, "metadata.product is reserved"),
            (#"{"product":"pro-license","customer_email":"not an address"}"#, "customer_email is not an email address"),
        ] {
            let reply = try shop.api("POST", "/checkout/session", json: json, headers: key)
            #expect(reply.status == 400, "\(json)")
            #expect(reply.text.contains(expected), "\(reply.text)")
        }
        #expect(try shop.api("POST", "/checkout/session", json: #"{"product":"pro-license"}"#, key: "wrong").status == 401)
        #expect(stripe.requests.filter { $0.path == "/v1/checkout/sessions" }.isEmpty)
        stripe.on(
            "POST", "/v1/checkout/sessions",
            .json(
                400,
                #"{"error":{"type":"invalid_request_error","code":"resource_missing","message":"No such price: 'price_1Pro'","param":"line_items[0][price]"}}"#)
        )
        let refused = try shop.api("POST", "/checkout/session", json: #"{"product":"pro-license"}"#, headers: key)
        #expect(refused.status == 502)
        #expect(refused.errorCode == "upstream_error")
        #expect(refused.text.contains("No such price"))  // the seller's own server may read Stripe's words
    }

    @Test func successPageFulfilsBeforeTheWebhookAndTheWebhookFindsItDone() throws {
        stripe.createsSessions()
        let started = try shop.form("/checkout/session", [("product", "pro-license")])
        let session = try #require(ShopStack.sessionID(redirectedBy: started))
        let cookie = try #require(ShopStack.cookie(of: started))
        stripe.on("GET", "/v1/checkout/sessions/\(session)", .json(200, try ShopStack.sessionJSON("checkout.session.completed.payment_card", ["id": session])))
        let page = try shop.page("/checkout/success?session_id=\(session)", cookie: cookie)
        #expect(page.status == 200)
        #expect(page.header("Content-Type") == "text/html; charset=utf-8")
        #expect(page.header("Cache-Control") == "no-store")
        let match = try #require(page.text.range(of: #"PFC(-[0-9A-Z]{7}){4}"#, options: .regularExpression))
        let key = String(page.text[match])
        #expect(page.text.contains("Activate"))
        #expect(page.text.contains("49.00 USD"))
        #expect(stripe.requests("GET", "/v1/checkout/sessions/\(session)/line_items").isEmpty)  // our record says what was bought
        let webhook = try shop.deliver(try ShopStack.completed(session))
        #expect(webhook.json["status"] as? String == "processed")
        #expect(try shop.count("licenses") == 1)
        #expect(try shop.count("grants") == 1)
        // The key shown is the key issued.
        #expect(try shop.verify(key) == "site_inactive")
        // Once paid, the page is answered from our own records.
        let calls = stripe.requests.count
        #expect(try shop.page("/checkout/success?session_id=\(session)", cookie: cookie).status == 200)
        #expect(stripe.requests.count == calls)
        // After the display window the page only says it was emailed.
        let store = Store(options: shop.web.stack.database, prefix: .standard, logger: .init(label: "t"))
        defer { store.close() }
        try store.withConnection { try $0.execute("UPDATE pfc_licenses SET display_until = '2020-01-01 00:00:00'") }
        let later = try shop.page("/checkout/success?session_id=\(session)", cookie: cookie)
        #expect(!later.text.contains(key))
        #expect(later.text.contains("was emailed to you"))
    }

    @Test func successPageForUnknownOrPendingSessions() throws {
        let missing = try shop.page("/checkout/success?session_id=cs_test_unknown")
        #expect(missing.status == 404)
        #expect(missing.text.contains("We could not find this purchase"))
        #expect(try shop.page("/checkout/success?session_id=%3Cscript%3E").status == 400)
        stripe.createsSessions()
        let started = try shop.form("/checkout/session", [("product", "pro-license")])
        let pending = try #require(ShopStack.sessionID(redirectedBy: started))
        stripe.on(
            "GET", "/v1/checkout/sessions/\(pending)",
            .json(200, try ShopStack.sessionJSON("checkout.session.completed.payment_async_unpaid", ["id": pending])))
        let processing = try shop.page("/checkout/success?session_id=\(pending)")
        #expect(processing.status == 200)
        #expect(processing.text.contains("Payment processing"))
    }

    @Test func portalIntentsHistoryAndRefunds() throws {
        _ = try shop.deliver(try StripeFixtures.load("checkout.session.completed.payment_card"))
        _ = try shop.deliver(try StripeFixtures.load("payment_intent.succeeded"))
        stripe.on("POST", "/v1/billing_portal/sessions", .json(200, #"{"id":"bps_1","url":"https://billing.stripe.com/p/session/bps_1"}"#))
        let portal = try shop.api("POST", "/billing/portal", json: #"{"customer":"buyer@example.com"}"#)
        #expect(portal.json["url"] as? String == "https://billing.stripe.com/p/session/bps_1")
        #expect(stripe.requests.last?.text == "customer=cus_TnK8pQ2vXw4LmA&return_url=https%3A%2F%2Fshop.example.com%2Faccount")
        #expect(try shop.api("POST", "/billing/portal", json: #"{"customer":"nobody@example.com"}"#).status == 404)

        stripe.on("GET", "/v1/prices/price_1Pro", .json(200, #"{"id":"price_1Pro","object":"price","unit_amount":4900,"currency":"usd"}"#))
        stripe.on("POST", "/v1/payment_intents", .json(200, #"{"id":"pi_new","object":"payment_intent","client_secret":"pi_new_secret_abc"}"#))
        let intent = try shop.api(
            "POST", "/payments/intents", json: #"{"product":"pro-license","quantity":3,"customer_email":"e@example.com"}"#,
            headers: [("Idempotency-Key", "intent-1")])
        #expect(intent.json["client_secret"] as? String == "pi_new_secret_abc")
        #expect(intent.json["amount"] as? Int == 14700)
        #expect(
            stripe.requests.last?.form.map { "\($0.0)=\($0.1)" } == [
                "amount=14700", "currency=usd", "automatic_payment_methods[enabled]=true", "metadata[product]=pro-license",
                "metadata[quantity]=3", "receipt_email=e@example.com",
            ])
        #expect(
            try shop.value("SELECT CONCAT(product, ' x', quantity, ' ', amount, ' ', currency) AS v FROM pfc_checkouts WHERE stripe_id = 'pi_new'")
                == "pro-license x3 14700 USD")

        let history = try shop.api("GET", "/payments?customer=buyer%40example.com")
        let payments = try #require(history.json["payments"] as? [[String: Any]])
        #expect(payments.count == 1)
        #expect(payments.first?["status"] as? String == "paid")
        #expect(payments.first?["amount"] as? Int == 4900)
        let one = try shop.api("GET", "/payments/pi_3SnKpayCard0000001")
        #expect(one.json["order"] as? String == ShopStack.cardSession)
        #expect(one.json["payment_status"] as? String == "succeeded")
        #expect(one.json["history"] as? [String] == ["succeeded"])
        #expect(try shop.api("GET", "/payments/pi_nothing").status == 404)

        stripe.on("POST", "/v1/refunds", .json(200, #"{"id":"re_1","object":"refund","status":"succeeded","amount":1000}"#))
        let refundBody = #"{"payment_intent":"pi_3SnKpayCard0000001","amount":1000,"reason":"requested_by_customer"}"#
        #expect(try shop.api("POST", "/refunds", json: refundBody, headers: [("Idempotency-Key", "refund-1")]).status == 401)
        let refund = try shop.api("POST", "/refunds", json: refundBody, key: ShopStack.adminKey, headers: [("Idempotency-Key", "refund-1")])
        #expect(refund.json["id"] as? String == "re_1")
        #expect(stripe.requests.last?.text == "payment_intent=pi_3SnKpayCard0000001&amount=1000&reason=requested_by_customer")
    }

    @Test func reconcileFulfilsWhatNoWebhookDid() throws {
        stripe.on(
            "GET", "/v1/checkout/sessions",
            .json(
                200,
                """
                {"object":"list","has_more":false,"data":[\(try ShopStack.sessionJSON("checkout.session.completed.payment_card")),
                 \(try ShopStack.sessionJSON("checkout.session.expired"))]}
                """))
        let run = try ChildProcess.run(TestPaths.binary, ["reconcile", "--config", shop.config])
        #expect(run.status == 0, "\(run.output)")
        #expect(run.output.contains("examined 2 sessions, fulfilled 1: \(ShopStack.cardSession)"))
        #expect(try shop.count("licenses") == 1)
        let query = try #require(stripe.requests.last { $0.path == "/v1/checkout/sessions" }?.query)
        #expect(query.hasPrefix("status=complete&created%5Bgte%5D="))
        let again = try ChildProcess.run(TestPaths.binary, ["reconcile", "--config", shop.config])
        #expect(again.output.contains("fulfilled 0"))
        #expect(try shop.count("licenses") == 1)
    }
}
