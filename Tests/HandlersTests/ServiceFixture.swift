import Foundation
import Handlers
import Logging
import MariaStore
import TestSupport
import Testing

/// The service as the handler tests use it: a fresh database of the shared MariaDB, migrated,
/// with a small catalogue; a local fake Stripe; the webhook secret and licensing secrets set;
/// and helpers to deliver events and read what they wrote. One per test (suites build it in
/// their `init`).
struct ServiceFixture {
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
            try products.save(
                Product(
                    product: "pro-license", name: "Pro license", kind: .license, stripePriceID: "price_1Pro",
                    tier: "pro", activationLimit: 3, durationDays: 365), actor: "test", now: Date())
            try products.save(
                Product(product: "credit-pack", name: "100 credits", kind: .credits, stripePriceID: "price_1Credits", credits: 100), actor: "test", now: Date())
            try products.save(
                Product(product: "course", name: "Course", kind: .entitlement, stripePriceID: "price_1Course", entitlement: "course-101"), actor: "test",
                now: Date())
            try products.save(
                Product(
                    product: "pro-monthly", name: "Pro monthly", kind: .subscription, stripePriceID: "price_1SnKmonthlyLic0001",
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
            for table in [
                "events", "customers", "customer_stripe_ids", "orders", "grants", "licenses", "credit_ledger", "credit_balances", "outbox", "payments",
                "payment_history", "disputes", "subscriptions", "audit_log", "checkouts", "refund_requests", "key_rotation_requests",
            ] {
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
        InProcessClient().send(
            "POST", "/stripe/webhook",
            headers: [
                ("Content-Type", "application/json; charset=utf-8"),
                ("Stripe-Signature", signature ?? StripeFixtures.signature(body, secret: Self.secret, at: now)),
            ], body: body, context: context ?? self.context)
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
}
