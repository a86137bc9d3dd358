import Foundation
import Handlers
import Logging
import MariaStore
import TestSupport
import Testing

@Suite("Mail formatting")
struct MailFormatTests {
    @Test func moneyFollowsStripesCurrencyRules() {
        #expect(Money.format(4900, currency: "usd") == "49.00 USD")
        #expect(Money.format(5, currency: "EUR") == "0.05 EUR")
        #expect(Money.format(5000, currency: "jpy") == "5000 JPY")
        #expect(Money.format(1234, currency: "KWD") == "1.234 KWD")
        #expect(Money.format(-1000, currency: "usd") == "-10.00 USD")
    }

    @Test func messageIsProperMIME() {
        let message = MailMessage(
            from: "Zoë's Shop <shop@example.com>", to: "buyer@example.com", subject: "Ihr Lizenzschlüssel\r\nBcc: x@evil",
            text: "Grüße", html: "<p>Grüße</p>")
        let text = String(decoding: message.rendered(date: Date(timeIntervalSince1970: 1_767_268_900), random: SecureRandom()), as: UTF8.self)
        #expect(text.contains("Subject: =?UTF-8?B?"))
        #expect(!text.contains("\r\nBcc:"))
        #expect(text.contains("Date: Thu, 1 Jan 2026 12:01:40 +0000"))
        #expect(text.contains("Message-ID: <"))
        #expect(text.contains("@example.com>"))
        #expect(text.contains("Content-Type: multipart/alternative; boundary="))
        #expect(SMTPServer.plainText(of: text) == "Grüße")
        #expect(message.envelopeFrom == "shop@example.com")
        #expect(text.split(separator: "\r\n").allSatisfy { $0.count <= 998 })
    }

    @Test func templatesCanBeOverriddenAndEscapeHTML() throws {
        let directory = TestPaths.scratchDirectory("tpl")
        try "Key for {{product_name}}!".write(toFile: directory + "/license_email.subject", atomically: true, encoding: .utf8)
        let rendered = try #require(
            MailTemplates(directory: directory).render(
                "license_email",
                values: [
                    "product_name": "<Pro>", "license_key": "PFC-X", "site_name": "Shop", "account_line": "", "activation_limit_line": "",
                ]))
        #expect(rendered.subject == "Key for <Pro>!")
        #expect(rendered.html.contains("&lt;Pro&gt;"))
        #expect(rendered.text.contains("PFC-X"))
        #expect(MailTemplates(directory: nil).render("license_email", values: [:])?.subject == "Your license key for {{product_name}}")
    }
}

/// The deliverer against a real MariaDB, a real SMTP server and a real HTTP receiver.
@Suite("Outbox delivery", .serialized)
struct OutboxDeliveryTests {
    let harness: ServiceFixture
    let smtp: SMTPServer
    let clock = MovableTime(Date(timeIntervalSince1970: 1_767_268_900))
    let context: Context

    init() throws {
        harness = try ServiceFixture()
        smtp = try SMTPServer()
        var configuration = harness.context.configuration
        configuration.mail.from = "Shop <shop@example.com>"
        configuration.mail.smtpHost = "127.0.0.1"
        configuration.mail.smtpPort = smtp.port
        configuration.mail.smtpSecurity = .plain
        configuration.mail.timeoutSeconds = 3
        configuration.mail.siteName = "Example Shop"
        configuration.delivery.maxAttempts = 4
        configuration.delivery.retryBaseSeconds = 60
        var logger = Logger(label: "test")
        logger.logLevel = .error
        context = Context(store: harness.context.store, clock: clock, configuration: configuration, logger: logger)
    }

    func deliverer(_ name: String = "test") -> OutboxDeliverer { OutboxDeliverer(context: context, name: name) }

    func licenseKeyMatches(_ text: String) throws -> Bool {
        guard let match = text.range(of: #"PFC(-[0-9A-Z]{7}){4}"#, options: .regularExpression), let key = LicenseKey(parsing: String(text[match])) else {
            return false
        }
        let verifier = try context.store.withConnection {
            try $0.queryOne("SELECT verifier FROM pfc_licenses WHERE selector = ?", [key.selector])?.bytes("verifier")
        }
        return verifier == (try? LicenseKeyHasher(pepper: ServiceFixture.pepper).verifier(for: key))
    }

