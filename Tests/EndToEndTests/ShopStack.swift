import Foundation
import Handlers
import MariaStore
import TestSupport

/// The selling path as a seller deploys it: the service behind nginx with the catalogue, API
/// and admin keys, checkout settings, a fake Stripe and a fake WooCommerce shop — and the
/// ways its callers reach it (the WordPress server with its key, a buyer's browser, Stripe).
struct ShopStack {
    static let apiKey = "wp-api-key-0123456789abcdefghij"
    static let adminKey = "wp-admin-key-0123456789abcdefghij"
    static let cardSession = "cs_test_a1PayCardOneOffLicence0001xYz9Qw2Er4Ty6Ui8Op0As2Df4Gh6Jk8"
    static let subscriptionSession = "cs_test_b1SubscriptionMonthly0004xYz9Qw2Er4Ty6Ui8Op0As2Df4Gh6Jk8"

    let web: WebhookEndToEndTests
    let woo: FakeWooCommerceServer

    init(
        extraStripe: String = "", extraCheckout: String = "", extraLicensing: String = "", database: ConnectionOptions? = nil,
        owner: (options: ConnectionOptions, grant: (ConnectionOptions) throws -> Void)? = nil
    ) throws {
        woo = try FakeWooCommerceServer()
        web = try WebhookEndToEndTests(
            database: database,
            extraSettings: """
                \(extraLicensing)

                [api]
                key = \(Self.apiKey)
                admin_key = \(Self.adminKey)

                [checkout]
                allowed_origins = https://shop.example.com
                public_url = https://shop.example.com/payments
                return_url = https://shop.example.com/account
                max_quantity = 10
                \(extraCheckout)

                [woocommerce]
                url = \(woo.baseURL)
                consumer_key = \(FakeWooCommerceServer.consumerKey)
                consumer_secret = \(FakeWooCommerceServer.consumerSecret)

                [delivery]
                interval_seconds = 1
                """, extraStripe: extraStripe, owner: owner)
    }

    var port: Int { web.nginx.port }
    var stripe: FakeStripeServer { web.stripe }
    var config: String { web.stack.service.configPath }

    /// The WordPress server's call: JSON with the API key (and any other headers).
    func api(_ method: String, _ path: String, json: String? = nil, key: String? = apiKey, headers: [(String, String)] = []) throws -> HTTPClient.Reply {
        var all = headers
        if let key { all.append(("Authorization", "Bearer \(key)")) }
        if json != nil { all.append(("Content-Type", "application/json")) }
        return try HTTPClient.send(port: port, method: method, path: "/payments" + path, headers: all, body: Array((json ?? "").utf8))
    }

    /// A browser posting a form (no key), with its cookie if it has one.
    func form(_ path: String, _ fields: [(String, String)], cookie: String? = nil) throws -> HTTPClient.Reply {
        var headers = [("Content-Type", "application/x-www-form-urlencoded")]
        if let cookie { headers.append(("Cookie", cookie)) }
        return try HTTPClient.send(port: port, method: "POST", path: "/payments" + path, headers: headers, body: Array(FormEncoding.encode(fields).utf8))
    }

    /// A browser opening a page, with its cookie if it has one.
    func page(_ path: String, cookie: String? = nil) throws -> HTTPClient.Reply {
        try HTTPClient.send(port: port, path: "/payments" + path, headers: cookie.map { [("Cookie", $0)] } ?? [])
    }

    /// Stripe delivering a signed event.
    func deliver(_ body: [UInt8]) throws -> HTTPClient.Reply { try web.deliver(body) }

    /// A `checkout.session.completed` event (a new event id) for `session`, from the paid card
    /// fixture with `changes` to its session object.
    static func completed(_ session: String, _ changes: [String: Any] = [:], fixture: String = "checkout.session.completed.payment_card") throws -> [UInt8] {
        var object = changes
        object["id"] = session
        return try StripeFixtures.variant(fixture, event: ["id": "evt_\(UUID().uuidString.prefix(12).lowercased())"], object: object)
    }

    /// A fixture's session object, as `GET /v1/checkout/sessions/{id}` answers it.
    static func sessionJSON(_ fixture: String, _ changes: [String: Any] = [:]) throws -> String {
        let event = try JSONSerialization.jsonObject(with: Data(try StripeFixtures.load(fixture))) as? [String: Any] ?? [:]
        var object = (event["data"] as? [String: Any])?["object"] as? [String: Any] ?? [:]
        for (key, value) in changes { object[key] = value }
        return String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self)
    }

    /// The `pfc_checkout=…` pair a reply set, as a browser sends it back.
    static func cookie(of reply: HTTPClient.Reply) -> String? {
        reply.header("Set-Cookie")?.split(separator: ";").first.map(String.init)
    }

    /// The session id at the end of the Stripe URL a reply redirected to.
    static func sessionID(redirectedBy reply: HTTPClient.Reply) -> String? {
        reply.header("Location")?.split(separator: "/").last.map(String.init)
    }

    func count(_ table: String, _ condition: String = "1 = 1") throws -> Int64 { try web.count(table, condition) }

    /// One value from the database (`SELECT … AS v`).
    func value(_ sql: String, _ parameters: [any SQLBindable] = []) throws -> String? {
        let store = Store(options: web.stack.database, prefix: .standard, logger: .init(label: "test"))
        defer { store.close() }
        return try store.withConnection { try $0.queryOne(sql, parameters)?.optionalString("v") }
    }

    /// Empties every table events and calls write to (the catalogue stays): a new customer's life.
    func reset() throws {
        let store = Store(options: web.stack.database, prefix: .standard, logger: .init(label: "test"))
        defer { store.close() }
        try store.withConnection { connection in
            for table in [
                "events", "customers", "customer_stripe_ids", "orders", "grants", "licenses", "activations", "credit_ledger", "credit_balances", "outbox",
                "payments", "payment_history", "disputes", "subscriptions", "invoices", "refunds", "audit_log", "checkouts",
                "refund_requests", "key_rotation_requests", "rate_limits",
            ] {
                try connection.execute("DELETE FROM pfc_\(table)")
            }
        }
    }

    /// The key a license email in the outbox carries (opened as the deliverer opens it).
    func emailedKeys() throws -> [String] {
        let store = Store(options: web.stack.database, prefix: .standard, logger: .init(label: "test"))
        defer { store.close() }
        let rows = try store.withConnection {
            try $0.query("SELECT payload, sealed FROM pfc_outbox WHERE kind = 'license_email' AND sealed IS NOT NULL ORDER BY id")
        }
        let box = SecretBox(key: Hex.decode(WebhookEndToEndTests.sealingKeyHex) ?? [])
        return try rows.compactMap { row in
            let payload = try JSONSerialization.jsonObject(with: Data(try row.string("payload").utf8)) as? [String: Any]
            guard let id = payload?["license_id"] as? Int, let key = box?.open(try row.bytes("sealed"), context: Array("license:\(id)".utf8)) else {
                return nil
            }
            return String(decoding: key, as: UTF8.self)
        }
    }

    /// A license verdict through nginx, as a plugin asks for it.
    func verify(_ key: String, site: String = "https://customer.example.com") throws -> String? {
        try form("/license/verify", [("license_key", key), ("site_url", site)]).json["status"] as? String
    }
}
