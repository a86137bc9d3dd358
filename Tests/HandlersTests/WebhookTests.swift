import Foundation
import Handlers
import Logging
import MariaStore
import TestSupport
import Testing

/// The webhook handler against a real MariaDB and a local fake Stripe, with the real payloads.
@Suite("Stripe webhook: exactly-once fulfilment")
struct WebhookTests {
    let fixture: ServiceFixture

    init() throws { fixture = try ServiceFixture() }

    // MARK: Behaviour

    @Test func paidCardCheckoutIssuesOneLicenseAndQueuesItsEmail() throws {
        let response = try fixture.deliver("checkout.session.completed.payment_card")
        #expect(response.status.code == 200)
        #expect(fixture.status(response) == "processed")

        let order = try #require(try fixture.order(ServiceFixture.cardSession))
        #expect(order.status == .paid)
        #expect(order.amountTotal == 4900)
        #expect(order.currency == "USD")
        #expect(order.paymentIntent == "pi_3SnKpayCard0000001")
        #expect(
            try fixture.count(
                "customers c JOIN pfc_customer_stripe_ids s ON s.customer_id = c.id", "s.stripe_customer_id = ? AND c.email = ?",
                ["cus_TnK8pQ2vXw4LmA", "buyer@example.com"]) == 1)
        #expect(
            try fixture.count(
                "licenses", "product = 'pro-license' AND activation_limit = 3 AND status = 'active' AND expires_at = '2027-01-01 12:01:40.000000'") == 1)
        #expect(try fixture.count("grants") == 1)
        #expect(try fixture.outcome("evt_1SnKcsCompletedPay01") == .processed)

        // The key exists only sealed in the outbox; opened, it is a valid key whose keyed hash
        // is the license's verifier.
        let message = try #require(
            try fixture.context.store.withConnection { try Outbox($0, prefix: .standard).pending() }.first { $0.kind == "license_email" })
        #expect(message.recipient == "buyer@example.com")
        let license = try fixture.context.store.withConnection { try $0.queryOne("SELECT id, selector, verifier FROM pfc_licenses")! }
        let sealed = try #require(message.sealed)
        let licenseID = try license.int("id")
        let opened = try #require(SecretBox(key: ServiceFixture.sealingKey)!.open(sealed, context: Array("license:\(licenseID)".utf8)))
        let key = try #require(LicenseKey(parsing: String(decoding: opened, as: UTF8.self)))
        #expect(try license.string("selector") == key.selector)
        #expect(try license.bytes("verifier") == (try LicenseKeyHasher(pepper: ServiceFixture.pepper).verifier(for: key)))
        #expect(!message.payload.contains(key.canonical))
        #expect(try fixture.count("audit_log", "subject_type = 'license' AND action = 'issued'") == 1)
        #expect(fixture.stripe.requests.filter { $0.path.hasSuffix("/line_items") }.count == 1)
    }

    @Test func duplicateDeliveryChangesNothing() throws {
        #expect(fixture.status(try fixture.deliver("checkout.session.completed.payment_card")) == "processed")
        let response = try fixture.deliver("checkout.session.completed.payment_card")
        #expect(response.status.code == 200)
        #expect(fixture.status(response) == "duplicate")
        #expect(try fixture.count("licenses") == 1)
        #expect(try fixture.count("outbox", "kind = 'license_email'") == 1)
        #expect(try fixture.count("audit_log", "subject_type = 'order'") == 1)
    }

    @Test func twoEventsForTheSameSessionGrantOnce() throws {
        #expect(fixture.status(try fixture.deliver("checkout.session.completed.payment_card")) == "processed")
        // Another event id about the same paid session (as a retried delivery from a second
        // endpoint would be).
        let other = try StripeFixtures.variant("checkout.session.completed.payment_card", event: ["id": "evt_1SnKcsCompletedPayB2"])
        #expect(fixture.status(fixture.deliver(other)) == "processed")
        #expect(try fixture.count("licenses") == 1)
        #expect(try fixture.count("grants") == 1)
        #expect(try fixture.count("orders") == 1)
    }

    @Test func delayedPaymentIsPendingThenFulfilledOnSuccess() throws {
        #expect(fixture.status(try fixture.deliver("checkout.session.completed.payment_async_unpaid")) == "processed")
        #expect(try fixture.order(ServiceFixture.sepaSession)?.status == .pending)
        #expect(try fixture.count("licenses") == 0)
        #expect(fixture.stripe.requests.isEmpty)  // nothing to fetch while unpaid

        #expect(fixture.status(try fixture.deliver("checkout.session.async_payment_succeeded")) == "processed")
        #expect(try fixture.order(ServiceFixture.sepaSession)?.status == .paid)
        #expect(try fixture.count("licenses") == 1)

        // A late failure for the same session cannot undo the payment.
        #expect(fixture.status(try fixture.deliver("checkout.session.async_payment_failed")) == "processed")
        #expect(try fixture.order(ServiceFixture.sepaSession)?.status == .paid)
        #expect(try fixture.count("licenses") == 1)
    }

    @Test func delayedPaymentFailureFailsTheOrder() throws {
        _ = try fixture.deliver("checkout.session.completed.payment_async_unpaid")
        #expect(fixture.status(try fixture.deliver("checkout.session.async_payment_failed")) == "processed")
        #expect(try fixture.order(ServiceFixture.sepaSession)?.status == .failed)
        #expect(try fixture.count("licenses") == 0)
    }

    @Test func successArrivingBeforeCompletionStillGrantsOnce() throws {
        #expect(fixture.status(try fixture.deliver("checkout.session.async_payment_succeeded")) == "processed")
        #expect(fixture.status(try fixture.deliver("checkout.session.completed.payment_async_unpaid")) == "processed")
        #expect(try fixture.order(ServiceFixture.sepaSession)?.status == .paid)
        #expect(try fixture.count("licenses") == 1)
    }

    @Test func expiredSessionRecordsAnExpiredOrder() throws {
        #expect(fixture.status(try fixture.deliver("checkout.session.expired")) == "processed")
        #expect(try fixture.order("cs_test_a1ExpiredSession0003xYz9Qw2Er4Ty6Ui8Op0As2Df4Gh6Jk8Lz1X")?.status == .expired)
        // Neither an email nor a Stripe customer: nobody to record (an anonymous customer row
        // could only collect grants and reversals that miss the real buyer).
        #expect(try fixture.count("customers") == 0)
        #expect(try fixture.order("cs_test_a1ExpiredSession0003xYz9Qw2Er4Ty6Ui8Op0As2Df4Gh6Jk8Lz1X")?.customerID == nil)
    }

    @Test func sessionWeCreatedNeedsNoStripeCall() throws {
        try fixture.created("cs_test_ours_1", product: "credit-pack", quantity: 3)
        let body = try StripeFixtures.variant(
            "checkout.session.completed.payment_card",
            object: ["id": "cs_test_ours_1", "metadata": ["product": "credit-pack", "quantity": "3"]])
        #expect(fixture.status(fixture.deliver(body)) == "processed")
        #expect(fixture.stripe.requests.isEmpty)
        let balance = try fixture.context.store.withConnection { connection -> Int64? in
            guard let customer = try CustomerRepository(connection, prefix: .standard).find(reference: "cus_TnK8pQ2vXw4LmA") else { return nil }
            return try CreditLedger(connection, prefix: .standard).creditBalance(customerID: customer)
        }
        #expect(balance == 300)
        #expect(try fixture.count("licenses") == 0)
    }

    @Test func severalLinesGrantEachOnce() throws {
        fixture.stripe.lineItems(session: "cs_test_multi", [("price_1Pro", 2, 9800), ("price_1Credits", 1, 1500), ("price_1Course", 1, 3000)])
        let body = try StripeFixtures.variant("checkout.session.completed.payment_card", object: ["id": "cs_test_multi"])
        #expect(fixture.status(fixture.deliver(body)) == "processed")
        #expect(try fixture.count("grants") == 3)
        #expect(try fixture.count("licenses", "activation_limit = 6") == 1)  // 2 × 3 sites
        #expect(try fixture.count("credit_ledger", "delta = 100") == 1)
        #expect(try fixture.count("grants", "entitlement = 'course-101'") == 1)
        #expect(try fixture.count("outbox", "kind = 'notification'") == 3)
        // The credits receipt names what the credits cost, not the whole cart.
        #expect(try fixture.count("outbox", "kind = 'credits_receipt' AND payload LIKE '%15.00 USD%'") == 1)
    }

    @Test func unknownPriceFlagsTheOrderInsteadOfDroppingIt() throws {
        fixture.stripe.lineItems(session: "cs_test_unknown", [("price_1Unknown", 1), ("price_1Credits", 1)])
        let body = try StripeFixtures.variant("checkout.session.completed.payment_card", object: ["id": "cs_test_unknown"])
        #expect(fixture.status(fixture.deliver(body)) == "processed")
        let order = try #require(try fixture.order("cs_test_unknown"))
        #expect(order.status == .paid)
        #expect(order.attention == "not in the catalogue: price price_1Unknown")
        #expect(try fixture.count("grants") == 1)  // the known line is granted
    }

    @Test func zeroDecimalCurrencyIsKeptInMinorUnits() throws {
        try fixture.created("cs_test_jpy", product: "course")
        let body = try StripeFixtures.variant(
            "checkout.session.completed.payment_card",
            object: ["id": "cs_test_jpy", "currency": "jpy", "amount_total": 5000, "metadata": ["product": "course"]])
        #expect(fixture.status(fixture.deliver(body)) == "processed")
        let order = try #require(try fixture.order("cs_test_jpy"))
        #expect(order.amountTotal == 5000)
        #expect(order.currency == "JPY")
    }

    @Test func otherModeIsRecordedNotApplied() throws {
        let body = try StripeFixtures.variant("checkout.session.completed.payment_card", event: ["livemode": true])
        #expect(fixture.status(fixture.deliver(body)) == "other_mode")
        #expect(try fixture.outcome("evt_1SnKcsCompletedPay01") == .otherMode)
        #expect(try fixture.count("orders") == 0)
        #expect(fixture.status(fixture.deliver(body)) == "duplicate")
    }

    @Test func unknownTypesAreIgnoredAndRecorded() throws {
        let body = try StripeFixtures.variant("charge.succeeded", event: ["type": "customer.tax_id.created", "id": "evt_unknown_1"])
        #expect(fixture.status(fixture.deliver(body)) == "ignored")
        #expect(try fixture.outcome("evt_unknown_1") == .ignored)
    }

    @Test func badSignaturesWriteNothing() throws {
        let body = try StripeFixtures.load("checkout.session.completed.payment_card")
        for signature in [
            "", "t=1767268900", "t=1767268900,v1=00", StripeFixtures.signature(body, secret: "whsec_wrong", at: fixture.now),
            StripeFixtures.signature(body, secret: ServiceFixture.secret, at: fixture.now.addingTimeInterval(-301)),
        ] {
            let response = fixture.deliver(body, signature: signature)
            #expect(response.status.code == 400, "\(signature)")
            #expect(fixture.errorCode(response) == "invalid_signature")
        }
        var tampered = body
        tampered[tampered.count / 2] ^= 0x01
        #expect(fixture.deliver(tampered, signature: StripeFixtures.signature(body, secret: ServiceFixture.secret, at: fixture.now)).status.code == 400)
        #expect(try fixture.count("events") == 0)
        #expect(try fixture.count("orders") == 0)
    }

    @Test func noConfiguredSecretRefusesEveryDelivery() throws {
        var configuration = fixture.context.configuration
        configuration.stripe.webhookSecrets = []
        let unconfigured = Context(store: fixture.context.store, clock: fixture.context.clock, configuration: configuration, logger: fixture.context.logger)
        let response = fixture.deliver(try StripeFixtures.load("checkout.session.completed.payment_card"), context: unconfigured)
        #expect(response.status.code == 503)
        #expect(fixture.errorCode(response) == "unavailable")
        #expect(try fixture.count("events") == 0)
    }

    @Test func signedGarbageIsABadRequest() throws {
        for body in [
            "not json", "[1,2]", #"{"id":"evt_1","object":"event"}"#,
            #"{"id":"nope","object":"event","type":"x","livemode":false,"created":1,"data":{"object":{}}}"#,
        ] {
            let response = fixture.deliver(Array(body.utf8))
            #expect(response.status.code == 400, "\(body)")
            #expect(fixture.errorCode(response) == "invalid_request")
        }
        #expect(try fixture.count("events") == 0)
    }

    @Test func unreadableShapeIsRecordedAsFailedAndRetried() throws {
        let body = try StripeFixtures.variant("checkout.session.completed.payment_card", object: ["amount_total": "4900"])
        let response = fixture.deliver(body)
        #expect(response.status.code == 500)
        #expect(String(decoding: response.body, as: UTF8.self).contains("data.object.amount_total: expected an integer"))
        #expect(try fixture.outcome("evt_1SnKcsCompletedPay01") == .failed)
        #expect(try fixture.count("orders") == 0)
        // Once the payload is readable (here: the real one), the same event id is applied.
        #expect(fixture.status(try fixture.deliver("checkout.session.completed.payment_card")) == "processed")
        #expect(try fixture.count("licenses") == 1)
    }

    @Test func stripeUnreachableIsABadGatewayAndWritesNothing() throws {
        var configuration = fixture.context.configuration
        configuration.stripe.apiBase = "http://127.0.0.1:\(TestPaths.freePort())"
        var offline = Context(store: fixture.context.store, clock: fixture.context.clock, configuration: configuration, logger: fixture.context.logger)
        offline.stripe.backoff = { _ in 0.01 }
        let response = fixture.deliver(try StripeFixtures.load("checkout.session.completed.payment_card"), context: offline)
        #expect(response.status.code == 502)
        #expect(fixture.errorCode(response) == "upstream_error")
        #expect(try fixture.count("events") == 0)
        #expect(try fixture.count("orders") == 0)
    }

    @Test func missingLicensingSecretsRollBackAndAsk503() throws {
        var configuration = fixture.context.configuration
        configuration.licensing.keyPepper = nil
        let unconfigured = Context(store: fixture.context.store, clock: fixture.context.clock, configuration: configuration, logger: fixture.context.logger)
        let response = fixture.deliver(try StripeFixtures.load("checkout.session.completed.payment_card"), context: unconfigured)
        #expect(response.status.code == 503)
        #expect(try fixture.count("orders") == 0)
        #expect(try fixture.count("events") == 0)
        #expect(fixture.status(try fixture.deliver("checkout.session.completed.payment_card")) == "processed")
    }

    @Test func olderAPIVersionSessionIsRead() throws {
        let body = try StripeFixtures.variant(
            "pay-rails.checkout.session.completed.subscription.2020-08-27",
            object: ["metadata": ["product": "course"]])
        try fixture.created(try ServiceFixture.objectID(body), product: "course")
        #expect(fixture.status(fixture.deliver(body)) == "processed")
        #expect(try fixture.count("grants") == 1)
    }

    @Test func databaseGoneAnswers503() throws {
        let gone = Store(
            options: ConnectionOptions(socket: "/nonexistent.sock", user: "x", database: "x", connectTimeoutSeconds: 1),
            prefix: .standard, logger: Logger(label: "test"))
        let offline = Context(store: gone, clock: fixture.context.clock, configuration: fixture.context.configuration, logger: fixture.context.logger)
        let body = try StripeFixtures.load("checkout.session.completed.payment_card")
        let response = fixture.deliver(body, context: offline)
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
