import Foundation
import Handlers
import MariaStore
import TestSupport
import Testing

/// Every change leaves its audit entry: a month of Stripe events and operator actions (from
/// the admin page and the command line), run by a service whose database account may only
/// read and append to the audit log, and then every row that changed is looked up in it.
@Suite("Audit trail", .serialized)
struct AuditTrailTests {
    static let account = "pfc_service_\(UUID().uuidString.prefix(6).lowercased())"

    @Test func everyChangedRowOfAMonthHasItsAuditEntry() throws {
        let admin = try AdminShop(serviceAccount: Self.account)
        let shop = admin.shop
        try admin.addAdmin("boss@example.com")
        try admin.seedMonth()
        shop.stripe.on("POST", "/v1/refunds", .json(200, #"{"id":"re_audit_1","object":"refund","status":"succeeded","amount":500}"#))

        // The command line: the catalogue, a license by hand.
        for arguments in [
            ["catalog", "add", "gift-pack", "--name", "Gift", "--kind", "credits", "--price", "price_1Gift", "--credits", "5"],
            ["catalog", "remove", "gift-pack"],
            ["license", "issue", "pro-license", "--email", "gifted@example.com"],
        ] {
            let run = try ChildProcess.run(TestPaths.binary, arguments + ["--config", shop.config])
            #expect(run.status == 0, "\(arguments): \(run.output)")
        }
        // An order for a price the catalogue did not know, fulfilled once it does.
        shop.stripe.lineItems(session: "cs_test_audit_unknown", [("price_1Unknown", 1, 700)])
        shop.stripe.on(
            "GET", "/v1/checkout/sessions/cs_test_audit_unknown",
            .json(
                200,
                try ShopStack.sessionJSON(
                    "checkout.session.completed.payment_card",
                    [
                        "id": "cs_test_audit_unknown", "customer_details": ["email": "flagged@example.com"], "amount_total": 700,
                        "payment_intent": "pi_audit_unknown",
                        "customer": "cus_flagged",
                    ])))
        _ = try shop.deliver(
            try ShopStack.completed(
                "cs_test_audit_unknown",
                [
                    "customer_details": ["email": "flagged@example.com"], "amount_total": 700,
                    "payment_intent": "pi_audit_unknown", "customer": "cus_flagged",
                ]))
        let added = try ChildProcess.run(
            TestPaths.binary,
            [
                "catalog", "add", "late-pack", "--name", "Late", "--kind", "credits", "--price", "price_1Unknown",
                "--credits", "7", "--config", shop.config,
            ])
        #expect(added.status == 0, "\(added.output)")

        // The admin page: a key activated on two sites first.
        let key = try #require(try shop.emailedKeys().first)
        for site in ["https://one.example.com", "https://two.example.com"] {
            #expect(try shop.form("/license/activate", [("license_key", key), ("site_url", site)]).json["status"] as? String == "active")
        }
        let license = try #require(try shop.value("SELECT MIN(id) AS v FROM pfc_licenses"))
        let owner = try #require(try shop.value("SELECT customer_id AS v FROM pfc_licenses WHERE id = ?", [Int64(license)!]))
        let (_, cookie) = try admin.signIn("boss@example.com")
        let session = try #require(cookie)
        let csrf = try admin.csrf(cookie: session)
        func act(_ action: String, _ fields: [(String, String)]) throws {
            let reply = try shop.form("/admin/actions/\(action)", [("csrf", csrf), ("confirm", "yes")] + fields, cookie: session)
            #expect(reply.status == 303, "\(action): \(reply.status) \(reply.text.prefix(600))")
        }
        let paid = AdminShop.sales[2]
        try act("refund", [("payment_intent", paid.intent), ("amount", "5.00"), ("idempotency_key", "k1")])
        try act("revoke", [("license", license), ("reason", "chargeback suspected")])
        try act("reinstate", [("license", license), ("reason", "cleared")])
        try act("extend", [("license", license), ("days", "30")])
        try act("deactivate-site", [("license", license), ("site", "https://two.example.com")])
        try act("rotate-key", [("license", license)])
        try act("credits", [("customer", owner), ("delta", "25"), ("reason", "goodwill"), ("idempotency_key", "c1")])
        try act("credits", [("customer", owner), ("delta", "-5"), ("reason", "correction"), ("idempotency_key", "c2")])
        try act("fulfil", [("session", "cs_test_audit_unknown")])
        let message = try #require(try shop.value("SELECT MIN(id) AS v FROM pfc_outbox WHERE delivered_at IS NULL"))
        try act("retry-outbox", [("message", message)])
        let broken = try #require(try shop.value("SELECT id AS v FROM pfc_events WHERE outcome = 'failed' LIMIT 1"))
        try act("replay", [("event", broken)])
        let erased = try #require(try shop.value("SELECT id AS v FROM pfc_customers WHERE email = ?", [AdminShop.sales[9].email]))
        try act("erase", [("customer", erased)])

        // Every row that a change made or changed, and the audit entry it must have. (Messages
        // an erasure stopped are covered by the customer's `erased` entry; the events ledger
        // and payment history are records of what Stripe said, audit trails of their own.)
        let missing = try shop.value(
            """
            SELECT GROUP_CONCAT(what SEPARATOR ', ') AS v FROM (
                SELECT CONCAT('product ', product) AS what, 'product' AS subject, product AS id FROM pfc_products
                UNION ALL SELECT CONCAT('customer ', id), 'customer', CAST(id AS CHAR) FROM pfc_customers
                UNION ALL SELECT CONCAT('order ', session_id), 'order', session_id FROM pfc_orders
                UNION ALL SELECT CONCAT('grant ', g.id), 'order', o.session_id FROM pfc_grants g JOIN pfc_orders o ON o.id = g.order_id
                UNION ALL SELECT CONCAT('license ', id), 'license', CAST(id AS CHAR) FROM pfc_licenses
                UNION ALL SELECT CONCAT('activation ', site), 'license', CAST(license_id AS CHAR) FROM pfc_activations
                UNION ALL SELECT CONCAT('credits of ', customer_id), 'credits', CAST(customer_id AS CHAR) FROM pfc_credit_ledger
                UNION ALL SELECT CONCAT('payment ', payment_intent), 'payment', payment_intent FROM pfc_payments
                UNION ALL SELECT CONCAT('refund request ', idempotency_key), 'payment', payment_intent FROM pfc_refund_requests
                UNION ALL SELECT CONCAT('refund ', refund), 'refund', refund FROM pfc_refunds
                UNION ALL SELECT CONCAT('dispute ', dispute), 'dispute', dispute FROM pfc_disputes
                UNION ALL SELECT CONCAT('subscription ', subscription), 'subscription', subscription FROM pfc_subscriptions
                UNION ALL SELECT CONCAT('invoice ', invoice), 'invoice', invoice FROM pfc_invoices
                UNION ALL SELECT CONCAT('dead or retried message ', id), 'outbox', CAST(id AS CHAR) FROM pfc_outbox
                    WHERE (dead_at IS NOT NULL AND last_error <> 'the recipient was erased') OR id = ?
                UNION ALL SELECT CONCAT('admin ', id), 'admin', CAST(id AS CHAR) FROM pfc_admin_users
            ) changed
            WHERE NOT EXISTS (SELECT 1 FROM pfc_audit_log a WHERE a.subject_type = changed.subject
                              AND a.subject_id = CONVERT(changed.id USING utf8mb4) COLLATE utf8mb4_unicode_ci)
            """, [Int64(message)!])
        #expect(missing == nil, "rows without an audit entry: \(missing ?? "")")
        // The operator's actions name the operator; removed products keep their entry.
        for action in [
            "refund_requested", "revoked", "reinstated", "extended", "deactivated", "key_rotated", "granted", "debited", "retried", "replayed", "erased",
        ] {
            #expect(try shop.count("audit_log", "action = '\(action)' AND actor = 'admin:boss@example.com'") >= 1, "\(action)")
        }
        #expect(try shop.count("audit_log", "subject_type = 'product' AND subject_id = 'gift-pack' AND action = 'removed' AND actor = 'operator:cli'") == 1)
        #expect(try shop.count("audit_log", "subject_type = 'dispute' AND before_state = 'needs_response' AND after_state = 'lost'") == 1)

        // The service's account cannot rewrite history.
        let store = Store(options: shop.web.stack.database, prefix: .standard, logger: .init(label: "test"))
        defer { store.close() }
        for statement in ["UPDATE pfc_audit_log SET actor = 'nobody'", "DELETE FROM pfc_audit_log", "DROP TABLE pfc_audit_log"] {
            #expect(throws: DatabaseError.self, "\(statement)") { try store.withConnection { try $0.execute(statement) } }
        }
        #expect(try shop.count("audit_log", "actor = 'nobody'") == 0)
    }
}
