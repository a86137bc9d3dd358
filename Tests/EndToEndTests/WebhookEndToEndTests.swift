import Foundation
import MariaStore
import TestSupport
import Testing

/// Stripe deliveries through nginx to the real binary, many workers at once.
@Suite("Stripe webhook through nginx")
struct WebhookEndToEndTests {
    static let secret = "whsec_e2e_endpoint_secret"
    static let cardSession = "cs_test_a1PayCardOneOffLicence0001xYz9Qw2Er4Ty6Ui8Op0As2Df4Gh6Jk8"

    static let sealingKeyHex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

    static func settings(stripe: FakeStripeServer, extraLicensing: String = "", extraStripe: String = "") -> String {
        """

        [stripe]
        webhook_secret = \(secret)
        secret_key = \(FakeStripeServer.secretKey)
        api_base = \(stripe.baseURL)
        timeout_seconds = 3
        \(extraStripe)

        [licensing]
        key_pepper = e2e-pepper-0123456789abcdef0123456789
        key_encryption_key = \(sealingKeyHex)
        \(extraLicensing)
        """
    }

    static let catalogue = """
        [pro-license]
        name = Pro license
        kind = license
        stripe_price_id = price_1Pro
        tier = pro
        activation_limit = 3
        duration_days = 365

        [credit-pack]
        name = 100 credits
        kind = credits
        stripe_price_id = price_1Credits
        credits = 100

        [pro-monthly]
        name = Pro monthly
        kind = subscription
        stripe_price_id = price_1SnKmonthlyLic0001
        activation_limit = 2
        credits = 50
        """

    let stripe: FakeStripeServer
    let stack: Stack
    let nginx: NginxServer

    init() throws {
        try self.init(database: nil)
    }

    init(
        database: ConnectionOptions?, extraSettings: String = "", extraStripe: String = "",
        owner: (options: ConnectionOptions, grant: (ConnectionOptions) throws -> Void)? = nil
    ) throws {
        stripe = try FakeStripeServer()
        stripe.lineItems(session: Self.cardSession, [("price_1Pro", 1)])
        stripe.lineItems(session: "cs_test_a1PayAsyncSepaLicence0002xYz9Qw2Er4Ty6Ui8Op0As2Df4Gh6Jk8", [("price_1Pro", 1)])
        stripe.lineItems(session: "cs_test_b1SubscriptionMonthly0004xYz9Qw2Er4Ty6Ui8Op0As2Df4Gh6Jk8", [("price_1SnKmonthlyLic0001", 1)])
        stripe.lineItems(session: "cs_test_a1UejXx8ebIdTzFolicVypUAZpOBVkoQKDbaarXoPlPVtj8p0zujPEEhjT", [("price_1Credits", 1)])
        stripe.answersSubscriptionQuestions(subscription: try StripeFixtures.object("customer.subscription.created"))
        let settings = Self.settings(stripe: stripe, extraLicensing: extraSettings, extraStripe: extraStripe)
        if let owner, let database {
            stack = try Stack(workers: 8, database: database, owner: owner.options, extra: settings, grant: owner.grant)
        } else {
            stack = try Stack(workers: 8, database: database, extra: settings)
        }
        let catalogue = stack.service.directory + "/catalogue.ini"
        try Self.catalogue.write(toFile: catalogue, atomically: true, encoding: .utf8)
        let imported = try ChildProcess.run(TestPaths.binary, ["catalog", "import", "--config", stack.service.configPath, catalogue])
        guard imported.status == 0 else { throw TestSupportError("catalog import failed: \(imported.output)") }
        nginx = try NginxServer(serviceSocket: stack.service.socketPath)
    }

    func deliver(_ body: [UInt8]) throws -> HTTPClient.Reply {
        try HTTPClient.send(
            port: nginx.port, method: "POST", path: "/payments/stripe/webhook",
            headers: [
                ("Content-Type", "application/json; charset=utf-8"),
                ("Stripe-Signature", StripeFixtures.signature(body, secret: Self.secret)),
            ],
            body: body)
    }

