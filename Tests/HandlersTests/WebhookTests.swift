import Foundation
import Handlers
import Logging
import MariaStore
import Testing
import TestSupport

/// The webhook handler against a real MariaDB and a local fake Stripe, with the real payloads.
@Suite("Stripe webhook: exactly-once fulfilment")
struct WebhookTests {
    static let secret = "whsec_test_endpoint_secret"
    static let pepper = "pepper-for-tests-0123456789abcdef0123"
    static let sealingKey = [UInt8](repeating: 7, count: 32)
    static let cardSession = "cs_test_a1PayCardOneOffLicence0001xYz9Qw2Er4Ty6Ui8Op0As2Df4Gh6Jk8"
    static let sepaSession = "cs_test_a1PayAsyncSepaLicence0002xYz9Qw2Er4Ty6Ui8Op0As2Df4Gh6Jk8"

    let context: Context
    let stripe: FakeStripeServer
    let now = Date(timeIntervalSince1970: 1_767_268_900)

    init() throws {
        stripe = try FakeStripeServer()
        let store = try MariaDBServer.shared.makeStore(label: "wh")
        _ = try Migrator(store: store).migrate(now: now)
        var configuration = Configuration(database: store.options)
        configuration.stripe.webhookSecrets = [Self.secret]
        configuration.stripe.secretKey = FakeStripeServer.secretKey
        configuration.stripe.apiBase = stripe.baseURL
        configuration.stripe.timeoutSeconds = 2
        configuration.licensing.keyPepper = Self.pepper
        configuration.licensing.keyEncryptionKey = Self.sealingKey
        var logger = Logger(label: "test")
        logger.logLevel = .warning  // thousands of deliveries in the ordering tests
        var context = Context(store: store, clock: FixedTime(now), configuration: configuration, logger: logger)
        context.stripe.backoff = { _ in 0.01 }
        self.context = context
        try store.transaction { connection in
            let products = ProductRepository(connection, prefix: store.prefix)
            try products.save(Product(product: "pro-license", name: "Pro license", kind: .license, stripePriceID: "price_1Pro",
                                      tier: "pro", activationLimit: 3, durationDays: 365), actor: "test", now: Date())
            try products.save(Product(product: "credit-pack", name: "100 credits", kind: .credits, stripePriceID: "price_1Credits", credits: 100), actor: "test", now: Date())
            try products.save(Product(product: "course", name: "Course", kind: .entitlement, stripePriceID: "price_1Course", entitlement: "course-101"), actor: "test", now: Date())
            try products.save(Product(product: "pro-monthly", name: "Pro monthly", kind: .subscription, stripePriceID: "price_1SnKmonthlyLic0001",
                                      tier: "pro", activationLimit: 2, credits: 50), actor: "test", now: Date())
        }
        stripe.lineItems(session: Self.cardSession, [("price_1Pro", 1)])
        stripe.lineItems(session: Self.sepaSession, [("price_1Pro", 1)])
        stripe.lineItems(session: Self.subscriptionSession, [("price_1SnKmonthlyLic0001", 1)])
        stripe.answersSubscriptionQuestions(subscription: try StripeFixtures.object("customer.subscription.created"))
    }

    static let subscriptionSession = "cs_test_b1SubscriptionMonthly0004xYz9Qw2Er4Ty6Ui8Op0As2Df4Gh6Jk8"

    /// Empties every table the events write to (the catalogue stays).
    func reset() throws {
        try context.store.withConnection { connection in
            for table in ["events", "customers", "customer_stripe_ids", "orders", "grants", "licenses", "credit_ledger", "credit_balances", "outbox", "payments",
                          "payment_history", "disputes", "subscriptions", "audit_log", "checkouts", "refund_requests", "key_rotation_requests"] {
                try connection.execute("DELETE FROM pfc_\(table)")
            }
        }
    }

    /// Records `session` as this service records the sessions it creates (`POST
    /// /checkout/session`): what it sells, so that fulfilment needs no Stripe call.
    func created(_ session: String, product: String, quantity: Int = 1) throws {
        try context.store.transaction { connection in
            let price = try ProductRepository(connection, prefix: .standard).named(product)?.stripePriceID
            try CheckoutRepository(connection, prefix: .standard).record(
                CheckoutRepository.Checkout(stripeID: session, kind: .session, product: product, priceID: price, quantity: quantity), now: now)
        }
    }

