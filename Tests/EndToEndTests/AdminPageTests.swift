import Foundation
import Handlers
import MariaStore
import TestSupport
import Testing

/// The admin page through nginx, as a browser speaks to it over HTTP: nothing without a
/// session, no POST without its CSRF token, throttled sign-in, the dashboard's numbers equal to
/// the reports' and to a month worked out by hand, erasure that leaves no trace in a dump, and
/// metrics for the allowed address only.
@Suite("Admin page", .serialized)
struct AdminPageTests {
    let admin: AdminShop

    init() throws {
        admin = try AdminShop()
        try admin.addAdmin("boss@example.com")
    }

    @Test func nothingIsReachableWithoutASession() throws {
        try admin.seedMonth()
        let dashboard = try admin.shop.page("/admin/")
        #expect(dashboard.status == 303)
        #expect(dashboard.header("Location") == "/payments/admin/sign-in")
        #expect(!dashboard.text.contains("USD"))
        for path in ["/admin/customers/1", "/admin/events"] {
            let reply = try admin.shop.page(path)
            #expect(reply.status == 303, "\(path)")
        }
        let action = try admin.shop.form("/admin/actions/refund", [("payment_intent", "pi_seed_usd0"), ("confirm", "yes")])
        #expect(action.status == 403)
        let search = try admin.shop.form("/admin/search", [("q", AdminShop.sales[0].email)])
        #expect(search.status == 403)
        #expect(!search.text.contains("cs_test_seed"))
        // A cookie that is no session is no better.
        let forged = try admin.shop.page("/admin/", cookie: "pfc_admin=" + String(repeating: "ab", count: 32))
        #expect(forged.status == 303)
        #expect(admin.shop.stripe.requests("POST", "/v1/refunds").isEmpty)
    }

