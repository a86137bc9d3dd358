import Foundation
import Handlers
import MariaStore
import TestSupport
import Testing

/// The selling path attacked as a stranger would, through nginx against the real service and
/// MariaDB: nothing is granted, revealed, marked paid or refunded that was not paid for.
/// Each test plays one attack and checks what the seller relies on afterwards.
@Suite("Selling path under attack (through nginx)")
struct SellingPathAttackTests {
    let shop: ShopStack

    init() throws {
        shop = try ShopStack()
    }

    var stripe: FakeStripeServer { shop.stripe }
    var woo: FakeWooCommerceServer { shop.woo }

    /// A pending WooCommerce order of 49.00 USD (the card fixture's amount): a hoodie and shipping.
    func pendingOrder(_ id: Int64) -> FakeWooCommerceServer.Order {
        FakeWooCommerceServer.Order(id: id, total: "49.00", items: [("Hoodie", 2, "40.00", "4.00")], shipping: [("Flat rate", "4.55", "0.45")])
    }

    /// Binds WooCommerce order `id` to a new Checkout Session, as the shop's server does.
    func bind(_ id: Int64) throws -> String {
        stripe.createsSessions()
        let reply = try shop.api("POST", "/checkout/woocommerce", json: #"{"order_id":\#(id)}"#)
        guard reply.status == 200, let session = reply.json["id"] as? String else { throw TestSupportError("binding failed: \(reply.text)") }
        return session
    }

    // MARK: WooCommerce orders

    @Test func anonymousFormCannotBindAWooCommerceOrder() throws {
        woo.put(pendingOrder(77))
        let refused = try shop.form("/checkout/session", [("product", "credit-pack"), ("client_reference_id", "wc_order_77")])
        #expect(refused.status == 400)
        #expect(refused.header("Content-Type") == "text/html; charset=utf-8")
        #expect(refused.text.contains("can only be set by the shop"))
        #expect(stripe.requests("POST", "/v1/checkout/sessions").isEmpty)
        // The server cannot bind one by reference either: only /checkout/woocommerce binds.
        let byReference = try shop.api("POST", "/checkout/session", json: #"{"product":"credit-pack","client_reference_id":"wc_order_77"}"#)
        #expect(byReference.status == 400)
        #expect(byReference.text.contains("/checkout/woocommerce"))
        // A cheap purchase that names the order anyway (a session made elsewhere) marks nothing.
        stripe.lineItems(session: "cs_test_cheap", [("price_1Credits", 1)])
        let cheap = try ShopStack.completed("cs_test_cheap", ["client_reference_id": "wc_order_77", "amount_total": 500])
        #expect(try shop.deliver(cheap).json["status"] as? String == "processed")
        #expect(try shop.deliver(try StripeFixtures.variant("charge.refunded.full", event: ["id": "evt_cheap_refund"])).status == 200)
        usleep(2_500_000)  // the deliverer runs every second
        #expect(woo.requests.isEmpty, "\(woo.requests.map { "\($0.method) \($0.path)" })")
        #expect(woo.order(77)?.status == "pending")
    }

    @Test func wooCommerceOrderIsPaidAtItsOwnTotalAndRefundsAreMirrored() throws {
        woo.put(pendingOrder(77))
        let session = try bind(77)
        let sent = try #require(stripe.requests("POST", "/v1/checkout/sessions").last)
        #expect(
            sent.form.map { "\($0.0)=\($0.1)" } == [
                "mode=payment",
                "line_items[0][price_data][currency]=usd", "line_items[0][price_data][unit_amount]=4400",
                "line_items[0][price_data][product_data][name]=Hoodie × 2", "line_items[0][quantity]=1",
                "line_items[1][price_data][currency]=usd", "line_items[1][price_data][unit_amount]=500",
                "line_items[1][price_data][product_data][name]=Flat rate", "line_items[1][quantity]=1",
                "success_url=\(woo.baseURL)/checkout/order-received/77/?key=wc_order_key77", "cancel_url=https://shop.example.com/account",
                "client_reference_id=wc_order_77", "metadata[woocommerce_order]=77", "customer_email=buyer@example.com", "customer_creation=always",
            ])
        #expect(try shop.deliver(try ShopStack.completed(session)).json["status"] as? String == "processed")
        #expect(TestPaths.waitUntil(seconds: 10) { woo.order(77)?.status == "processing" }, "\(shop.web.stack.service.log)")
        #expect(woo.order(77)?.transactionID == "pi_3SnKpayCard0000001")
        let calls = woo.requests.map { "\($0.method) \($0.path)" }
        #expect(calls == ["GET /wp-json/wc/v3/orders/77", "GET /wp-json/wc/v3/orders/77", "PUT /wp-json/wc/v3/orders/77"])
        // A partial refund, then the rest: each is recorded on the order for what was refunded.
        #expect(try shop.deliver(try StripeFixtures.load("charge.refunded.partial")).status == 200)
        #expect(TestPaths.waitUntil(seconds: 10) { woo.order(77)?.refunds == ["10.00"] })
        #expect(try shop.deliver(try StripeFixtures.load("charge.refunded.full")).status == 200)
        #expect(TestPaths.waitUntil(seconds: 10) { woo.order(77)?.refunds == ["10.00", "39.00"] })
        #expect(woo.order(77)?.status == "refunded")
        #expect(woo.requests.filter { $0.method == "POST" }.allSatisfy { $0.text.contains(#""api_refund":false"#) })
    }

    @Test func orderChangedBeforePaymentArrivesIsFlaggedNotMarked() throws {
        woo.put(pendingOrder(78))
        let session = try bind(78)
        woo.change(78) { $0.total = "149.00" }  // the buyer added to the cart in another tab
        #expect(try shop.deliver(try ShopStack.completed(session)).json["status"] as? String == "processed")
        #expect(TestPaths.waitUntil(seconds: 10) { (try? shop.value("SELECT attention AS v FROM pfc_orders WHERE session_id = ?", [session])) != nil })
        let attention = try shop.value("SELECT attention AS v FROM pfc_orders WHERE session_id = ?", [session])
        #expect(attention?.contains("WooCommerce order 78 was not marked paid: it is pending at 149.00 USD") == true, "\(attention ?? "")")
        #expect(woo.requests.filter { $0.method == "PUT" }.isEmpty)
        #expect(woo.order(78)?.status == "pending")
    }

    @Test func sessionPaidForLessThanItsBoundOrderIsFlaggedNotMarked() throws {
        woo.put(pendingOrder(79))
        let session = try bind(79)
        let underpaid = try ShopStack.completed(session, ["amount_total": 100])
        #expect(try shop.deliver(underpaid).json["status"] as? String == "processed")
        let attention = try shop.value("SELECT attention AS v FROM pfc_orders WHERE session_id = ?", [session])
        #expect(attention?.contains("paid 1.00 USD, but WooCommerce order 79 was bound at 49.00 USD") == true, "\(attention ?? "")")
        usleep(2_500_000)
        #expect(woo.requests.map(\.method) == ["GET"])  // only the read that made the session
        #expect(woo.order(79)?.status == "pending")
    }

    @Test func onlyPendingOrdersCanBePaid() throws {
        var paid = pendingOrder(80)
        paid.status = "processing"
        woo.put(paid)
        let refused = try shop.api("POST", "/checkout/woocommerce", json: #"{"order_id":80}"#)
        #expect(refused.status == 409)
        #expect(refused.errorCode == "order_not_payable")
        #expect(try shop.api("POST", "/checkout/woocommerce", json: #"{"order_id":81}"#).status == 404)
        #expect(try shop.api("POST", "/checkout/woocommerce", json: #"{"order_id":80}"#, key: nil).status == 401)
        #expect(stripe.requests("POST", "/v1/checkout/sessions").isEmpty)
    }

    // MARK: What is granted

    @Test func bracketedMetadataKeysAreRefused() throws {
        let form = try shop.form("/checkout/session", [("product", "credit-pack"), ("metadata[quantity]]", "9")])
        #expect(form.status == 400)
        #expect(form.text.contains("metadata keys must be"))
        let json = try shop.api(
            "POST", "/checkout/session", json: #"{"product":"credit-pack","metadata":{"quantity]":"9"}}"#,
            headers: [("Idempotency-Key", "k1")])
        #expect(json.status == 400)
        #expect(stripe.requests("POST", "/v1/checkout/sessions").isEmpty)
    }

    @Test func metadataThatDisagreesWithWhatWasPaidGrantsNothing() throws {
        // A session made elsewhere claims 10 packs; Stripe's line items say one was paid for.
        stripe.lineItems(session: "cs_test_claims", [("price_1Credits", 1)])
        let body = try ShopStack.completed("cs_test_claims", ["metadata": ["product": "credit-pack", "quantity": "10"]])
        #expect(try shop.deliver(body).json["status"] as? String == "processed")
        #expect(try shop.count("credit_ledger") == 0)
        #expect(try shop.count("grants") == 0)
        let attention = try shop.value("SELECT attention AS v FROM pfc_orders WHERE session_id = 'cs_test_claims'")
        #expect(attention == "metadata claims 10 × credit-pack, the paid line items are 1 × credit-pack")
        // A session we created sells what we recorded, whatever its metadata says.
        stripe.createsSessions()
        let ours = try #require(ShopStack.sessionID(redirectedBy: try shop.form("/checkout/session", [("product", "credit-pack")])))
        let lying = try ShopStack.completed(ours, ["metadata": ["product": "credit-pack", "quantity": "10"]])
        #expect(try shop.deliver(lying).json["status"] as? String == "processed")
        #expect(try shop.count("credit_ledger") == 0)
        #expect(
            try shop.value("SELECT attention AS v FROM pfc_orders WHERE session_id = ?", [ours])
                == "metadata claims 10 × credit-pack, the session was created for 1 × credit-pack")
    }

    @Test func hugeQuantitiesNeverEndTheProcess() throws {
        let pid = shop.web.stack.service.child.pid
        // 3 seats × this quantity overflowed and trapped: the process died on every redelivery.
        stripe.lineItems(session: "cs_test_huge1", [("price_1Pro", 1)])
        let metadata = try ShopStack.completed("cs_test_huge1", ["metadata": ["product": "pro-license", "quantity": "3074457345618258603"]])
        stripe.lineItems(session: "cs_test_huge2", [("price_1Pro", 2_147_483_647)])
        let lines = try ShopStack.completed("cs_test_huge2")
        stripe.lineItems(session: "cs_test_huge3", [("price_1Credits", Int.max)])
        let credits = try ShopStack.completed("cs_test_huge3")
        for body in [metadata, lines, credits] {
            let reply = try shop.deliver(body)
            #expect(reply.status == 200, "\(reply.text)")
        }
        #expect(try shop.count("orders", "attention IS NOT NULL") == 3)
        #expect(try shop.count("grants") == 0)
        #expect(shop.web.stack.service.child.isRunning && shop.web.stack.service.child.pid == pid)
        #expect(try shop.page("/healthz").status == 200)
    }

    @Test func elementsPurchaseIsCheckedAgainstWhatItCosts() throws {
        stripe.on("GET", "/v1/prices/price_1Pro", .json(200, #"{"id":"price_1Pro","object":"price","unit_amount":4900,"currency":"usd"}"#))
        stripe.on(
            "POST", "/v1/payment_intents", .json(200, #"{"id":"pi_test_elements1","object":"payment_intent","client_secret":"pi_test_elements1_secret_x"}"#))
        let created = try shop.api(
            "POST", "/payments/intents", json: #"{"product":"pro-license","customer_email":"buyer@example.com"}"#,
            headers: [("Idempotency-Key", "intent-elements-1")])
        #expect(created.status == 200, "\(created.text)")
        func succeeded(_ intent: String, amount: Int, event: String) throws -> [UInt8] {
            try StripeFixtures.variant(
                "payment_intent.succeeded", event: ["id": event],
                object: [
                    "id": intent, "amount": amount, "amount_received": amount, "metadata": ["product": "pro-license", "quantity": "1"],
                ])
        }
        #expect(try shop.deliver(try succeeded("pi_test_elements1", amount: 4900, event: "evt_el_1")).json["status"] as? String == "processed")
        #expect(try shop.deliver(try succeeded("pi_test_elements1", amount: 4900, event: "evt_el_2")).json["status"] as? String == "processed")
        #expect(try shop.count("licenses") == 1)
        #expect(try shop.count("outbox", "kind = 'license_email' AND recipient = 'buyer@example.com'") == 1)
        // One made elsewhere with our product's name on it, paying a dollar, gets nothing.
        #expect(try shop.deliver(try succeeded("pi_test_foreign1", amount: 100, event: "evt_el_3")).json["status"] as? String == "processed")
        #expect(
            try shop.value("SELECT attention AS v FROM pfc_orders WHERE session_id = 'pi_test_foreign1'")?.contains("received 1.00 USD for 1 × pro-license")
                == true)
        // Ours, but less arrived than we asked for: nothing either.
        stripe.on(
            "POST", "/v1/payment_intents", .json(200, #"{"id":"pi_test_elements2","object":"payment_intent","client_secret":"pi_test_elements2_secret_x"}"#))
        _ = try shop.api("POST", "/payments/intents", json: #"{"product":"pro-license"}"#, headers: [("Idempotency-Key", "intent-elements-2")])
        #expect(try shop.deliver(try succeeded("pi_test_elements2", amount: 900, event: "evt_el_4")).json["status"] as? String == "processed")
        #expect(try shop.count("licenses") == 1)
        #expect(try shop.count("orders", "attention IS NOT NULL") == 2)
    }

    // MARK: Whose session, whose key

    @Test func twoBuyersBehindOneAddressGetTheirOwnSessions() throws {
        stripe.createsSessions()
        let first = try shop.form("/checkout/session", [("product", "pro-license")])
        let second = try shop.form("/checkout/session", [("product", "pro-license")])
        #expect(first.status == 303 && second.status == 303)
        #expect(ShopStack.sessionID(redirectedBy: first) != ShopStack.sessionID(redirectedBy: second))
        let keys = stripe.requests("POST", "/v1/checkout/sessions").compactMap { $0.headers["idempotency-key"] }
        #expect(Set(keys).count == 2)
        #expect(ShopStack.cookie(of: first) != ShopStack.cookie(of: second))
    }

    @Test func serverCallsWithoutAReferenceNeedAnIdempotencyKey() throws {
        stripe.createsSessions()
        let refused = try shop.api("POST", "/checkout/session", json: #"{"product":"pro-license"}"#)
        #expect(refused.status == 400)
        #expect(refused.text.contains("Idempotency-Key"))
        let first = try shop.api("POST", "/checkout/session", json: #"{"product":"pro-license"}"#, headers: [("Idempotency-Key", "cart-5")])
        let retry = try shop.api("POST", "/checkout/session", json: #"{"product":"pro-license"}"#, headers: [("Idempotency-Key", "cart-5")])
        let other = try shop.api("POST", "/checkout/session", json: #"{"product":"pro-license"}"#, headers: [("Idempotency-Key", "cart-6")])
        #expect(first.json["id"] as? String != nil)
        #expect(first.json["id"] as? String == retry.json["id"] as? String)
        #expect(first.json["id"] as? String != other.json["id"] as? String)
        let intent = try shop.api("POST", "/payments/intents", json: #"{"product":"pro-license"}"#)
        #expect(intent.status == 400)
    }

    @Test func sessionIDInOtherHandsShowsNoKeyAndRotatesNothing() throws {
        stripe.createsSessions()
        let started = try shop.form("/checkout/session", [("product", "pro-license")])
        let session = try #require(ShopStack.sessionID(redirectedBy: started))
        let cookie = try #require(ShopStack.cookie(of: started))
        #expect(try shop.deliver(try ShopStack.completed(session)).json["status"] as? String == "processed")
        let key = try #require(try shop.emailedKeys().first)
        // The buyer's own browser sees the key…
        let own = try shop.page("/checkout/success?session_id=\(session)", cookie: cookie)
        #expect(own.text.contains(key))
        #expect(own.header("Content-Security-Policy")?.contains("frame-ancestors 'none'") == true)
        #expect(own.header("Content-Security-Policy")?.contains("script-src") == false)
        #expect(own.header("X-Content-Type-Options") == "nosniff")
        #expect(!own.text.contains("<script") && !own.text.contains("onclick"))
        // …anyone else with the session id (from a log, a history, or because they made it) does not.
        for stranger in [nil, "pfc_checkout=\(String(repeating: "ab", count: 32))"] {
            let other = try shop.page("/checkout/success?session_id=\(session)", cookie: stranger)
            #expect(other.status == 200)
            #expect(!other.text.contains(key))
            #expect(other.text.contains("was emailed to you"))
        }
        // Asking for a new key only emails the buyer a link: the key keeps working.
        let licenseID = try #require(try shop.value("SELECT id AS v FROM pfc_licenses"))
        let asked = try shop.form("/checkout/resend-key", [("session_id", session), ("license", licenseID)])
        #expect(asked.status == 200)
        #expect(asked.text.contains("Check your inbox"))
        #expect(try shop.verify(key) == "site_inactive")
        #expect(try shop.count("outbox", "kind = 'key_rotation_email' AND recipient = 'buyer@example.com' AND sealed IS NOT NULL") == 1)
        // The link in that email: opening it changes nothing, confirming rotates once.
        let store = Store(options: shop.web.stack.database, prefix: .standard, logger: .init(label: "t"))
        defer { store.close() }
        let sealed = try store.withConnection { try $0.queryOne("SELECT sealed FROM pfc_outbox WHERE kind = 'key_rotation_email'")?.bytes("sealed") }
        let box = try #require(SecretBox(key: Hex.decode(WebhookEndToEndTests.sealingKeyHex) ?? []))
        let sealedLink = try #require(sealed)
        let opened = try #require(box.open(sealedLink, context: Array("key-rotation:\(licenseID)".utf8)))
        let link = String(decoding: opened, as: UTF8.self)
        #expect(link.hasPrefix("https://shop.example.com/payments/checkout/new-key?token="))
        let token = String(link.split(separator: "=").last ?? "")
        #expect(try shop.page("/checkout/new-key?token=\(token)").text.contains("Issue my new key"))
        #expect(try shop.verify(key) == "site_inactive")
        let rotated = try shop.form("/checkout/new-key", [("token", token)])
        #expect(rotated.text.contains("A new key is on its way"))
        #expect(try shop.verify(key) == "invalid")
        #expect(try shop.emailedKeys().count == 2)
        #expect(try shop.form("/checkout/new-key", [("token", token)]).status == 404)
        // The old key is never shown again, even to the buyer's browser.
        #expect(!(try shop.page("/checkout/success?session_id=\(session)", cookie: cookie).text.contains(key)))
    }

    @Test func successPageBeforePaymentThenRefundLeavesNoCredits() throws {
        stripe.createsSessions()
        let session = try #require(ShopStack.sessionID(redirectedBy: try shop.form("/checkout/session", [("product", "credit-pack")])))
        stripe.on(
            "GET", "/v1/checkout/sessions/\(session)",
            .json(
                200,
                try ShopStack.sessionJSON(
                    "checkout.session.completed.payment_card",
                    [
                        "id": session, "status": "open", "payment_status": "unpaid", "customer": NSNull(), "customer_details": NSNull(),
                        "payment_intent": NSNull(),
                    ])))
        for _ in 0..<3 {
            let early = try shop.page("/checkout/success?session_id=\(session)")
            #expect(early.status == 200)
            #expect(early.text.contains("has not been completed"))
        }
        #expect(try shop.count("orders") == 0)
        #expect(try shop.count("customers") == 0)
        #expect(try shop.deliver(try ShopStack.completed(session)).json["status"] as? String == "processed")
        #expect(try shop.value("SELECT SUM(delta) AS v FROM pfc_credit_ledger") == "100")
        #expect(try shop.deliver(try StripeFixtures.load("charge.refunded.full")).status == 200)
        #expect(try shop.value("SELECT SUM(delta) AS v FROM pfc_credit_ledger") == "0")
        let balance = try shop.api("GET", "/credits/balance?customer=buyer%40example.com")
        #expect(balance.json["balance"] as? Int == 0)
    }

    // MARK: Workers and Stripe's rate limit

    @Test func randomSessionIDsCostNoStripeCallAndVerifyStaysPrompt() throws {
        let issued = try ChildProcess.run(TestPaths.binary, ["license", "issue", "pro-license", "--email", "b@example.com", "--config", shop.config])
        #expect(issued.status == 0, "\(issued.output)")
        let key = try #require(try shop.emailedKeys().first)
        let port = shop.port
        let slowest = VerifyTimer()
        let done = StartLine(parties: 2)
        let verifier = Thread {
            done.arriveAndWait()
            for _ in 0..<20 {
                let started = Date()
                let reply = try? HTTPClient.send(
                    port: port, method: "POST", path: "/payments/license/verify",
                    headers: [("Content-Type", "application/x-www-form-urlencoded")],
                    body: Array("license_key=\(key)&site_url=https://v.example.com".utf8))
                slowest.record(Date().timeIntervalSince(started), ok: reply?.json["status"] as? String == "site_inactive")
            }
        }
        verifier.start()
        done.arriveAndWait()
        let replies = Simultaneously.send(200, port: port) { index in
            ("GET", "/payments/checkout/success?session_id=cs_test_random\(index)x\(UUID().uuidString.prefix(8))", [], [])
        }
        #expect(TestPaths.waitUntil(seconds: 30) { slowest.count == 20 })
        #expect(replies.allSatisfy { $0?.status == 404 }, "\(Set(replies.map { $0?.status ?? 0 }))")
        #expect(stripe.requests.isEmpty)
        #expect(slowest.allOK)
        #expect(slowest.worst < 2.0, "slowest verify took \(slowest.worst) s")
    }

    @Test func stripeCallsShareABoundedBudget() throws {
        stripe.on("POST", "/v1/checkout/sessions") { request in
            let id = "cs_test_slow_" + String((request.headers["idempotency-key"] ?? "").filter { $0.isLetter || $0.isNumber }.suffix(24))
            return LoopbackHTTPServer.Response.json(200, #"{"id":"\#(id)","url":"https://checkout.stripe.com/c/pay/\#(id)"}"#).delayed(2)
        }
        let port = shop.port
        let replies = Simultaneously.send(8, port: port) { index in
            (
                "POST", "/payments/checkout/session",
                [
                    ("Authorization", "Bearer \(ShopStack.apiKey)"), ("Content-Type", "application/json"),
                    ("Idempotency-Key", "budget-\(index)"),
                ], Array(#"{"product":"pro-license"}"#.utf8)
            )
        }
        let statuses = replies.map { $0?.status ?? 0 }
        #expect(statuses.filter { $0 == 200 }.count == 2, "\(statuses)")
        #expect(statuses.filter { $0 == 503 }.count == 6, "\(statuses)")
        #expect(replies.filter { $0?.status == 503 }.allSatisfy { $0?.header("Retry-After") != nil && $0?.errorCode == "unavailable" })
        #expect(Set(stripe.requests("POST", "/v1/checkout/sessions").compactMap { $0.headers["idempotency-key"] }).count == 2)
    }

    // MARK: Odd sessions and odd data

    @Test func setupModeSessionIsIgnored() throws {
        let setup = try ShopStack.completed(
            "cs_test_setup1",
            [
                "mode": "setup", "currency": NSNull(), "amount_total": NSNull(),
                "amount_subtotal": NSNull(), "payment_status": "no_payment_required", "payment_intent": NSNull(),
            ])
        let reply = try shop.deliver(setup)
        #expect(reply.status == 200, "\(reply.text)")
        #expect(reply.json["status"] as? String == "ignored")
        #expect(try shop.count("orders") == 0)
    }

    @Test func reconcileGoesOnPastASessionItCannotApply() throws {
        stripe.on(
            "GET", "/v1/checkout/sessions",
            .json(
                200,
                """
                {"object":"list","has_more":false,"data":[
                 \(try ShopStack.sessionJSON("checkout.session.completed.payment_card", ["id": "cs_test_setup2", "mode": "setup", "currency": NSNull()])),
                 \(try ShopStack.sessionJSON("checkout.session.completed.payment_card", ["id": "cs_test_broken"])),
                 \(try ShopStack.sessionJSON("checkout.session.completed.payment_card"))]}
                """))
        stripe.on(
            "GET", "/v1/checkout/sessions/cs_test_broken/line_items", .json(400, #"{"error":{"type":"invalid_request_error","message":"No such session"}}"#))
        let run = try ChildProcess.run(TestPaths.binary, ["reconcile", "--config", shop.config])
        #expect(run.status == 1)
        #expect(run.output.contains("examined 3 sessions, fulfilled 1: \(ShopStack.cardSession)"), "\(run.output)")
        #expect(run.output.contains("cs_test_broken not applied"))
        #expect(try shop.count("licenses") == 1)
    }

    @Test func longEmailsAreKeptAndTooLongOnesAreRecordedForReplay() throws {
        let long = String(repeating: "a", count: 240) + "@example.com"  // 252 characters, within RFC 5321
        stripe.lineItems(session: "cs_test_long", [("price_1Pro", 1)])
        let body = try ShopStack.completed("cs_test_long", ["customer": NSNull(), "customer_details": ["email": long]])
        #expect(try shop.deliver(body).json["status"] as? String == "processed")
        #expect(try shop.count("customers", "CHAR_LENGTH(email) = 252") == 1)
        #expect(try shop.count("outbox", "kind = 'license_email' AND CHAR_LENGTH(recipient) = 252") == 1)
        // Beyond any address the database can hold: recorded as failed, with its payload.
        stripe.lineItems(session: "cs_test_too_long", [("price_1Pro", 1)])
        let tooLong = try ShopStack.completed(
            "cs_test_too_long", ["customer": NSNull(), "customer_details": ["email": String(repeating: "b", count: 300) + "@example.com"]])
        let refused = try shop.deliver(tooLong)
        #expect(refused.status == 500)
        #expect(refused.errorCode == "event_not_processed")
        #expect(try shop.count("events", "outcome = 'failed' AND payload IS NOT NULL") == 1)
        #expect(try shop.count("orders", "session_id = 'cs_test_too_long'") == 0)
    }

    @Test func browsersSeeAPlainPageNotStripesError() throws {
        stripe.on(
            "POST", "/v1/checkout/sessions", .json(400, #"{"error":{"type":"invalid_request_error","message":"No such price: 'price_1Pro'; request req_123"}}"#)
        )
        let reply = try shop.form("/checkout/session", [("product", "pro-license")])
        #expect(reply.status == 502)
        #expect(reply.header("Content-Type") == "text/html; charset=utf-8")
        #expect(!reply.text.contains("No such price") && !reply.text.contains("req_123"))
        #expect(reply.text.contains("Please try again"))
        stripe.createsSessions()
        let session = try #require(ShopStack.sessionID(redirectedBy: try shop.form("/checkout/session", [("product", "pro-license")])))
        stripe.on("GET", "/v1/checkout/sessions/\(session)", .json(200, #"{"id":"\#(session)","object":"checkout.session","unexpected":true}"#))
        let page = try shop.page("/checkout/success?session_id=\(session)")
        #expect(page.header("Content-Type") == "text/html; charset=utf-8")
        #expect(page.status == 500)
        #expect(!page.text.contains("payment_status"))
    }

    @Test func simultaneousFirstEventsAboutOneObjectAllSucceed() throws {
        var bodies: [[UInt8]] = []
        for round in 0..<8 {
            let intent = "pi_test_race\(round)"
            bodies.append(try StripeFixtures.variant("payment_intent.processing", event: ["id": "evt_race_p\(round)"], object: ["id": intent]))
            bodies.append(try StripeFixtures.variant("payment_intent.succeeded", event: ["id": "evt_race_s\(round)"], object: ["id": intent]))
            let dispute = "du_test_race\(round)"
            bodies.append(try StripeFixtures.variant("charge.dispute.created", event: ["id": "evt_race_dc\(round)"], object: ["id": dispute]))
            bodies.append(try StripeFixtures.variant("charge.dispute.closed.lost", event: ["id": "evt_race_dl\(round)"], object: ["id": dispute]))
        }
        let events = bodies
        let replies = Simultaneously.send(events.count, port: shop.port) { index in
            (
                "POST", "/payments/stripe/webhook",
                [
                    ("Content-Type", "application/json"),
                    ("Stripe-Signature", StripeFixtures.signature(events[index], secret: WebhookEndToEndTests.secret)),
                ],
                events[index]
            )
        }
        let statuses = replies.map { "\($0?.status ?? 0) \($0?.json["status"] as? String ?? $0?.text ?? "")" }
        #expect(statuses.allSatisfy { $0 == "200 processed" }, "\(statuses)")
        #expect(try shop.count("payments", "payment_intent LIKE 'pi_test_race%'") == 8)
        #expect(try shop.count("disputes", "dispute LIKE 'du_test_race%' AND status = 'lost'") == 8)
    }
}

/// Stripe answers that take longer than we may wait.
@Suite("Stripe timeouts and refunds that must not happen twice")
struct StripeTimeoutTests {
    let shop: ShopStack

    init() throws {
        // One attempt of at most 3 s, and no time for a second: the whole call ends in 3 s.
        shop = try ShopStack(extraStripe: "total_timeout_seconds = 3")
    }

    @Test func aHungStripeIsGivenUpOnInTime() throws {
        shop.stripe.on(
            "POST", "/v1/checkout/sessions", .json(200, #"{"id":"cs_test_late","url":"https://checkout.stripe.com/c/pay/cs_test_late"}"#).delayed(10))
        let started = Date()
        let reply = try shop.api("POST", "/checkout/session", json: #"{"product":"pro-license"}"#, headers: [("Idempotency-Key", "late-1")])
        let elapsed = Date().timeIntervalSince(started)
        #expect(reply.status == 502)
        #expect(reply.errorCode == "upstream_error")
        #expect(elapsed < 5.5, "answered after \(elapsed) s")
    }

    @Test func aRefundRetriedAfterAFailureRefundsOnce() throws {
        let body = #"{"payment_intent":"pi_3SnKpayCard0000001","amount":1000}"#
        let unkeyed = try shop.api("POST", "/refunds", json: body, key: ShopStack.adminKey)
        #expect(unkeyed.status == 400)
        #expect(unkeyed.text.contains("Idempotency-Key"))
        #expect(shop.stripe.requests("POST", "/v1/refunds").isEmpty)
        // Stripe refunds, but its answer comes too late: the caller sees a failure…
        shop.stripe.on("POST", "/v1/refunds", .json(200, #"{"id":"re_once","object":"refund","status":"succeeded","amount":1000}"#).delayed(6))
        let first = try shop.api("POST", "/refunds", json: body, key: ShopStack.adminKey, headers: [("Idempotency-Key", "refund-77")])
        #expect(first.status == 502)
        // …yet the request was recorded and audited before Stripe was called.
        #expect(try shop.count("refund_requests", "idempotency_key = 'refund-77' AND status = 'requested'") == 1)
        #expect(try shop.count("audit_log", "action = 'refund_requested' AND subject_id = 'pi_3SnKpayCard0000001'") == 1)
        // The retry, once Stripe has finished, is the same refund: Stripe replays it, and we keep it.
        usleep(3_500_000)
        let retry = try shop.api("POST", "/refunds", json: body, key: ShopStack.adminKey, headers: [("Idempotency-Key", "refund-77")])
        #expect(retry.status == 200, "\(retry.text)")
        #expect(retry.json["id"] as? String == "re_once")
        let again = try shop.api("POST", "/refunds", json: body, key: ShopStack.adminKey, headers: [("Idempotency-Key", "refund-77")])
        #expect(again.header("Idempotent-Replayed") == "true")
        #expect(again.json["id"] as? String == "re_once")
        let keys = Set(shop.stripe.requests("POST", "/v1/refunds").compactMap { $0.headers["idempotency-key"] })
        #expect(keys.count == 1)  // every attempt asked for the same refund
        // The same key for another amount is a mistake, not a refund.
        let reused = try shop.api(
            "POST", "/refunds", json: #"{"payment_intent":"pi_3SnKpayCard0000001","amount":2000}"#,
            key: ShopStack.adminKey, headers: [("Idempotency-Key", "refund-77")])
        #expect(reused.status == 409)
        #expect(reused.errorCode == "idempotency_key_reused")
    }
}

/// The slowest of many timed requests, collected from another thread.
final class VerifyTimer: @unchecked Sendable {
    // Guarded by `lock`.
    private let lock = NSLock()
    private var times: [Double] = []
    private var failures = 0

    func record(_ seconds: Double, ok: Bool) {
        lock.lock()
        times.append(seconds)
        if !ok { failures += 1 }
        lock.unlock()
    }

    var count: Int {
        lock.lock()
        defer { lock.unlock() }
        return times.count
    }
    var worst: Double {
        lock.lock()
        defer { lock.unlock() }
        return times.max() ?? 0
    }
    var allOK: Bool {
        lock.lock()
        defer { lock.unlock() }
        return failures == 0
    }
}
