import Foundation
import Handlers
import MariaStore
import TestSupport
import Testing

/// The buyer gets the key: a paid checkout through nginx, and the service's own deliverer
/// thread hands the license email to a real SMTP server.
@Suite("License email end to end")
struct MailEndToEndTests {
    @Test func paidCheckoutThroughNginxEmailsTheKey() throws {
        let smtp = try SMTPServer()
        let web = try WebhookEndToEndTests(
            database: nil,
            extraSettings: """

                [mail]
                from = Example Shop <shop@example.com>
                smtp_host = 127.0.0.1
                smtp_port = \(smtp.port)
                smtp_security = plain
                site_name = Example Shop

                [delivery]
                interval_seconds = 1
                """)
        let reply = try web.deliver(try StripeFixtures.load("checkout.session.completed.payment_card"))
        #expect(reply.json["status"] as? String == "processed")
        #expect(TestPaths.waitUntil(seconds: 15) { smtp.messages.count == 1 }, "\(web.stack.service.log)")
        let message = try #require(smtp.messages.first)
        #expect(SMTPServer.header("To", of: message) == "buyer@example.com")
        let text = SMTPServer.plainText(of: message)
        let match = try #require(text.range(of: #"PFC(-[0-9A-Z]{7}){4}"#, options: .regularExpression))
        let key = try #require(LicenseKey(parsing: String(text[match])))
        let store = Store(options: web.stack.database, prefix: .standard, logger: .init(label: "test"))
        defer { store.close() }
        let verifier = try store.withConnection { try $0.queryOne("SELECT verifier FROM pfc_licenses WHERE selector = ?", [key.selector])?.bytes("verifier") }
        #expect(try verifier == LicenseKeyHasher(pepper: "e2e-pepper-0123456789abcdef0123456789").verifier(for: key))
        #expect(TestPaths.waitUntil(seconds: 5) { (try? web.count("outbox", "kind = 'license_email' AND delivered_at IS NOT NULL AND sealed IS NULL")) == 1 })
        // The key reached the buyer, and nothing else holds it.
        #expect(!web.stack.service.log.contains(key.canonical))
        let waiting = try ChildProcess.run(TestPaths.binary, ["outbox", "list", "--config", web.stack.service.configPath])
        #expect(!waiting.output.contains("license_email"))
        let cron = try ChildProcess.run(TestPaths.binary, ["deliver", "--config", web.stack.service.configPath])
        #expect(cron.status == 0)
        #expect(smtp.messages.count == 1)
    }
}
