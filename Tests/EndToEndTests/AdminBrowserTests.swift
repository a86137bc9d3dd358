import Foundation
import Handlers
import MariaStore
import TestSupport
import Testing

/// The admin page in a real browser (Debian's headless Chromium through chromium-driver and
/// Selenium, `Tests/Browser/admin_page.py`): signing in with and without TOTP, the dashboard's
/// charts drawn with the seeded month's numbers, a search, a refund the fake Stripe records, an
/// erasure. The screenshots are kept under `.build/test-artifacts/admin/` (or
/// `$PFC_TEST_ARTIFACTS`).
@Suite("Admin page in a browser", .serialized)
struct AdminBrowserTests {
    static var artifacts: String {
        let folder =
            ProcessInfo.processInfo.environment["PFC_TEST_ARTIFACTS"]
            ?? TestPaths.repositoryRoot.appendingPathComponent(".build/test-artifacts").path
        let directory = folder + "/admin"
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return directory
    }

    @Test func operatorSignsInSearchesRefundsAndErasesInChromium() throws {
        let admin = try AdminShop()
        try admin.addAdmin("boss@example.com")
        let secret = try #require(try admin.addAdmin("second.factor@example.com", totp: true))
        try admin.seedMonth()
        let refunded = AdminShop.sales[1]  // USD 49.00, yesterday
        let erased = AdminShop.sales[8]  // EUR 19.00
        admin.shop.stripe.on("POST", "/v1/refunds", .json(200, #"{"id":"re_admin_page_1","object":"refund","status":"succeeded","amount":1000}"#))
        let spec: [String: Any] = [
            "base": "http://127.0.0.1:\(admin.port)/payments/admin", "totp_admin": "second.factor@example.com", "totp_secret": Base32.encode(secret),
            "admin": "boss@example.com", "password": AdminShop.password, "refund_email": refunded.email, "refund_amount": "10.00",
            "erase_email": erased.email, "artifacts": Self.artifacts,
        ]
        let script = TestPaths.repositoryRoot.appendingPathComponent("Tests/Browser/admin_page.py").path
        let run = try ChildProcess.run(
            "/usr/bin/env", ["python3", script], input: String(decoding: try JSONSerialization.data(withJSONObject: spec), as: UTF8.self),
            seconds: 180)
        try #require(run.status == 0, "\(run.output)")
        let jsonLine = try #require(run.output.split(separator: "\n").last { $0.hasPrefix("{") })
        let seen = try #require(try JSONSerialization.jsonObject(with: Data(jsonLine.utf8)) as? [String: Any])

        // Without a session: the sign-in page, no figures.
        #expect((seen["unauthenticated_url"] as? String)?.hasSuffix("/payments/admin/sign-in") == true)
        #expect(seen["unauthenticated_has_revenue"] as? Bool == false)
        // TOTP: a wrong code refused, the right one let in.
        #expect((seen["wrong_code_notice"] as? String)?.contains("not right") == true)
        #expect(seen["totp_dashboard_title"] as? String == "Dashboard · Payments admin")

        // The revenue table: today's, this month's, the year's rows per currency, as by hand.
        let rows = try #require(seen["revenue"] as? [[String]])
        let year = AdminShop.expected(since: AdminShop.day(400))
        for currency in ["USD", "EUR"] {
            let row = try #require(rows.first { $0.first == currency && $0.dropFirst().first == "Last 12 months" })
            let expected = try #require(year[currency])
            #expect(
                row == [currency, "Last 12 months", String(expected.sales)]
                    + [expected.gross, expected.refunds, expected.disputes, expected.net]
                    .map { Money.format($0, currency: currency) })
        }
        // The charts are drawn (a real size in the page), carry the month's numbers, and each
        // has its data table; currencies each have their own.
        let charts = try #require(seen["charts"] as? [String: [String: Any]])
        let month = AdminShop.expected(since: AdminShop.day(29))
        for (id, currency) in [("revenue-daily-usd", "USD"), ("revenue-daily-eur", "EUR"), ("revenue-monthly-usd", "USD"), ("revenue-monthly-eur", "EUR")] {
            let chart = try #require(charts[id], "\(id) in \(charts.keys)")
            #expect((chart["width"] as? Int ?? 0) >= 600 && (chart["height"] as? Int ?? 0) >= 200, "\(id)")
            #expect(Int64(chart["sum"] as? Int ?? -1) == month[currency]?.gross, "\(id): \(chart)")
            #expect((chart["table_rows"] as? Int ?? 0) > 0)
            #expect((chart["title"] as? String)?.contains(currency) == true)
        }
        // 7 days with USD sales; today's bar has two parts (the license and the subscription).
        #expect(charts["revenue-daily-usd"]?["marks"] as? Int == 8)
        #expect(charts["mrr-usd"] != nil)
        #expect(charts["activations"] != nil)
        #expect((seen["mrr"] as? String)?.contains(Money.format(913, currency: "USD")) == true)

        // The customer's page: found by email, named by an internal number.
        let customerURL = try #require(seen["customer_url"] as? String)
        #expect(customerURL.contains("/payments/admin/customers/") && !customerURL.contains("@") && !customerURL.contains("%40"))
        #expect(seen["customer_email"] as? String == refunded.email)
        #expect((seen["customer_orders"] as? [[String]])?.first?.first == refunded.session)

        // The refund: recorded with the admin's name before Stripe was called, and asked of Stripe once.
        #expect((seen["refund_notice"] as? String)?.contains("refund was sent") == true)
        let calls = admin.shop.stripe.requests("POST", "/v1/refunds")
        #expect(calls.count == 1)
        let form = Dictionary(calls.first?.form ?? [], uniquingKeysWith: { $1 })
        #expect(form["payment_intent"] == refunded.intent)
        #expect(form["amount"] == "1000")
        #expect(
            try admin.shop.count(
                "refund_requests",
                "payment_intent = '\(refunded.intent)' AND amount = 1000 AND refund = 're_admin_page_1' AND actor = 'admin:second.factor@example.com'") == 1)
        #expect(
            try admin.shop.count(
                "audit_log",
                "subject_type = 'payment' AND subject_id = '\(refunded.intent)' AND action = 'refund_created' AND actor = 'admin:second.factor@example.com'")
                == 1)

        // Signed out: the session is over.
        #expect((seen["after_sign_out_url"] as? String)?.hasSuffix("/sign-in") == true)
        #expect(seen["plain_dashboard_title"] as? String == "Dashboard · Payments admin")

        // The erasure, from the page, audited with the admin's name.
        #expect((seen["erase_notice"] as? String)?.contains("erased") == true)
        let erasedID = try #require(try admin.shop.value("SELECT id AS v FROM pfc_customers WHERE anonymised_at IS NOT NULL"))
        #expect(seen["erased_email"] as? String == "erased-\(erasedID)@erased.invalid")
        #expect(try admin.shop.count("customers", "email = '\(erased.email)'") == 0)
        #expect(try admin.shop.count("audit_log", "subject_type = 'customer' AND action = 'erased' AND actor = 'admin:boss@example.com'") == 1)
        #expect(seen["visited_urls_hold_at_sign"] as? Bool == false)

        #expect(FileManager.default.fileExists(atPath: Self.artifacts + "/dashboard.png"))
        #expect(FileManager.default.fileExists(atPath: Self.artifacts + "/customer.png"))
    }
}