    @Test func postsWithoutTheirCSRFTokenAreRefused() throws {
        let (signedIn, cookie) = try admin.signIn("boss@example.com")
        #expect(signedIn.status == 303)
        let session = try #require(cookie)
        #expect(
            signedIn.headers.contains {
                $0.0.lowercased() == "set-cookie" && $0.1.contains("HttpOnly") && $0.1.contains("SameSite=Strict") && $0.1.contains("Path=/payments/admin")
            })
        let token = try admin.csrf(cookie: session)
        let without = try admin.shop.form("/admin/search", [("q", "nobody@example.com")], cookie: session)
        #expect(without.status == 403)
        let wrong = try admin.shop.form("/admin/search", [("csrf", String(repeating: "0", count: 64)), ("q", "nobody@example.com")], cookie: session)
        #expect(wrong.status == 403)
        let right = try admin.shop.form("/admin/search", [("csrf", token), ("q", "nobody@example.com")], cookie: session)
        #expect(right.status == 404)
        // Sign-in's own token: a form posted from elsewhere has no matching cookie.
        let crossSite = try admin.shop.form(
            "/admin/sign-in",
            [
                ("csrf", String(repeating: "1", count: 64)), ("email", "boss@example.com"),
                ("password", AdminShop.password),
            ])
        #expect(crossSite.status == 403)
        #expect(AdminShop.cookies(crossSite)["pfc_admin"] == nil)
        // Signing out ends the session on the server, not only in the browser.
        let out = try admin.shop.form("/admin/sign-out", [("csrf", token)], cookie: session)
        #expect(out.status == 303)
        #expect(try admin.shop.page("/admin/", cookie: session).status == 303)
    }

    @Test func searchNeverTakesALicenseKey() throws {
        try admin.seedMonth()
        let key = try #require(try admin.shop.emailedKeys().first)
        let (_, cookie) = try admin.signIn("boss@example.com")
        let session = try #require(cookie)
        let token = try admin.csrf(cookie: session)
        let refused = try admin.shop.form("/admin/search", [("csrf", token), ("q", key)], cookie: session)
        #expect(refused.status == 400)
        #expect(!refused.text.contains(key))
        for reference in [
            AdminShop.sales[0].email.uppercased(), AdminShop.sales[0].session, AdminShop.sales[0].intent, "cus_seed_usd0", "sub_seed", "in_seed0",
        ] {
            let found = try admin.shop.form("/admin/search", [("csrf", token), ("q", reference)], cookie: session)
            #expect(found.status == 303, "\(reference)")
            #expect(found.header("Location")?.hasPrefix("/payments/admin/customers/") == true, "\(reference)")
        }
    }

    @Test func actionsNeedTheirConfirmationAndApplyOnce() throws {
        try admin.seedMonth()
        let customer = try #require(try admin.shop.value("SELECT id AS v FROM pfc_customers WHERE email = ?", [AdminShop.sales[0].email]))
        let (_, cookie) = try admin.signIn("boss@example.com")
        let session = try #require(cookie)
        let token = try admin.csrf(cookie: session)
        let fields = [("csrf", token), ("customer", customer), ("delta", "40"), ("reason", "goodwill"), ("idempotency_key", "form-1")]
        let unconfirmed = try admin.shop.form("/admin/actions/credits", fields, cookie: session)
        #expect(unconfirmed.status == 400)
        #expect(try admin.shop.count("credit_ledger", "source = 'admin'") == 0)
        for _ in 0..<2 {
            let applied = try admin.shop.form("/admin/actions/credits", fields + [("confirm", "yes")], cookie: session)
            #expect(applied.status == 303)
            #expect(applied.header("Location") == "/payments/admin/customers/\(customer)?done=credits")
        }
        #expect(try admin.shop.count("credit_ledger", "source = 'admin' AND delta = 40 AND customer_id = \(customer)") == 1)
        #expect(
            try admin.shop.count("audit_log", "subject_type = 'credits' AND action = 'granted' AND actor = 'admin:boss@example.com' AND detail = 'goodwill'")
                == 1)
        let page = try admin.shop.page("/admin/customers/\(customer)?done=credits", cookie: session)
        #expect(page.text.contains("<span id=\"credit-balance\">40</span>"))
        #expect(!page.text.contains(try #require(try admin.shop.emailedKeys().first)))
    }

    @Test func aSubscriptionPeriodIsRefundedFromItsCustomersPage() throws {
        try admin.seedMonth()
        admin.shop.stripe.on("POST", "/v1/refunds", .json(200, #"{"id":"re_period_1","object":"refund","status":"succeeded","amount":200}"#))
        let customer = try #require(try admin.shop.value("SELECT id AS v FROM pfc_customers WHERE email = 'subscriber@example.com'"))
        let (_, cookie) = try admin.signIn("boss@example.com")
        let session = try #require(cookie)
        let page = try admin.shop.page("/admin/customers/\(customer)", cookie: session).text
        #expect(page.contains("<table id=\"invoices\">") && page.contains("in_seed0"))
        let key = try #require(AdminShop.hidden("idempotency_key", in: page))
        let fields = [
            ("csrf", try admin.csrf(cookie: session)), ("confirm", "yes"), ("customer", customer), ("payment_intent", "pi_for_in_seed0"),
            ("amount", "2.00"), ("idempotency_key", key),
        ]
        let tooMuch = try admin.shop.form("/admin/actions/refund", fields.map { $0.0 == "amount" ? ("amount", "9.01") : $0 }, cookie: session)
        #expect(tooMuch.status == 400)
        for _ in 0..<2 {
            #expect(try admin.shop.form("/admin/actions/refund", fields, cookie: session).status == 303)
        }
        let calls = admin.shop.stripe.requests("POST", "/v1/refunds")
        #expect(calls.count == 1)
        #expect(Dictionary(calls.first?.form ?? [], uniquingKeysWith: { $1 })["amount"] == "200")
        #expect(try admin.shop.count("refund_requests", "payment_intent = 'pi_for_in_seed0' AND actor = 'admin:boss@example.com'") == 1)
    }

    @Test func signInIsThrottledPerAccount() throws {
        // The seller's own browser signs in once, and is remembered.
        let (first, firstCookie) = try admin.signIn("boss@example.com")
        #expect(first.status == 303)
        let device = try #require(AdminShop.cookies(first)["pfc_admin_device"])
        _ = try admin.shop.form("/admin/sign-out", [("csrf", try admin.csrf(cookie: try #require(firstCookie)))], cookie: try #require(firstCookie))
        for _ in 0..<10 {
            let (wrong, cookie) = try admin.signIn("boss@example.com", password: "not the password at all")
            #expect(wrong.status == 401)
            #expect(cookie == nil)
        }
        // Past the limit even the right password is refused until the window ends — from a
        // browser the account has never signed in from.
        let (refused, cookie) = try admin.signIn("boss@example.com")
        #expect(refused.status == 429)
        #expect(refused.header("Retry-After") != nil)
        #expect(cookie == nil)
        #expect(try admin.shop.count("audit_log", "subject_type = 'admin' AND action = 'signed_in'") == 1)
        // Found by attacking the admin page: ten wrong passwords every quarter of an hour, from
        // anywhere, used to keep the seller out for good. Their remembered browser still gets in
        // (and a forged or another account's device cookie does not).
        let (remembered, session) = try admin.signIn("boss@example.com", device: device)
        #expect(remembered.status == 303)
        #expect(session != nil)
        let forged = device.split(separator: ".").dropLast().joined(separator: ".") + "." + String(repeating: "0", count: 64)
        #expect(try admin.signIn("boss@example.com", device: forged).reply.status == 429)
    }

    /// Found by reviewing the fix above: strangers behind the seller's own address (an office,
    /// a carrier's shared address) could use up the address's limit and keep even the
    /// remembered browser out. It counts its own failures only.
    @Test func aRememberedBrowserIsNotHeldByItsAddressesLimit() throws {
        let small = try AdminShop(extraSettings: "\n[admin]\nfailures_per_address = 3\n")
        try small.addAdmin("boss@example.com")
        let device = try #require(AdminShop.cookies(try small.signIn("boss@example.com").reply)["pfc_admin_device"])
        for n in 0..<4 { _ = try small.signIn("stranger\(n)@example.com", password: "guess") }
        #expect(try small.signIn("boss@example.com").reply.status == 429)
        #expect(try small.signIn("boss@example.com", device: device).reply.status == 303)
    }

    /// Found by attacking the admin page: failures counted per exact address, so the addresses
    /// of one IPv6 /64 (one subscriber's) each had a fresh limit, and a flood of sign-ins held
    /// every worker in scrypt. Now one network shares a limit (three times an address's), and
    /// checks are counted before they run.
    @Test func signInAttemptsFromOneIPv6NetworkShareOneLimit() throws {
        let small = try AdminShop(extraSettings: "\n[admin]\nfailures_per_address = 2\n")
        let socket = small.shop.web.stack.service.socketPath
        var statuses: [Int] = []
        for n in 1...9 {
            let token = String(repeating: "a", count: 64)
            let body = Array(FormEncoding.encode([("csrf", token), ("email", "guess\(n)@example.com"), ("password", "wrong")]).utf8)
            let params = FastCGIClient.standardParams(
                method: "POST", uri: "/payments/admin/sign-in", contentLength: String(body.count),
                extra: [
                    ("CONTENT_TYPE", "application/x-www-form-urlencoded"), ("HTTP_COOKIE", "pfc_admin_signin=\(token)"),
                ]
            ).map { $0.0 == "REMOTE_ADDR" ? ($0.0, "2001:db8:1:2::\(String(n, radix: 16))") : $0 }
            statuses.append(try #require(try FastCGIClient.request(socketPath: socket, params: params, body: body)).status)
        }
        #expect(statuses == Array(repeating: 401, count: 6) + Array(repeating: 429, count: 3))
        // Another network is not held back by it.
        let (other, _) = try small.signIn("nobody@example.com", password: "wrong")
        #expect(other.status == 401)
    }

    /// Twenty wrong passwords for one account at once: no more checks than the limit (each
    /// attempt is counted before its password is checked).
    @Test func simultaneousGuessesGetNoMoreChecksThanTheLimit() throws {
        let forms = try (0..<20).map { _ in try admin.shop.page("/admin/sign-in") }
        let tokens = try forms.map { try #require(AdminShop.cookies($0)["pfc_admin_signin"]) }
        let replies = Simultaneously.send(20, port: admin.port) { index in
            let body = Array(FormEncoding.encode([("csrf", tokens[index]), ("email", "boss@example.com"), ("password", "wrong \(index)")]).utf8)
            return (
                "POST", "/payments/admin/sign-in",
                [
                    ("Content-Type", "application/x-www-form-urlencoded"),
                    ("Cookie", "pfc_admin_signin=\(tokens[index])"),
                ], body
            )
        }
        let statuses = replies.map { $0?.status ?? 0 }
        #expect(statuses.filter { $0 == 401 }.count <= 10, "\(statuses)")
        #expect(statuses.allSatisfy { [401, 429, 503].contains($0) }, "\(statuses)")
    }

    @Test func dashboardAndReportsShowTheMonthAsWorkedOutByHand() throws {
        try admin.seedMonth()
        let (_, cookie) = try admin.signIn("boss@example.com")
        let page = try admin.shop.page("/admin/", cookie: try #require(cookie)).text
        let today = AdminShop.day(0)
        let monthStart = BusinessCalendar.dayLabel(BusinessCalendar.startOfMonth(Date()))
        let yearStart = BusinessCalendar.dayLabel(BusinessCalendar.adding(months: -11, to: BusinessCalendar.startOfMonth(Date())))
        for (label, first) in [("Today", today), ("This month", monthStart), ("Last 12 months", yearStart)] {
            for (currency, expected) in AdminShop.expected(since: first) {
                let row =
                    "<td>\(currency)</td><td>\(label)</td><td class=\"n\">\(expected.sales)</td><td class=\"n\">"
                    + [expected.gross, expected.refunds, expected.disputes, expected.net].map { Money.format($0, currency: currency) }.joined(
                        separator: "</td><td class=\"n\">")
                    + "</td>"
                #expect(page.contains(row), "\(label) \(currency): \(row)")
            }
        }
        // The report: the same query, the same numbers, over the seeded month.
        let report = try ChildProcess.run(
            TestPaths.binary,
            [
                "report", "revenue", "--config", admin.shop.config, "--from", AdminShop.day(29),
                "--to", today, "--by", "month", "--json",
            ])
        #expect(report.status == 0, "\(report.output)")
        var reported: [String: AdminShop.Expected] = [:]
        for line in report.output.split(separator: "\n") {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            let currency = try #require(object["currency"] as? String)
            reported[currency, default: AdminShop.Expected()].sales += Int64(object["sales"] as? Int ?? 0)
            reported[currency, default: AdminShop.Expected()].gross += Int64(object["gross"] as? Int ?? 0)
            reported[currency, default: AdminShop.Expected()].refunds += Int64(object["refunds"] as? Int ?? 0)
            reported[currency, default: AdminShop.Expected()].disputes += Int64(object["disputes"] as? Int ?? 0)
            #expect(object["net"] as? Int == (object["gross"] as? Int ?? 0) - (object["refunds"] as? Int ?? 0) - (object["disputes"] as? Int ?? 0))
        }
        #expect(reported == AdminShop.expected(since: AdminShop.day(29)))
        #expect(reported["USD"] == AdminShop.Expected(sales: 8, gross: 7 * 4900 + 900, refunds: 1500, disputes: 0))
        #expect(reported["EUR"] == AdminShop.Expected(sales: 5, gross: 5 * 1900, refunds: 0, disputes: 1900))
        // Per day, the charts' bars add up to the same gross, one chart per currency.
        let daily = try ChildProcess.run(
            TestPaths.binary,
            [
                "report", "revenue", "--config", admin.shop.config, "--from", AdminShop.day(29),
                "--to", today, "--by", "day", "--currency", "eur", "--csv",
            ])
        #expect(daily.output.split(separator: "\n").count == 1 + 5, "\(daily.output)")
        #expect(daily.output.contains("\(AdminShop.day(5)),EUR,1,19.00,0.00,19.00,0.00"))
        #expect(page.contains("id=\"revenue-daily-usd-title\""))
        #expect(page.contains("id=\"revenue-daily-eur-title\""))
        // MRR: 9.00 for 30 days, scaled to an average month: round(900 × 2629746 / 2592000) = 913.
        let subscriptions = try ChildProcess.run(TestPaths.binary, ["report", "subscriptions", "--config", admin.shop.config, "--json"])
        let mrr = try #require(try JSONSerialization.jsonObject(with: Data(subscriptions.output.utf8)) as? [String: Any])
        #expect((mrr["mrr"] as? [[String: Any]])?.first?["amount"] as? Int == 913, "\(subscriptions.output)")
        #expect(mrr["active"] as? Int == 1)
        #expect(page.contains(Money.format(913, currency: "USD")))

        // The events page: failed events with their reason and a replay button, by filter.
        let failed = try admin.shop.page("/admin/events?outcome=failed", cookie: try #require(cookie)).text
        #expect(failed.contains("the event&#39;s shape cannot be read") || failed.contains("shape cannot be read"))
        #expect(failed.contains("action=\"/payments/admin/actions/replay\""))
        #expect(!failed.contains("<td>processed</td>"))
        let disputes = try admin.shop.page("/admin/events?type=charge.dispute.closed", cookie: try #require(cookie)).text
        #expect(disputes.components(separatedBy: "<td>charge.dispute.closed</td>").count - 1 == 1)
    }

    @Test func erasedCustomerIsInNoRowOfADump() throws {
        try admin.seedMonth()
        let erased = AdminShop.sales[7]
        let kept = AdminShop.sales[8]
        let name = "Name Of \(erased.intent)"
        let address = "1 \(erased.intent) Street"
        let before = try dump()
        #expect(before.contains(erased.email) && before.contains(name) && before.contains(address))
        let dry = try ChildProcess.run(TestPaths.binary, ["customer", "erase", "--config", admin.shop.config, erased.email, "--dry-run"])
        #expect(dry.status == 0 && dry.output.contains("would anonymise"), "\(dry.output)")
        #expect(try dump().contains(erased.email))
        let export = try ChildProcess.run(TestPaths.binary, ["customer", "export", "--config", admin.shop.config, erased.email])
        #expect(export.status == 0)
        let copy = try #require(try JSONSerialization.jsonObject(with: Data(export.output.utf8)) as? [String: Any])
        #expect((copy["orders"] as? [[String: Any]])?.first?["session_id"] as? String == erased.session)
        #expect((copy["licenses"] as? [[String: Any]])?.isEmpty == false || erased.currency == "EUR")
        #expect(!export.output.contains("selector") && !export.output.contains("verifier"))

        let erase = try ChildProcess.run(TestPaths.binary, ["customer", "erase", "--config", admin.shop.config, erased.email])
        #expect(erase.status == 0, "\(erase.output)")
        let after = try dump()
        for trace in [erased.email, name, address] { #expect(!after.contains(trace), "\(trace) is still in the dump") }
        // Other customers untouched; the erased one's order, amount and audit entry stay.
        for trace in [kept.email, "Name Of \(kept.intent)", "1 \(kept.intent) Street"] { #expect(after.contains(trace)) }
        #expect(try admin.shop.count("orders", "session_id = '\(erased.session)' AND amount_total = \(erased.amount)") == 1)
        #expect(try admin.shop.count("audit_log", "subject_type = 'customer' AND action = 'erased' AND actor = 'operator:cli'") == 1)
        #expect(try admin.shop.count("customers", "anonymised_at IS NOT NULL") == 1)
    }

    /// Found by attacking the admin page: erasure matched kept payloads and messages by
    /// substring, so erasing ann@example.com also erased what joann@example.com and
    /// ann@example.com.au were owed (their pending emails marked dead, their failed event's
    /// payload gone). And a customer known only by a Stripe id was reported erased while
    /// nothing was.
    @Test func erasingOneBuyerLeavesBuyersWhoseEmailContainsTheirsAlone() throws {
        let buyers = ["ann@example.com", "joann@example.com", "Ann@Example.com.au"]
        for (index, email) in buyers.enumerated() {
            let session = "cs_test_erase_\(index)"
            admin.shop.stripe.lineItems(session: session, [("price_1Pro", 1, 4900)])
            try admin.expectProcessed(
                try admin.shop.deliver(
                    try ShopStack.completed(
                        session,
                        [
                            "customer": "cus_erase\(index)", "customer_details": ["email": email, "name": "Buyer \(index)"],
                            "payment_intent": "pi_erase_\(index)",
                            "client_reference_id": NSNull(), "metadata": [:] as [String: String],
                        ])), email)
        }
        // A failed event kept for replay that names joann only, and two that name ann outside
        // any email field.
        let broken = try ShopStack.completed("cs_test_erase_broken", ["amount_total": "not a number", "customer_details": ["email": "joann@example.com"]])
        #expect(try admin.shop.deliver(broken).status >= 500)
        for (index, mention) in ["Ann <ann@example.com>", "Order for ann@example.com."].enumerated() {
            let named = try ShopStack.completed(
                "cs_test_erase_named\(index)",
                [
                    "amount_total": "not a number", "customer_details": ["email": NSNull()], "metadata": ["note": mention],
                ])
            #expect(try admin.shop.deliver(named).status >= 500)
        }
        #expect(try admin.shop.count("events", "payload LIKE '%ann@example.com>%' OR payload LIKE '%Order for ann@example.com.%'") == 2)
        let othersMessages = try admin.shop.count(
            "outbox", "payload LIKE '%joann@example.com%' OR payload LIKE '%example.com.au%' OR recipient IN ('joann@example.com', 'ann@example.com.au')")
        #expect(othersMessages > 0)
        let ann = try #require(try admin.shop.value("SELECT id AS v FROM pfc_customers WHERE email = 'ann@example.com'"))

        let (_, cookie) = try admin.signIn("boss@example.com")
        let session = try #require(cookie)
        let token = try admin.csrf(cookie: session)
        let erased = try admin.shop.form("/admin/actions/erase", [("csrf", token), ("confirm", "yes"), ("customer", ann)], cookie: session)
        #expect(erased.status == 303)
        #expect(try admin.shop.count("customers", "id = \(ann) AND anonymised_at IS NOT NULL") == 1)
        #expect(try admin.shop.count("outbox", #"LOWER(payload) LIKE '%"ann@example.com"%'"#) == 0)
        // Everyone else's messages and kept payloads are whole.
        #expect(
            try admin.shop.count(
                "outbox", "payload LIKE '%joann@example.com%' OR payload LIKE '%example.com.au%' OR recipient IN ('joann@example.com', 'ann@example.com.au')")
                == othersMessages)
        #expect(try admin.shop.count("events", "payload LIKE '%joann@example.com%'") == 1)
        #expect(try admin.shop.count("events", "payload LIKE '%ann@example.com>%' OR payload LIKE '%Order for ann@example.com.%'") == 0)
        #expect(try admin.shop.count("customers", "anonymised_at IS NOT NULL") == 1)

        // A customer known by a Stripe id alone is erased too, never reported erased for nothing.
        let anonymous = try ShopStack.completed(
            "cs_test_erase_noemail",
            [
                "customer": "cus_noemail1", "customer_details": ["email": NSNull()], "customer_email": NSNull(), "payment_intent": "pi_erase_noemail",
                "client_reference_id": NSNull(), "metadata": ["buyer_note": "call me at 555-0100"],
            ])
        admin.shop.stripe.lineItems(session: "cs_test_erase_noemail", [("price_1Pro", 1, 4900)])
        _ = try admin.shop.deliver(anonymous)
        let stripeOnly = try #require(try admin.shop.value("SELECT customer_id AS v FROM pfc_customer_stripe_ids WHERE stripe_customer_id = 'cus_noemail1'"))
        #expect(try admin.shop.count("orders", "session_id = 'cs_test_erase_noemail' AND metadata IS NOT NULL") == 1)
        let done = try admin.shop.form("/admin/actions/erase", [("csrf", token), ("confirm", "yes"), ("customer", stripeOnly)], cookie: session)
        #expect(done.status == 303)
        #expect(try admin.shop.count("customers", "id = \(stripeOnly) AND anonymised_at IS NOT NULL") == 1)
        #expect(try admin.shop.count("orders", "session_id = 'cs_test_erase_noemail' AND metadata IS NULL") == 1)
        let nobody = try admin.shop.form("/admin/actions/erase", [("csrf", token), ("confirm", "yes"), ("customer", "999999")], cookie: session)
        #expect(nobody.status == 400)
    }

    @Test func licensesKeepWorkingAfterTheirBuyerIsErased() throws {
        try admin.seedMonth()
        let key = try #require(try admin.shop.emailedKeys().first)
        let activated = try admin.shop.form("/license/activate", [("license_key", key), ("site_url", "https://customer.example.com")])
        #expect(activated.json["status"] as? String == "active")
        let owner = try #require(
            try admin.shop.value("SELECT c.email AS v FROM pfc_licenses l JOIN pfc_customers c ON c.id = l.customer_id ORDER BY l.id LIMIT 1"))
        let erase = try ChildProcess.run(TestPaths.binary, ["customer", "erase", "--config", admin.shop.config, owner])
        #expect(erase.status == 0, "\(erase.output)")
        #expect(try admin.shop.verify(key) == "active")
    }

    @Test func metricsCountWhatHappenedForTheAllowedAddressOnly() throws {
        try admin.seedMonth()
        _ = try admin.shop.verify("PFC-NOTAKEY")
        _ = try HTTPClient.send(
            port: admin.port, method: "POST", path: "/payments/stripe/webhook",
            headers: [("Content-Type", "application/json"), ("Stripe-Signature", "t=1,v1=00")], body: Array("{}".utf8))
        let scrape = try admin.shop.page("/metrics")
        #expect(scrape.status == 200)
        #expect(scrape.header("Content-Type")?.hasPrefix("text/plain; version=0.0.4") == true)
        let text = scrape.text
        for line in [
            "payments_webhook_events_total{type=\"checkout.session.completed\",outcome=\"processed\"} 13",
            "payments_webhook_events_total{type=\"charge.dispute.closed\",outcome=\"processed\"} 1",
            "payments_webhook_signature_refusals_total{reason=\"",
            "payments_http_requests_total{route=\"/stripe/webhook\",status=\"200\"}",
            "payments_http_request_duration_seconds_bucket{route=\"/stripe/webhook\",le=\"+Inf\"}",
            "payments_stripe_api_calls_total{endpoint=\"GET /v1/checkout/sessions/*/line_items\",result=\"ok\"}",
            "payments_outbox_pending ", "payments_outbox_oldest_pending_seconds ", "payments_outbox_dead 0",
            "payments_webhook_last_verified_timestamp_seconds{mode=\"test\"} 1", "payments_webhook_failed_events 1",
        ] {
            #expect(text.contains(line), "\(line)")
        }
        #expect(text.contains("payments_license_verdicts_total{action=\"verify\",status="))
        #expect(!text.contains("pi_seed") && !text.contains("@example.com"))
        // From any other address: 403 (the web server's REMOTE_ADDR, as a FastCGI peer sends it).
        let other = try FastCGIClient.request(
            socketPath: admin.shop.web.stack.service.socketPath,
            params: FastCGIClient.standardParams(
                method: "GET", uri: "/payments/metrics"
            ).map { $0.0 == "REMOTE_ADDR" ? ($0.0, "192.0.2.7") : $0 })
        #expect(other?.status == 403)
        #expect(other?.text.contains("payments_") == false)
    }

    @Test func nginxCanKeepTheAdminPageToTheSellersAddresses() throws {
        // The seller's edit: the snippet's restriction uncommented, with an address that is not ours.
        let restricted = try NginxServer(
            serviceSocket: admin.shop.web.stack.service.socketPath,
            edits: [
                "    # allow 203.0.113.0/24;\n": "    allow 203.0.113.0/24;\n", "    # deny all;\n": "    deny all;\n",
            ])
        defer { restricted.stop() }
        for (method, path) in [("GET", "/payments/admin/"), ("GET", "/payments/admin/sign-in"), ("POST", "/payments/admin/sign-in")] {
            let reply = try HTTPClient.send(port: restricted.port, method: method, path: path, headers: [("Content-Type", "application/x-www-form-urlencoded")])
            #expect(reply.status == 403, "\(method) \(path)")
        }
        #expect(try HTTPClient.send(port: restricted.port, path: "/payments/healthz").status == 200)
        #expect(try admin.shop.page("/admin/sign-in").status == 200)
    }

    /// The test database as `mariadb-dump` writes it: blobs as their bytes (so a payload's
    /// words show), read leniently (key verifiers are binary).
    func dump() throws -> String {
        let database = admin.shop.web.stack.database
        let file = TestPaths.scratchDirectory("dump") + "/dump.sql"
        let result = try ChildProcess.run(
            "/usr/bin/mariadb-dump",
            [
                "--socket=\(database.socket ?? "")", "--user=root", "--skip-extended-insert",
                "--result-file=\(file)", database.database,
            ])
        guard result.status == 0, let bytes = FileManager.default.contents(atPath: file) else {
            throw TestSupportError("mariadb-dump failed: \(result.output.prefix(500))")
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