    func count(_ table: String, _ condition: String = "1 = 1") throws -> Int64 {
        let store = Store(options: stack.database, prefix: .standard, logger: .init(label: "test"))
        defer { store.close() }
        return try store.withConnection { try $0.queryOne("SELECT COUNT(*) AS n FROM pfc_\(table) WHERE \(condition)")!.int("n") }
    }

    @Test func realCheckoutEventIsFulfilledThroughNginx() throws {
        let reply = try deliver(try StripeFixtures.load("checkout.session.completed.payment_card"))
        #expect(reply.status == 200, "\(reply.text) \(stack.service.log)")
        #expect(reply.json["status"] as? String == "processed")
        #expect(try count("licenses") == 1)
        #expect(try count("orders", "status = 'paid'") == 1)
        #expect(try count("outbox", "kind = 'license_email'") == 1)
        #expect(stack.service.log.contains("result=processed"))
    }

    @Test func everyFixtureEndsInTheRightRecords() throws {
        let expected: [(String, String)] = [
            ("checkout.session.completed.payment_card", "processed"), ("payment_intent.succeeded", "processed"),
            ("charge.succeeded", "processed"), ("checkout.session.completed.payment_async_unpaid", "processed"),
            ("payment_intent.processing", "processed"), ("checkout.session.async_payment_succeeded", "processed"),
            ("checkout.session.async_payment_failed", "processed"), ("payment_intent.payment_failed", "processed"),
            ("charge.failed", "processed"), ("checkout.session.expired", "processed"),
            ("checkout.session.completed.subscription", "processed"), ("customer.subscription.created", "processed"),
            ("invoice.paid", "processed"), ("invoice.payment_succeeded", "ignored"),
            ("customer.subscription.updated.cancel_at_period_end", "processed"), ("invoice.payment_failed", "processed"),
            ("customer.subscription.updated.past_due", "processed"), ("customer.subscription.deleted", "processed"),
            ("charge.refunded.partial", "processed"), ("refund.created", "processed"), ("charge.refunded.full", "processed"),
            ("charge.dispute.created", "processed"), ("charge.dispute.closed.lost", "processed"),
            ("pay-rails.checkout.session.completed.subscription.2020-08-27", "processed"),
        ]
        for (fixture, status) in expected {
            let reply = try deliver(try StripeFixtures.load(fixture))
            #expect(reply.status == 200, "\(fixture): \(reply.text)")
            #expect(reply.json["status"] as? String == status, "\(fixture): \(reply.text)")
        }
        #expect(try count("events") == Int64(expected.count))
        #expect(try count("orders") == 5)
        #expect(try count("orders", "session_id = '\(Self.cardSession)' AND status = 'refunded' AND amount_refunded = 4900") == 1)
        #expect(try count("orders", "session_id LIKE 'cs_test_a1PayAsyncSepa%' AND status = 'paid'") == 1)
        #expect(try count("orders", "session_id LIKE 'cs_test_a1Expired%' AND status = 'expired'") == 1)
        #expect(try count("licenses") == 3)  // card (refunded), SEPA, subscription
        #expect(try count("licenses", "status = 'refunded'") == 1)
        #expect(try count("subscriptions", "status = 'canceled'") == 1)
        #expect(try count("payments", "payment_intent = 'pi_3SnKpayFail0000003' AND failure_code = 'generic_decline'") == 1)
        #expect(try count("payments", "payment_intent = 'pi_3SnKpayCard0000001' AND risk_level = 'normal' AND amount_refunded = 4900") == 1)
        #expect(try count("disputes", "status = 'lost'") == 1)
        #expect(try count("credit_ledger", "source = 'subscription' AND delta = 50") == 1)
        #expect(try count("credit_ledger", "source = 'order' AND delta = 100") == 1)  // the 2020-08-27 session
        #expect(try count("outbox", "kind = 'license_email'") == 3)
        #expect(try count("outbox", "kind = 'payment_failed_email'") == 1)
    }