    @Test func paidCheckoutEmailsTheRightKey() throws {
        #expect(harness.status(try harness.deliver("checkout.session.completed.payment_card")) == "processed")
        let report = try deliverer().deliverDue()
        #expect(report.sent == 1)
        #expect(report.deferred == 1)  // the grant notification waits for a receiver
        let message = try #require(smtp.messages.first)
        #expect(smtp.messages.count == 1)
        #expect(SMTPServer.header("To", of: message) == "buyer@example.com")
        #expect(SMTPServer.header("Subject", of: message) == "Your license key for Pro license")
        let text = SMTPServer.plainText(of: message)
        #expect(try licenseKeyMatches(text))
        #expect(text.contains("Example Shop"))
        // Delivered: the sealed key is gone from the database.
        #expect(try harness.count("outbox", "kind = 'license_email' AND delivered_at IS NOT NULL AND sealed IS NULL") == 1)
        #expect(try deliverer().deliverDue() == OutboxDeliverer.Report())
    }

    @Test func notificationsWaitUntilAReceiverIsConfigured() throws {
        #expect(harness.status(try harness.deliver("checkout.session.completed.payment_card")) == "processed")
        for _ in 0..<3 {
            _ = try deliverer().deliverDue()
            clock.advance(days: 1)
        }
        // Days later it is still waiting, with no attempt used up.
        #expect(try harness.count("outbox", "kind = 'notification' AND delivered_at IS NULL AND dead_at IS NULL AND attempts = 0") == 1)
        let received = Statuses()
        let receiver = try LoopbackHTTPServer { request in
            received.add(request.text)
            return .json(200, "{}")
        }
        var configuration = context.configuration
        configuration.notifications.url = receiver.baseURL + "/wp-json/shop/v1/payments"
        configuration.notifications.secret = "notification-secret-0123456789"
        let configured = Context(store: context.store, clock: clock, configuration: configuration, logger: context.logger)
        clock.advance(seconds: 600)
        #expect(try OutboxDeliverer(context: configured, name: "n").deliverDue().sent == 1)
        #expect(received.all.count == 1)
        #expect(received.all.first?.contains(#""type":"grant.created""#) == true)
    }