    func value(_ sql: String) throws -> String? {
        try context.store.withConnection { try $0.queryOne(sql)?.optionalString("v") }
    }

    // MARK: Delivering

    func deliver(_ body: [UInt8], signature: String? = nil, context: Context? = nil) -> Response {
        var headers = HTTPHeaders()
        headers.add("Content-Type", "application/json; charset=utf-8")
        headers.add("Stripe-Signature", signature ?? StripeFixtures.signature(body, secret: Self.secret, at: now))
        headers.add("Content-Length", String(body.count))
        let request = Request(method: "POST", path: "/stripe/webhook", headers: headers, body: body)
        do {
            return try StripeWebhook.handle(request, context ?? self.context)
        } catch let error as any HTTPResponseError {
            return error.response
        } catch {
            return Response(status: .internalServerError, body: Array("\(error)".utf8))
        }
    }

    func deliver(_ fixture: String) throws -> Response { deliver(try StripeFixtures.load(fixture)) }

    /// `data.object.id` of an event body.
    static func objectID(_ body: [UInt8]) throws -> String {
        let event = try #require(try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])
        return try #require((event["data"] as? [String: Any])?["object"] as? [String: Any])["id"] as? String ?? ""
    }

    func status(_ response: Response) -> String? {
        (try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any])?["status"] as? String
    }

    func errorCode(_ response: Response) -> String? {
        ((try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any])?["error"] as? [String: Any])?["code"] as? String
    }

    // MARK: Reading the records

    func count(_ table: String, _ condition: String = "1 = 1", _ parameters: [any SQLBindable] = []) throws -> Int64 {
        try context.store.withConnection { try $0.queryOne("SELECT COUNT(*) AS n FROM pfc_\(table) WHERE \(condition)", parameters)!.int("n") }
    }

    func order(_ session: String) throws -> OrderRepository.Order? {
        try context.store.withConnection { try OrderRepository($0, prefix: .standard).find(sessionID: session) }
    }

    func outcome(_ event: String) throws -> EventLedger.Outcome? {
        try context.store.withConnection { try EventLedger($0, prefix: .standard).outcome(of: event) }
    }

    // MARK: Behaviour

    @Test func paidCardCheckoutIssuesOneLicenseAndQueuesItsEmail() throws {
        let response = try deliver("checkout.session.completed.payment_card")
        #expect(response.status.code == 200)
        #expect(status(response) == "processed")

        let order = try #require(try order(Self.cardSession))
        #expect(order.status == .paid)
        #expect(order.amountTotal == 4900)
        #expect(order.currency == "USD")
        #expect(order.paymentIntent == "pi_3SnKpayCard0000001")
        #expect(try count("customers c JOIN pfc_customer_stripe_ids s ON s.customer_id = c.id", "s.stripe_customer_id = ? AND c.email = ?",
                          ["cus_TnK8pQ2vXw4LmA", "buyer@example.com"]) == 1)
        #expect(try count("licenses", "product = 'pro-license' AND activation_limit = 3 AND status = 'active' AND expires_at = '2027-01-01 12:01:40.000000'") == 1)
        #expect(try count("grants") == 1)
        #expect(try outcome("evt_1SnKcsCompletedPay01") == .processed)

        // The key exists only sealed in the outbox; opened, it is a valid key whose keyed hash
        // is the license's verifier.
        let message = try #require(try context.store.withConnection { try Outbox($0, prefix: .standard).pending() }.first { $0.kind == "license_email" })
        #expect(message.recipient == "buyer@example.com")
        let license = try context.store.withConnection { try $0.queryOne("SELECT id, selector, verifier FROM pfc_licenses")! }
        let sealed = try #require(message.sealed)
        let licenseID = try license.int("id")
        let opened = try #require(SecretBox(key: Self.sealingKey)!.open(sealed, context: Array("license:\(licenseID)".utf8)))
        let key = try #require(LicenseKey(parsing: String(decoding: opened, as: UTF8.self)))
        #expect(try license.string("selector") == key.selector)
        #expect(try license.bytes("verifier") == (try LicenseKeyHasher(pepper: Self.pepper).verifier(for: key)))
        #expect(!message.payload.contains(key.canonical))
        #expect(try count("audit_log", "subject_type = 'license' AND action = 'issued'") == 1)
        #expect(stripe.requests.filter { $0.path.hasSuffix("/line_items") }.count == 1)
    }

    @Test func duplicateDeliveryChangesNothing() throws {
        #expect(status(try deliver("checkout.session.completed.payment_card")) == "processed")
        let response = try deliver("checkout.session.completed.payment_card")
        #expect(response.status.code == 200)
        #expect(status(response) == "duplicate")
        #expect(try count("licenses") == 1)
        #expect(try count("outbox", "kind = 'license_email'") == 1)
        #expect(try count("audit_log", "subject_type = 'order'") == 1)
    }

    @Test func twoEventsForTheSameSessionGrantOnce() throws {
        #expect(status(try deliver("checkout.session.completed.payment_card")) == "processed")
        // Another event id about the same paid session (as a retried delivery from a second
        // endpoint would be).
        let other = try StripeFixtures.variant("checkout.session.completed.payment_card", event: ["id": "evt_1SnKcsCompletedPayB2"])
        #expect(status(deliver(other)) == "processed")
        #expect(try count("licenses") == 1)
        #expect(try count("grants") == 1)
        #expect(try count("orders") == 1)
    }

    @Test func delayedPaymentIsPendingThenFulfilledOnSuccess() throws {
        #expect(status(try deliver("checkout.session.completed.payment_async_unpaid")) == "processed")
        #expect(try order(Self.sepaSession)?.status == .pending)
        #expect(try count("licenses") == 0)
        #expect(stripe.requests.isEmpty)  // nothing to fetch while unpaid

        #expect(status(try deliver("checkout.session.async_payment_succeeded")) == "processed")
        #expect(try order(Self.sepaSession)?.status == .paid)
        #expect(try count("licenses") == 1)

        // A late failure for the same session cannot undo the payment.
        #expect(status(try deliver("checkout.session.async_payment_failed")) == "processed")
        #expect(try order(Self.sepaSession)?.status == .paid)
        #expect(try count("licenses") == 1)
    }

    @Test func delayedPaymentFailureFailsTheOrder() throws {
        _ = try deliver("checkout.session.completed.payment_async_unpaid")
        #expect(status(try deliver("checkout.session.async_payment_failed")) == "processed")
        #expect(try order(Self.sepaSession)?.status == .failed)
        #expect(try count("licenses") == 0)
    }

    @Test func successArrivingBeforeCompletionStillGrantsOnce() throws {
        #expect(status(try deliver("checkout.session.async_payment_succeeded")) == "processed")
        #expect(status(try deliver("checkout.session.completed.payment_async_unpaid")) == "processed")
        #expect(try order(Self.sepaSession)?.status == .paid)
        #expect(try count("licenses") == 1)
    }

    @Test func expiredSessionRecordsAnExpiredOrder() throws {
        #expect(status(try deliver("checkout.session.expired")) == "processed")
        #expect(try order("cs_test_a1ExpiredSession0003xYz9Qw2Er4Ty6Ui8Op0As2Df4Gh6Jk8Lz1X")?.status == .expired)
        // Neither an email nor a Stripe customer: nobody to record (an anonymous customer row
        // could only collect grants and reversals that miss the real buyer).
        #expect(try count("customers") == 0)
        #expect(try order("cs_test_a1ExpiredSession0003xYz9Qw2Er4Ty6Ui8Op0As2Df4Gh6Jk8Lz1X")?.customerID == nil)
    }

    @Test func sessionWeCreatedNeedsNoStripeCall() throws {
        try created("cs_test_ours_1", product: "credit-pack", quantity: 3)
        let body = try StripeFixtures.variant("checkout.session.completed.payment_card",
                                               object: ["id": "cs_test_ours_1", "metadata": ["product": "credit-pack", "quantity": "3"]])
        #expect(status(deliver(body)) == "processed")
        #expect(stripe.requests.isEmpty)
        let balance = try context.store.withConnection { connection -> Int64? in
            guard let customer = try CustomerRepository(connection, prefix: .standard).find(reference: "cus_TnK8pQ2vXw4LmA") else { return nil }
            return try CreditLedger(connection, prefix: .standard).creditBalance(customerID: customer)
        }
        #expect(balance == 300)
        #expect(try count("licenses") == 0)
    }

    @Test func severalLinesGrantEachOnce() throws {
        stripe.lineItems(session: "cs_test_multi", [("price_1Pro", 2, 9800), ("price_1Credits", 1, 1500), ("price_1Course", 1, 3000)])
        let body = try StripeFixtures.variant("checkout.session.completed.payment_card", object: ["id": "cs_test_multi"])
        #expect(status(deliver(body)) == "processed")
        #expect(try count("grants") == 3)
        #expect(try count("licenses", "activation_limit = 6") == 1)  // 2 × 3 sites
        #expect(try count("credit_ledger", "delta = 100") == 1)
        #expect(try count("grants", "entitlement = 'course-101'") == 1)
        #expect(try count("outbox", "kind = 'notification'") == 3)
        // The credits receipt names what the credits cost, not the whole cart.
        #expect(try count("outbox", "kind = 'credits_receipt' AND payload LIKE '%15.00 USD%'") == 1)
    }

    @Test func unknownPriceFlagsTheOrderInsteadOfDroppingIt() throws {
        stripe.lineItems(session: "cs_test_unknown", [("price_1Unknown", 1), ("price_1Credits", 1)])
        let body = try StripeFixtures.variant("checkout.session.completed.payment_card", object: ["id": "cs_test_unknown"])
        #expect(status(deliver(body)) == "processed")
        let order = try #require(try order("cs_test_unknown"))
        #expect(order.status == .paid)
        #expect(order.attention == "not in the catalogue: price price_1Unknown")
        #expect(try count("grants") == 1)  // the known line is granted
    }

    @Test func zeroDecimalCurrencyIsKeptInMinorUnits() throws {
        try created("cs_test_jpy", product: "course")
        let body = try StripeFixtures.variant("checkout.session.completed.payment_card",
                                               object: ["id": "cs_test_jpy", "currency": "jpy", "amount_total": 5000, "metadata": ["product": "course"]])
        #expect(status(deliver(body)) == "processed")
        let order = try #require(try order("cs_test_jpy"))
        #expect(order.amountTotal == 5000)
        #expect(order.currency == "JPY")
    }

    @Test func otherModeIsRecordedNotApplied() throws {
        let body = try StripeFixtures.variant("checkout.session.completed.payment_card", event: ["livemode": true])
        #expect(status(deliver(body)) == "other_mode")
        #expect(try outcome("evt_1SnKcsCompletedPay01") == .otherMode)
        #expect(try count("orders") == 0)
        #expect(status(deliver(body)) == "duplicate")
    }

    @Test func unknownTypesAreIgnoredAndRecorded() throws {
        let body = try StripeFixtures.variant("charge.succeeded", event: ["type": "customer.tax_id.created", "id": "evt_unknown_1"])
        #expect(status(deliver(body)) == "ignored")
        #expect(try outcome("evt_unknown_1") == .ignored)
    }

    @Test func badSignaturesWriteNothing() throws {
        let body = try StripeFixtures.load("checkout.session.completed.payment_card")
        for signature in ["", "t=1767268900", "t=1767268900,v1=00", StripeFixtures.signature(body, secret: "whsec_wrong", at: now),
                          StripeFixtures.signature(body, secret: Self.secret, at: now.addingTimeInterval(-301))] {
            let response = deliver(body, signature: signature)
            #expect(response.status.code == 400, "\(signature)")
            #expect(errorCode(response) == "invalid_signature")
        }
        var tampered = body
        tampered[tampered.count / 2] ^= 0x01
        #expect(deliver(tampered, signature: StripeFixtures.signature(body, secret: Self.secret, at: now)).status.code == 400)
        #expect(try count("events") == 0)
        #expect(try count("orders") == 0)
    }

    @Test func noConfiguredSecretRefusesEveryDelivery() throws {
        var configuration = context.configuration
        configuration.stripe.webhookSecrets = []
        let unconfigured = Context(store: context.store, clock: context.clock, configuration: configuration, logger: context.logger)
        let response = deliver(try StripeFixtures.load("checkout.session.completed.payment_card"), context: unconfigured)
        #expect(response.status.code == 503)
        #expect(errorCode(response) == "unavailable")
        #expect(try count("events") == 0)
    }

    @Test func signedGarbageIsABadRequest() throws {
        for body in ["not json", "[1,2]", #"{"id":"evt_1","object":"event"}"#, #"{"id":"nope","object":"event","type":"x","livemode":false,"created":1,"data":{"object":{}}}"#] {
            let response = deliver(Array(body.utf8))
            #expect(response.status.code == 400, "\(body)")
            #expect(errorCode(response) == "invalid_request")
        }
        #expect(try count("events") == 0)
    }

    @Test func unreadableShapeIsRecordedAsFailedAndRetried() throws {
        let body = try StripeFixtures.variant("checkout.session.completed.payment_card", object: ["amount_total": "4900"])
        let response = deliver(body)
        #expect(response.status.code == 500)
        #expect(String(decoding: response.body, as: UTF8.self).contains("data.object.amount_total: expected an integer"))
        #expect(try outcome("evt_1SnKcsCompletedPay01") == .failed)
        #expect(try count("orders") == 0)
        // Once the payload is readable (here: the real one), the same event id is applied.
        #expect(status(try deliver("checkout.session.completed.payment_card")) == "processed")
        #expect(try count("licenses") == 1)
    }

    @Test func stripeUnreachableIsABadGatewayAndWritesNothing() throws {
        var configuration = context.configuration
        configuration.stripe.apiBase = "http://127.0.0.1:\(TestPaths.freePort())"
        var offline = Context(store: context.store, clock: context.clock, configuration: configuration, logger: context.logger)
        offline.stripe.backoff = { _ in 0.01 }
        let response = deliver(try StripeFixtures.load("checkout.session.completed.payment_card"), context: offline)
        #expect(response.status.code == 502)
        #expect(errorCode(response) == "upstream_error")
        #expect(try count("events") == 0)
        #expect(try count("orders") == 0)
    }

    @Test func missingLicensingSecretsRollBackAndAsk503() throws {
        var configuration = context.configuration
        configuration.licensing.keyPepper = nil
        let unconfigured = Context(store: context.store, clock: context.clock, configuration: configuration, logger: context.logger)
        let response = deliver(try StripeFixtures.load("checkout.session.completed.payment_card"), context: unconfigured)
        #expect(response.status.code == 503)
        #expect(try count("orders") == 0)
        #expect(try count("events") == 0)
        #expect(status(try deliver("checkout.session.completed.payment_card")) == "processed")
    }

    @Test func olderAPIVersionSessionIsRead() throws {
        let body = try StripeFixtures.variant("pay-rails.checkout.session.completed.subscription.2020-08-27",
                                               object: ["metadata": ["product": "course"]])
        try created(try Self.objectID(body), product: "course")
        #expect(status(deliver(body)) == "processed")
        #expect(try count("grants") == 1)
    }

    @Test func databaseGoneAnswers503() throws {
        let gone = Store(options: ConnectionOptions(socket: "/nonexistent.sock", user: "x", database: "x", connectTimeoutSeconds: 1),
                         prefix: .standard, logger: Logger(label: "test"))
        let offline = Context(store: gone, clock: context.clock, configuration: context.configuration, logger: context.logger)
        let responder = Responder(router: ServiceRoutes.router(), parser: GatewayRequestParser(mountPrefix: "/payments", maxBodyBytes: 262_144))
        let body = try StripeFixtures.load("checkout.session.completed.payment_card")
        var source = BufferedBody(body)
        let response = responder.respond(params: [
            "REQUEST_METHOD": "POST", "REQUEST_URI": "/payments/stripe/webhook", "CONTENT_TYPE": "application/json",
            "CONTENT_LENGTH": String(body.count), "HTTP_STRIPE_SIGNATURE": StripeFixtures.signature(body, secret: Self.secret, at: now),
        ], body: &source, context: offline)
        #expect(response.status.code == 503)
    }
}

/// A clock that stands still where the test puts it.
struct FixedTime: TimeSource {
    let now: Date
    init(_ now: Date) { self.now = now }
}

@Suite("Order transitions")
struct OrderTransitionTests {
    @Test func statusOnlyMovesForward() {
        #expect(OrderTransitions.next(from: nil, to: .pending) == .pending)
        #expect(OrderTransitions.next(from: .pending, to: .paid) == .paid)
        #expect(OrderTransitions.next(from: .paid, to: .pending) == nil)
        #expect(OrderTransitions.next(from: .paid, to: .failed) == nil)
        #expect(OrderTransitions.next(from: .paid, to: .refunded) == .refunded)
        #expect(OrderTransitions.next(from: .refunded, to: .paid) == nil)
        #expect(OrderTransitions.next(from: .expired, to: .paid) == nil)
        #expect(OrderTransitions.next(from: .failed, to: .paid) == nil)
        #expect(OrderTransitions.next(from: .paid, to: .paid) == nil)
    }
}