    /// Duplicates wait for the first delivery and answer `duplicate`: never a 5xx (which would
    /// make Stripe deliver again) and never an outage in the log. Ten storms of 50 copies, each
    /// of an event that grants a new order.
    @Test func fiftySimultaneousDeliveriesOfOneEventGrantOnce() throws {
        let rounds = 10
        for round in 0..<rounds {
            stripe.lineItems(session: "cs_test_storm\(round)", [("price_1Pro", 1)])
            let body = try StripeFixtures.variant(
                "checkout.session.completed.payment_card", event: ["id": "evt_storm_\(round)"],
                object: ["id": "cs_test_storm\(round)"])
            let signature = StripeFixtures.signature(body, secret: Self.secret)
            let replies = Simultaneously.send(50, port: nginx.port) { _ in
                ("POST", "/payments/stripe/webhook", [("Content-Type", "application/json; charset=utf-8"), ("Stripe-Signature", signature)], body)
            }
            let statuses = replies.map { reply in "\(reply?.status ?? 0) \(reply?.json["status"] as? String ?? reply?.text ?? "no reply")" }
            #expect(statuses.filter { $0 == "200 processed" }.count == 1, "round \(round): \(statuses)")
            #expect(statuses.filter { $0 == "200 duplicate" }.count == 49, "round \(round): \(statuses)")
        }
        #expect(try count("licenses") == Int64(rounds))
        #expect(try count("grants") == Int64(rounds))
        #expect(try count("events") == Int64(rounds))
        #expect(try count("outbox", "kind = 'license_email'") == Int64(rounds))
        #expect(!stack.service.log.contains("database unavailable"))
    }

    @Test func simultaneousDistinctEventsForOneSessionGrantOnce() throws {
        let statuses = Statuses()
        let bodies = try (0..<20).map { try StripeFixtures.variant("checkout.session.completed.payment_card", event: ["id": "evt_concurrent_\($0)"]) }
        let replies = Simultaneously.send(20, port: nginx.port) { index in
            (
                "POST", "/payments/stripe/webhook",
                [
                    ("Content-Type", "application/json; charset=utf-8"),
                    ("Stripe-Signature", StripeFixtures.signature(bodies[index], secret: Self.secret)),
                ], bodies[index]
            )
        }
        for reply in replies { statuses.add("\(reply?.status ?? 0) \(reply?.json["status"] as? String ?? reply?.text ?? "no reply")") }
        #expect(statuses.all.filter { $0 == "200 processed" }.count == 20, "\(statuses.all)")
        #expect(try count("licenses") == 1)
        #expect(try count("grants") == 1)
        #expect(try count("events", "outcome = 'processed'") == 20)
    }

    @Test func wrongSignatureThroughNginxIs400AndWritesNothing() throws {
        let body = try StripeFixtures.load("checkout.session.completed.payment_card")
        let reply = try HTTPClient.send(
            port: nginx.port, method: "POST", path: "/payments/stripe/webhook",
            headers: [("Content-Type", "application/json"), ("Stripe-Signature", StripeFixtures.signature(body, secret: "whsec_wrong"))],
            body: body)
        #expect(reply.status == 400)
        #expect(reply.errorCode == "invalid_signature")
        #expect(try count("events") == 0)
    }