    @Test func aSlowMailServerNeverLetsTwoDeliverersSendOneMessage() throws {
        let slow = try SMTPServer(delay: 0.8)
        var settings = context.configuration
        settings.mail.smtpPort = slow.port
        let configuration = settings
        for index in 0..<6 {
            try harness.created("cs_slow_\(index)", product: "pro-license")
            let body = try StripeFixtures.variant(
                "checkout.session.completed.payment_card", event: ["id": "evt_slow_\(index)"],
                object: ["id": "cs_slow_\(index)", "metadata": ["product": "pro-license"]])
            #expect(harness.status(harness.deliver(body)) == "processed")
        }
        let options = context.store.options
        let logger = context.logger
        // A lease shorter than the batch takes: without renewal the second deliverer takes
        // over messages still waiting in the first one's batch, and sends them again.
        Simultaneously.run(2) { index in
            let store = Store(options: options, prefix: .standard, logger: logger)
            defer { store.close() }
            var deliverer = OutboxDeliverer(
                context: Context(store: store, clock: SystemTime(), configuration: configuration, logger: logger),
                name: "deliverer-\(index)")
            deliverer.leaseSeconds = 2
            let until = Date().addingTimeInterval(9)
            while Date() < until {
                if (try? deliverer.deliverDue(limit: 12))?.sent == 0 { usleep(200_000) }
            }
        }
        // Six keys, each mailed once.
        #expect(try harness.count("outbox", "kind = 'license_email' AND delivered_at IS NOT NULL") == 6)
        #expect(slow.messages.count == 6)
        let keys = slow.messages.compactMap { message -> String? in
            let text = SMTPServer.plainText(of: message)
            return text.range(of: #"PFC(-[0-9A-Z]{7}){4}"#, options: .regularExpression).map { String(text[$0]) }
        }
        #expect(Set(keys).count == 6)
    }

    @Test func smtpDownThenUpDeliversExactlyOnce() throws {
        smtp.stop()
        #expect(harness.status(try harness.deliver("checkout.session.completed.payment_card")) == "processed")
        let failed = try deliverer().deliverDue()
        #expect(failed.failed == 1)
        #expect(try harness.count("outbox", "kind = 'license_email' AND attempts = 1 AND last_error LIKE 'SMTP 127.0.0.1:%'") == 1)
        // Not due again before its backoff.
        #expect(try deliverer().deliverDue().failed == 0)
        try smtp.start()
        clock.advance(days: 1)
        #expect(try deliverer().deliverDue().sent == 1)
        #expect(try deliverer().deliverDue().sent == 0)
        #expect(smtp.messages.count == 1)
    }

    @Test func twoDeliverersSendEachMessageOnce() throws {
        for index in 0..<20 {
            try harness.created("cs_mail_\(index)", product: "pro-license")
            let body = try StripeFixtures.variant(
                "checkout.session.completed.payment_card",
                event: ["id": "evt_mail_\(index)"], object: ["id": "cs_mail_\(index)", "metadata": ["product": "pro-license"]])
            #expect(harness.status(harness.deliver(body)) == "processed")
        }
        let options = context.store.options
        let configuration = context.configuration
        let clock = self.clock
        let reports = Statuses()
        Simultaneously.run(2) { index in
            let store = Store(options: options, prefix: .standard, logger: Logger(label: "d"))
            defer { store.close() }
            let own = Context(store: store, clock: clock, configuration: configuration, logger: Logger(label: "d"))
            var sent = 0
            while let report = try? OutboxDeliverer(context: own, name: "deliverer-\(index)").deliverDue(limit: 3), report != OutboxDeliverer.Report() {
                sent += report.sent
            }
            reports.add(String(sent))
        }
        #expect(reports.all.compactMap(Int.init).reduce(0, +) == 20)
        #expect(smtp.messages.count == 20)
        let keys = Set(
            smtp.messages.compactMap { message -> String? in
                let text = SMTPServer.plainText(of: message)
                return text.range(of: #"PFC(-[0-9A-Z]{7}){4}"#, options: .regularExpression).map { String(text[$0]) }
            })
        #expect(keys.count == 20)
    }

    @Test func notificationsAreSignedAndRetriedUntilAccepted() throws {
        let secret = "notification-secret-0123456789abcdef"
        let accepted = Statuses()
        let attempts = Statuses()
        let receiver = try LoopbackHTTPServer { request in
            attempts.add(request.headers["paymentsfcgi-event-id"] ?? "")
            // The receiver checks the HMAC as WordPress would (its clock is not the test's).
            let header = request.headers["paymentsfcgi-signature"]
            let signedAt = (try? WebhookSignature.parse(header ?? ""))?.timestamp ?? 0
            let valid =
                (try? WebhookSignature.verify(
                    payload: request.body, header: header, secrets: [secret], toleranceSeconds: 300,
                    now: Date(timeIntervalSince1970: Double(signedAt)))) != nil
            guard valid else { return .json(400, #"{"error":"bad signature"}"#) }
            guard attempts.all.count > 3 else { return .json(500, #"{"error":"busy"}"#) }
            accepted.add(request.text)
            return .json(200, "{}")
        }
        var configuration = context.configuration
        configuration.notifications.url = receiver.baseURL + "/wp-json/shop/v1/payments"
        configuration.notifications.secret = secret
        let notifying = Context(store: context.store, clock: clock, configuration: configuration, logger: context.logger)
        try harness.created(ServiceFixture.cardSession, product: "course")
        let body = try StripeFixtures.variant("checkout.session.completed.payment_card", object: ["metadata": ["product": "course"]])
        #expect(harness.status(harness.deliver(body)) == "processed")
        for _ in 0..<6 {
            _ = try OutboxDeliverer(context: notifying, name: "n").deliverDue()
            clock.advance(days: 1)
        }
        #expect(attempts.all.count == 4)
        #expect(accepted.all.count == 1)
        let payload = try #require(try JSONSerialization.jsonObject(with: Data(accepted.all[0].utf8)) as? [String: Any])
        #expect(payload["type"] as? String == "grant.created")
        #expect(payload["entitlement"] as? String == "course-101")
        #expect((payload["id"] as? String)?.hasPrefix("grant.created:") == true)
        // The signature a WordPress receiver checks, exactly as it would.
        let request = try #require(receiver.requests.last)
        let t = try WebhookSignature.parse(request.headers["paymentsfcgi-signature"]!).timestamp
        #expect(throws: Never.self) {
            try WebhookSignature.verify(
                payload: request.body, header: request.headers["paymentsfcgi-signature"], secrets: [secret],
                toleranceSeconds: 300, now: Date(timeIntervalSince1970: Double(t)))
        }
    }

    @Test func messagesDieAfterTheirAttemptsAndCanBeRetried() throws {
        smtp.stop()
        #expect(harness.status(try harness.deliver("checkout.session.completed.payment_card")) == "processed")
        for _ in 0..<4 {
            _ = try deliverer().deliverDue()
            clock.advance(days: 1)
        }
        #expect(try harness.count("outbox", "kind = 'license_email' AND dead_at IS NOT NULL AND attempts = 4") == 1)
        let idle = try deliverer().deliverDue()
        #expect(idle.sent + idle.failed + idle.skipped == 0)  // only the notification, still waiting for a receiver
        try smtp.start()
        let retried = try context.store.transaction { try Outbox($0, prefix: .standard).retry(nil, now: clock.now) }
        #expect(retried == 1)
        #expect(try deliverer().deliverDue().sent == 1)
        #expect(smtp.messages.count == 1)
    }

    @Test func noEmailForALicenseRefundedMeanwhile() throws {
        #expect(harness.status(try harness.deliver("charge.refunded.full")) == "processed")
        #expect(harness.status(try harness.deliver("checkout.session.completed.payment_card")) == "processed")
        let report = try deliverer().deliverDue()
        // The refund confirmation goes out; the key of the refunded license does not.
        #expect(report.sent == 1)
        #expect(smtp.messages.map { SMTPServer.header("Subject", of: $0) } == ["Your refund from Example Shop"])
        #expect(SMTPServer.plainText(of: smtp.messages[0]).contains("We refunded 49.00 USD"))
        #expect(try harness.count("outbox", "kind = 'license_email' AND last_error LIKE 'skipped: license % is no longer active'") == 1)
    }

    @Test(arguments: [SMTPServer.Security.Mode.starttls, .tls])
    func encryptedAndAuthenticatedSMTP(_ mode: SMTPServer.Security.Mode) throws {
        let secure = try SMTPServer(security: .init(mode: mode, user: "shop", password: "smtp-pass-1234"))
        var configuration = context.configuration
        configuration.mail.smtpPort = secure.port
        configuration.mail.smtpSecurity = mode == .tls ? .tls : .starttls
        configuration.mail.smtpCAFile = secure.certificate
        configuration.mail.smtpUser = "shop"
        configuration.mail.smtpPassword = "wrong-password"
        let refused = Context(store: context.store, clock: clock, configuration: configuration, logger: context.logger)
        #expect(harness.status(try harness.deliver("checkout.session.completed.payment_card")) == "processed")
        #expect(try OutboxDeliverer(context: refused, name: "t").deliverDue().failed == 1)
        #expect(try harness.count("outbox", "last_error LIKE '%wrong-password%'") == 0)
        configuration.mail.smtpPassword = "smtp-pass-1234"
        let accepted = Context(store: context.store, clock: clock, configuration: configuration, logger: context.logger)
        clock.advance(days: 1)
        #expect(try OutboxDeliverer(context: accepted, name: "t").deliverDue().sent == 1)
        #expect(secure.messages.count == 1)
        #expect(try licenseKeyMatches(SMTPServer.plainText(of: secure.messages[0])))
    }

    @Test func sendmailHandsTheMessageToTheLocalMailSystem() throws {
        // msmtp is Debian's small sendmail: it takes the message on standard input, as
        // WordPress's own mail does on many hosts, and relays it to the SMTP server.
        let directory = TestPaths.scratchDirectory("msmtp")
        try "account default\nhost 127.0.0.1\nport \(smtp.port)\nfrom shop@example.com\nauth off\ntls off\n"
            .write(toFile: directory + "/msmtprc", atomically: true, encoding: .utf8)
        chmod(directory + "/msmtprc", 0o600)
        var configuration = context.configuration
        configuration.mail.transport = .sendmail
        configuration.mail.sendmailPath = "/usr/bin/msmtp -C \(directory)/msmtprc"
        let viaSendmail = Context(store: context.store, clock: clock, configuration: configuration, logger: context.logger)
        #expect(harness.status(try harness.deliver("checkout.session.completed.payment_card")) == "processed")
        #expect(try OutboxDeliverer(context: viaSendmail, name: "t").deliverDue().sent == 1)
        #expect(smtp.messages.count == 1)
        #expect(SMTPServer.header("Subject", of: smtp.messages[0]) == "Your license key for Pro license")
        #expect(try licenseKeyMatches(SMTPServer.plainText(of: smtp.messages[0])))
    }
}