    @Test func failedEventsAreListedAndReplayed() throws {
        // An event this version cannot read is recorded as failed and answered 500.
        let unreadable = try StripeFixtures.variant("charge.refunded.full", event: ["id": "evt_unreadable_1"], object: ["amount": "lots"])
        let reply = try deliver(unreadable)
        #expect(reply.status == 500)
        #expect(reply.errorCode == "event_not_processed")
        // One an earlier version stored as failed (with its payload) is applied by a replay.
        let store = Store(options: stack.database, prefix: .standard, logger: .init(label: "test"))
        defer { store.close() }
        try store.transaction { connection in
            try EventLedger(connection, prefix: .standard).record(
                id: "evt_3SnKchSucceeded0001", type: "charge.succeeded", livemode: false, apiVersion: nil, created: 1,
                receivedAt: Date(), outcome: .failed, error: "not applied by version 0", payload: try StripeFixtures.load("charge.succeeded"))
        }
        let list = try ChildProcess.run(TestPaths.binary, ["events", "list", "--failed", "--config", stack.service.configPath])
        #expect(list.status == 0)
        #expect(list.output.contains("evt_unreadable_1\tcharge.refunded\tfailed\tthe event's shape cannot be read: data.object.amount: expected an integer"))
        #expect(list.output.contains("evt_3SnKchSucceeded0001\tcharge.succeeded\tfailed"))
        let replay = try ChildProcess.run(TestPaths.binary, ["events", "replay", "evt_3SnKchSucceeded0001", "--config", stack.service.configPath])
        #expect(replay.status == 0, "\(replay.output)")
        #expect(replay.output.contains("evt_3SnKchSucceeded0001: processed"))
        #expect(try count("payments", "payment_intent = 'pi_3SnKpayCard0000001' AND risk_level = 'normal'") == 1)
        let again = try ChildProcess.run(TestPaths.binary, ["events", "replay", "evt_unreadable_1", "--config", stack.service.configPath])
        #expect(again.status == 1)
        #expect(again.output.contains("still not processed"))
    }

    @Test func catalogueCommandsManageProducts() throws {
        let config = stack.service.configPath
        let list = try ChildProcess.run(TestPaths.binary, ["catalog", "list", "--config", config])
        #expect(list.output.contains("pro-license\tPro license\tlicense, price_1Pro, tier pro, 3 sites, 365 days"))
        #expect(list.output.contains("credit-pack\t100 credits\tcredits, price_1Credits, 100 credits"))
        let add = try ChildProcess.run(
            TestPaths.binary,
            [
                "catalog", "add", "course", "--kind", "entitlement", "--entitlement", "course-101",
                "--price", "price_1Course", "--config", config,
            ])
        #expect(add.status == 0, "\(add.output)")
        let bad = try ChildProcess.run(TestPaths.binary, ["catalog", "add", "broken", "--kind", "credits", "--config", config])
        #expect(bad.status != 0)
        #expect(bad.output.contains("a credits product needs credits"))
        #expect(try ChildProcess.run(TestPaths.binary, ["catalog", "remove", "course", "--config", config]).status == 0)
        #expect(try ChildProcess.run(TestPaths.binary, ["catalog", "remove", "course", "--config", config]).status == 1)
        #expect(try count("products") == 3)
    }
}

@Suite("Stripe webhook while the database goes away", .serialized)
struct WebhookOutageTests {
    @Test func databaseStoppedMidRunLosesNothing() throws {
        let server = try MariaDBServer.start()
        defer { try? server.down() }
        let test = try WebhookEndToEndTests(database: try server.createDatabase("whdown"))
        let first = try StripeFixtures.load("checkout.session.completed.payment_card")
        #expect(try test.deliver(first).status == 200)

        test.stripe.lineItems(session: "cs_test_outage", [("price_1Credits", 1)])
        try server.down()
        let second = try StripeFixtures.variant(
            "checkout.session.completed.payment_card",
            event: ["id": "evt_during_outage"], object: ["id": "cs_test_outage", "metadata": ["product": "credit-pack"]])
        for _ in 0..<3 {
            let reply = try test.deliver(second)
            #expect(reply.status == 503)
            #expect(reply.errorCode == "unavailable")
        }
        try server.up()
        // Stripe redelivers both: the new one is applied once, the old one is a duplicate.
        #expect(try test.deliver(second).json["status"] as? String == "processed")
        #expect(try test.deliver(second).json["status"] as? String == "duplicate")
        #expect(try test.deliver(first).json["status"] as? String == "duplicate")
        #expect(try test.count("events") == 2)
        #expect(try test.count("credit_ledger") == 1)
        #expect(try test.count("licenses") == 1)
    }
}
