import Foundation
import Handlers
import Logging
import MariaStore
import TestSupport
import Testing

/// A clock the test moves.
final class MovableTime: TimeSource, @unchecked Sendable {
    private let lock = NSLock()
    private var current: Date
    init(_ start: Date) { current = start }
    var now: Date {
        lock.lock()
        defer { lock.unlock() }
        return current
    }
    func advance(days: Double) { advance(seconds: days * 86_400) }
    func advance(seconds: Double) {
        lock.lock()
        current = current.addingTimeInterval(seconds)
        lock.unlock()
    }
}

@Suite("License API: activate, verify, deactivate")
struct LicenseAPITests {
    static let seed = [UInt8](repeating: 42, count: 32)
    let harness: ServiceFixture
    let clock = MovableTime(Date(timeIntervalSince1970: 1_767_268_900))
    let context: Context

    init() throws {
        harness = try ServiceFixture()
        var configuration = harness.context.configuration
        configuration.licensing.signingKey = Self.seed
        configuration.licensing.churnLimit = 6
        configuration.licensing.failedLookupsPerAddress = 5
        configuration.licensing.stagingDomains = ["preview.agency.example.org"]
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        context = Context(store: harness.context.store, clock: clock, configuration: configuration, logger: logger)
    }

    /// A license as fulfilment issues it; returns its key.
    func issue(limit: Int = 3, product: String = "pro-license", status: LicenseRepository.Status = .active, expiresInDays: Double? = 365) throws -> String {
        let key = LicenseKey.generate(using: SecureRandom())
        let hasher = LicenseKeyHasher(pepper: ServiceFixture.pepper)
        let now = clock.now
        try context.store.transaction { connection in
            let id = try GrantRepository(connection, prefix: .standard).insertLicense(
                selector: key.selector, verifier: hasher.verifier(for: key), product: product, tier: "pro", activationLimit: limit,
                expiresAt: expiresInDays.map { now.addingTimeInterval($0 * 86_400) }, customerID: nil, orderID: nil, now: now)
            if status != .active { try LicenseRepository(connection, prefix: .standard).update(id, status: status, expiresAt: nil, now: now) }
        }
        return key.formatted()
    }

    struct Answer {
        let status: Int
        let json: [String: Any]
        let body: [UInt8]
        let signature: String?
        var verdict: String? { json["status"] as? String }
        var errorCode: String? { (json["error"] as? [String: Any])?["code"] as? String }
    }

    func call(
        _ action: String, key: String, site: String, product: String? = nil, nonce: String? = nil, address: String = "203.0.113.7",
        query: String = "", form: Bool = true
    ) -> Answer {
        var fields = [("license_key", key), ("site_url", site)]
        if let product { fields.append(("product", product)) }
        if let nonce { fields.append(("nonce", nonce)) }
        var headers = HTTPHeaders()
        let body: String
        if form {
            headers.add("Content-Type", "application/x-www-form-urlencoded")
            body = FormEncoding.encode(fields)
        } else {
            headers.add("Content-Type", "application/json")
            body = String(decoding: JSONValue.object(fields.map { ($0.0, JSONValue.string($0.1)) }).serialized(), as: UTF8.self)
        }
        let response = InProcessClient().send(
            "POST", "/license/\(action)" + (query.isEmpty ? "" : "?\(query)"),
            headers: [("Content-Type", headers["content-type"]!)], body: Array(body.utf8),
            address: address, context: context)
        let json = (try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]) ?? [:]
        return Answer(status: response.status.code, json: json, body: response.body, signature: response.headers["x-license-signature"])
    }

    @Test func activateThenVerifyThenDeactivate() throws {
        let key = try issue()
        let activated = call("activate", key: key, site: "https://www.Example.com/")
        #expect(activated.status == 200)
        #expect(activated.verdict == "active")
        #expect(activated.json["site"] as? String == "example.com")
        #expect(activated.json["activations"] as? Int == 1)
        #expect(activated.json["activations_left"] as? Int == 2)
        #expect(activated.json["activation_limit"] as? Int == 3)
        #expect(activated.json["product"] as? String == "pro-license")
        #expect(activated.json["tier"] as? String == "pro")
        #expect(activated.json["expires_at"] as? String == "2027-01-01T12:01:40Z")
        #expect((activated.json["activation_id"] as? String)?.hasPrefix("act_") == true)
        #expect(call("verify", key: key.lowercased(), site: "example.com").verdict == "active")
        #expect(call("verify", key: key, site: "https://other.example.net").verdict == "site_inactive")
        let deactivated = call("deactivate", key: key, site: "http://example.com/index.php", form: false)
        #expect(deactivated.verdict == "site_inactive")
        #expect(deactivated.json["activations"] as? Int == 0)
        #expect(call("verify", key: key, site: "example.com").verdict == "site_inactive")
    }

    /// A status the program does not know (a hand edit, a value from a newer version) is an
    /// error, never read as another standing: it used to read as `disabled` and be answered so.
    @Test func aMisspeltStatusInTheDatabaseIsAnErrorNotAStanding() throws {
        let key = try issue()
        #expect(call("activate", key: key, site: "example.com").verdict == "active")
        try context.store.withConnection { try $0.execute("UPDATE pfc_licenses SET status = 'actve' ORDER BY id DESC LIMIT 1") }
        let answer = call("verify", key: key, site: "example.com")
        #expect(answer.status == 500)
        #expect(answer.verdict == nil)
        #expect(answer.errorCode == "internal_error")
    }

    @Test func reactivatingASiteUsesNoSeat() throws {
        let key = try issue(limit: 1)
        let first = call("activate", key: key, site: "https://example.com")
        let again = call("activate", key: key, site: "http://www.example.com/wp-admin/")
        #expect(again.verdict == "active")
        #expect(again.json["activation_id"] as? String == first.json["activation_id"] as? String)
        #expect(again.json["activations"] as? Int == 1)
        #expect(call("activate", key: key, site: "https://second.example.net").verdict == "no_activations_left")
    }

    @Test func deactivationRemovesOnlyThatSiteAndIsIdempotent() throws {
        let key = try issue()
        _ = call("activate", key: key, site: "https://a.example.com")
        _ = call("activate", key: key, site: "https://b.example.com")
        #expect(call("deactivate", key: key, site: "https://a.example.com").json["activations"] as? Int == 1)
        #expect(call("deactivate", key: key, site: "https://a.example.com").verdict == "site_inactive")
        #expect(call("deactivate", key: key, site: "https://never.example.com").json["activations"] as? Int == 1)
        #expect(call("verify", key: key, site: "https://b.example.com").verdict == "active")
    }

    @Test func everyStandingIsAnsweredAndCannotActivate() throws {
        for (status, verdict) in [(LicenseRepository.Status.disabled, "disabled"), (.refunded, "refunded"), (.suspended, "suspended"), (.expired, "expired")] {
            let key = try issue(status: status)
            #expect(call("activate", key: key, site: "https://example.com").verdict == verdict)
            #expect(call("verify", key: key, site: "https://example.com").verdict == verdict)
        }
        let lapsed = try issue(expiresInDays: -1)
        #expect(call("activate", key: lapsed, site: "https://example.com").verdict == "expired")
        let lifetime = try issue(expiresInDays: nil)
        let answer = call("activate", key: lifetime, site: "https://example.com")
        #expect(answer.verdict == "active")
        #expect(answer.json["expires_at"] is NSNull)
    }

    @Test func wrongKeysAreInvalidWhateverTheirShape() throws {
        let real = try issue()
        let wrongButWellFormed = LicenseKey.generate(using: SecureRandom()).formatted()
        var typo = Array(real)
        typo[6] = typo[6] == "A" ? "B" : "A"
        for key in [wrongButWellFormed, String(typo), "not-a-key", "PFC-"] {
            let answer = call("verify", key: key, site: "https://example.com", address: "198.51.100.\(key.count)")
            #expect(answer.status == 200)
            #expect(answer.verdict == "invalid", "\(key)")
            #expect(answer.json["product"] is NSNull)
        }
    }

    @Test func productMustMatch() throws {
        let key = try issue()
        #expect(call("activate", key: key, site: "https://example.com", product: "credit-pack").verdict == "wrong_product")
        #expect(call("activate", key: key, site: "https://example.com", product: "pro-license").verdict == "active")
    }

    @Test func stagingSitesUseNoSeatUpToTheLimit() throws {
        let key = try issue(limit: 1)
        for site in ["http://localhost:8080", "https://staging.example.com", "https://client.preview.agency.example.org"] {
            #expect(call("activate", key: key, site: site).verdict == "active", "\(site)")
        }
        #expect(call("activate", key: key, site: "https://example.com").json["activations"] as? Int == 1)
        // The fourth staging site counts as a production seat, and there is none left.
        #expect(call("activate", key: key, site: "http://mysite.local").verdict == "no_activations_left")
    }

    @Test func clientsCannotClaimStaging() throws {
        let key = try issue(limit: 1)
        _ = call("activate", key: key, site: "https://example.com")
        // "environment=staging" is not a field we read: a production-looking host takes a seat.
        #expect(call("activate", key: key, site: "https://shop.example.com").verdict == "no_activations_left")
    }

    @Test func staleSeatsReleaseThemselves() throws {
        let key = try issue(limit: 1, expiresInDays: nil)
        _ = call("activate", key: key, site: "https://old.example.com")
        clock.advance(days: 60)
        #expect(call("activate", key: key, site: "https://new.example.com").verdict == "no_activations_left")
        #expect(call("verify", key: key, site: "https://old.example.com").verdict == "active")  // seen again
        clock.advance(days: 89)
        #expect(call("activate", key: key, site: "https://new.example.com").verdict == "no_activations_left")
        clock.advance(days: 2)  // 91 days unseen
        #expect(call("activate", key: key, site: "https://new.example.com").verdict == "active")
        #expect(call("verify", key: key, site: "https://old.example.com").verdict == "site_inactive")
        #expect(try harness.count("audit_log", "action = 'activation_released'") == 1)
    }

    @Test func verifyCountsOnlyFreshSeatsAndRecordsSeenAtMostHourly() throws {
        let key = try issue(limit: 2, expiresInDays: nil)
        _ = call("activate", key: key, site: "https://one.example.com")
        _ = call("activate", key: key, site: "https://two.example.com")
        let seen = "SELECT last_seen AS v FROM pfc_activations WHERE site = 'one.example.com'"
        let activated = try harness.value(seen)
        clock.advance(seconds: 3599)
        #expect(call("verify", key: key, site: "https://one.example.com").verdict == "active")
        #expect(try harness.value(seen) == activated)  // within the hour: a pure read
        clock.advance(seconds: 2)
        #expect(call("verify", key: key, site: "https://one.example.com").verdict == "active")
        #expect(try harness.value(seen) != activated)
        // two.example.com goes stale: verify no longer counts it, nor answers for it, and
        // leaves the row for the next activation (under the license lock) to release.
        clock.advance(days: 45)
        _ = call("verify", key: key, site: "https://one.example.com")
        clock.advance(days: 46)
        let answer = call("verify", key: key, site: "https://one.example.com")
        #expect(answer.json["activations"] as? Int == 1)
        #expect(call("verify", key: key, site: "https://two.example.com").verdict == "site_inactive")
        #expect(try harness.count("activations") == 2)
        #expect(call("activate", key: key, site: "https://three.example.com").verdict == "active")
        #expect(try harness.count("activations") == 2)
        #expect(try harness.count("audit_log", "action = 'activation_released'") == 1)
    }

    @Test func activationChurnIsLimited() throws {
        let key = try issue(limit: 10)
        for round in 0..<3 {
            #expect(call("activate", key: key, site: "https://s\(round).example.com").verdict == "active")
            #expect(call("deactivate", key: key, site: "https://s\(round).example.com").verdict == "site_inactive")
        }
        let blocked = call("activate", key: key, site: "https://s9.example.com")
        #expect(blocked.status == 429)
        #expect(blocked.errorCode == "rate_limited")
        // Verifying is never churn.
        #expect(call("verify", key: key, site: "https://s0.example.com").status == 200)
        clock.advance(days: 1)
        #expect(call("activate", key: key, site: "https://s9.example.com").verdict == "active")
    }

    @Test func guessingIsThrottledButRealKeysAreNot() throws {
        let real = try issue()
        _ = call("activate", key: real, site: "https://example.com", address: "192.0.2.10")
        for _ in 0..<5 {
            #expect(
                call("verify", key: LicenseKey.generate(using: SecureRandom()).formatted(), site: "https://example.com", address: "192.0.2.66").verdict
                    == "invalid")
        }
        let throttled = call("verify", key: LicenseKey.generate(using: SecureRandom()).formatted(), site: "https://example.com", address: "192.0.2.66")
        #expect(throttled.status == 429)
        // Over its limit, the guesser is refused whatever the key — a right guess included —
        // in any spelling of its address; everyone else's real keys are still answered.
        #expect(call("verify", key: real, site: "https://example.com", address: "192.0.2.66").status == 429)
        #expect(call("activate", key: real, site: "https://example.com", address: "::ffff:192.0.2.66").status == 429)
        #expect(call("verify", key: real, site: "https://example.com", address: "192.0.2.10").verdict == "active")
    }

    @Test func keyInTheURLIsRefused() throws {
        let key = try issue()
        #expect(call("verify", key: key, site: "https://example.com", query: "license_key=\(key)").errorCode == "key_in_url")
        #expect(call("verify", key: key, site: "https://example.com", query: "k=\(key)").errorCode == "key_in_url")
    }

    @Test func malformedRequestsAre400() throws {
        let key = try issue()
        #expect(call("activate", key: key, site: "ftp://example.com").status == 400)
        #expect(call("activate", key: "", site: "https://example.com").status == 400)
    }

    @Test func answersAreSignedWithNonceAndLease() throws {
        let key = try issue()
        let answer = call("activate", key: key, site: "https://example.com", nonce: "n-123")
        #expect(answer.json["nonce"] as? String == "n-123")
        #expect(answer.json["issued_at"] as? String == "2026-01-01T12:01:40Z")
        #expect(answer.json["valid_until"] as? String == "2026-01-04T12:01:40Z")
        #expect(answer.json["cache_ttl"] as? Int == 43_200)
        let signature = try #require(answer.signature.flatMap { Data(base64Encoded: $0) })
        let publicKey = Ed25519Signer(seed: Self.seed)!.publicKey
        #expect(Ed25519Signer.verify(Array(signature), of: answer.body, publicKey: publicKey))
        var tampered = answer.body
        tampered[tampered.count - 3] ^= 1
        #expect(!Ed25519Signer.verify(Array(signature), of: tampered, publicKey: publicKey))
        #expect(!String(decoding: answer.body, as: UTF8.self).contains("@"))  // no email, no personal data
    }

    @Test func refundRevokesAndRemovesActivations() throws {
        #expect(harness.status(try harness.deliver("checkout.session.completed.payment_card")) == "processed")
        let box = SecretBox(key: ServiceFixture.sealingKey)!
        let message = try #require(try context.store.withConnection { try Outbox($0, prefix: .standard).pending() }.first { $0.kind == "license_email" })
        let id = try #require(Int64(try harness.value("SELECT id AS v FROM pfc_licenses") ?? ""))
        let key = String(decoding: box.open(message.sealed!, context: Array("license:\(id)".utf8))!, as: UTF8.self)
        #expect(call("activate", key: key, site: "https://example.com").verdict == "active")
        #expect(harness.status(try harness.deliver("charge.refunded.full")) == "processed")
        #expect(call("verify", key: key, site: "https://example.com").verdict == "refunded")
        #expect(try harness.count("activations") == 0)
        // A won dispute reinstates: the customer activates again without help.
        let dispute = try StripeFixtures.variant("charge.dispute.created", event: ["id": "evt_d_open"])
        _ = harness.deliver(dispute)
        #expect(call("verify", key: key, site: "https://example.com").verdict == "refunded")  // refunded stays refunded
    }

    @Test func wonDisputeLetsTheCustomerActivateAgain() throws {
        #expect(harness.status(try harness.deliver("checkout.session.completed.payment_card")) == "processed")
        let box = SecretBox(key: ServiceFixture.sealingKey)!
        let message = try #require(try context.store.withConnection { try Outbox($0, prefix: .standard).pending() }.first { $0.kind == "license_email" })
        let id = try #require(Int64(try harness.value("SELECT id AS v FROM pfc_licenses") ?? ""))
        let key = String(decoding: box.open(message.sealed!, context: Array("license:\(id)".utf8))!, as: UTF8.self)
        _ = harness.deliver(try StripeFixtures.load("charge.dispute.created"))
        #expect(call("activate", key: key, site: "https://example.com").verdict == "suspended")
        _ = harness.deliver(try StripeFixtures.variant("charge.dispute.closed.lost", event: ["id": "evt_won"], object: ["status": "won"]))
        #expect(call("activate", key: key, site: "https://example.com").verdict == "active")
    }

    @Test func eddProtocolAnswersAsEDDWould() throws {
        let key = try issue(limit: 2, expiresInDays: nil)
        func edd(_ fields: [(String, String)]) -> [String: Any] {
            let response = InProcessClient().send(
                "POST", "/edd", headers: [("Content-Type", "application/x-www-form-urlencoded")],
                body: Array(FormEncoding.encode(fields).utf8), address: "203.0.113.9", context: context)
            return (try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]) ?? [:]
        }
        let activated = edd([("edd_action", "activate_license"), ("license", key), ("item_name", "Pro license"), ("url", "https://example.com")])
        #expect(activated["success"] as? Bool == true)
        #expect(activated["license"] as? String == "valid")
        #expect(activated["expires"] as? String == "lifetime")
        #expect(activated["license_limit"] as? Int == 2)
        #expect(activated["site_count"] as? Int == 1)
        #expect(activated["activations_left"] as? Int == 1)
        #expect(activated["item_name"] as? String == "Pro license")
        #expect(activated["customer_email"] == nil)
        #expect(edd([("edd_action", "check_license"), ("license", key), ("url", "https://example.com")])["license"] as? String == "valid")
        #expect(edd([("edd_action", "check_license"), ("license", key), ("url", "https://other.com")])["license"] as? String == "site_inactive")
        let mismatch = edd([("edd_action", "activate_license"), ("license", key), ("item_name", "Something Else"), ("url", "https://x.com")])
        #expect(mismatch["success"] as? Bool == false)
        #expect(mismatch["error"] as? String == "item_name_mismatch")
        _ = edd([("edd_action", "activate_license"), ("license", key), ("url", "https://two.com")])
        let full = edd([("edd_action", "activate_license"), ("license", key), ("url", "https://three.com")])
        #expect(full["error"] as? String == "no_activations_left")
        #expect(edd([("edd_action", "deactivate_license"), ("license", key), ("url", "https://two.com")])["license"] as? String == "deactivated")
        #expect(edd([("edd_action", "check_license"), ("license", "bogus"), ("url", "https://two.com")])["license"] as? String == "invalid")
    }

    @Test func simultaneousGuessesGetNoMoreAnswersThanTheLimit() throws {
        let options = context.store.options
        let configuration = context.configuration
        let clock = self.clock
        let answers = Statuses()
        // 30 wrong keys from one address at once: the limit (5) is counted atomically.
        Simultaneously.run(30) { _ in
            let store = Store(options: options, prefix: .standard, logger: Logger(label: "t"))
            defer { store.close() }
            let own = Context(store: store, clock: clock, configuration: configuration, logger: Logger(label: "t"))
            let verdict = try? LicenseService(context: own).handle(
                .verify, key: LicenseKey.generate(using: SecureRandom()).formatted(),
                site: "https://example.com", product: nil, clientAddress: "198.51.100.9")
            answers.add(verdict?.status.rawValue ?? "refused")
        }
        #expect(answers.all.filter { $0 == "invalid" }.count <= 5, "\(answers.all)")
        #expect(answers.all.filter { $0 == "refused" }.count >= 25)
    }

    @Test func aGuessNeverWaitsForARealLicensesLock() throws {
        let real = try issue()
        let selector = try #require(LicenseKey(parsing: real)).selector
        // A key with the real selector but another remainder (with valid check symbols).
        let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ")
        var lookalike: String?
        while lookalike == nil {
            let rest = String((0..<18).map { _ in alphabet.randomElement()! })
            lookalike = LicenseKey(parsing: selector + rest).map { $0.formatted() }
        }
        let options = context.store.options
        let locked = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let holder = Worker {
            let store = Store(options: options, prefix: .standard, logger: Logger(label: "t"))
            defer { store.close() }
            try store.transaction { connection in
                _ = try connection.query("SELECT id FROM pfc_licenses WHERE selector = ? FOR UPDATE", [selector])
                locked.signal()
                release.wait()
            }
        }
        locked.wait()
        let started = Date()
        let guess = call("activate", key: try #require(lookalike), site: "https://example.com")
        let waited = Date().timeIntervalSince(started)
        release.signal()
        try holder.wait()
        #expect(guess.verdict == "invalid")
        #expect(waited < 1, "the guess waited \(waited) s for the license's lock")
    }

    @Test func keysInAnyURLAreRefusedWithoutBeingRepeated() throws {
        let key = try issue()
        func send(_ method: String, _ uri: String) -> (status: Int, text: String) {
            let response = InProcessClient().send(method, uri, context: context)
            return (response.status.code, String(decoding: response.body, as: UTF8.self))
        }
        let canonical = try #require(LicenseKey(parsing: key)).canonical
        for (method, uri) in [
            ("POST", "/license/verify/\(key)"), ("GET", "/license/verify?license_key=\(key)"), ("GET", "/license/verify?k=\(key)"),
            ("GET", "/nothing/\(key.lowercased())"), ("DELETE", "/license/activate?x=\(canonical)"),
        ] {
            let answer = send(method, uri)
            #expect(answer.status == 400, "\(method) \(uri)")
            #expect(answer.text.contains("key_in_url"))
            #expect(!answer.text.contains(key) && !answer.text.contains(canonical) && !answer.text.lowercased().contains(canonical.lowercased()))
        }
        // A shop with its own prefix: its keys are recognised too.
        var configuration = context.configuration
        configuration.licensing.keyPrefix = "ACME"
        let acme = LicenseKey.generate(using: SecureRandom()).formatted(prefix: "ACME")
        let own = Context(store: context.store, clock: clock, configuration: configuration, logger: context.logger)
        let refused = InProcessClient().send("GET", "/license/verify/\(acme)", context: own)
        #expect(refused.status.code == 400)
        #expect(!String(decoding: refused.body, as: UTF8.self).contains(acme))
    }

    @Test func signedAnswersNameTheirKeySiteAndProduct() throws {
        let key = try issue()
        let answer = call("activate", key: key.lowercased(), site: "https://www.Example.com/", nonce: "n1")
        #expect(answer.json["key_id"] as? String == LicenseKey.identifier(of: key))
        #expect(answer.json["site_url"] as? String == "https://www.Example.com/")
        #expect(answer.json["site"] as? String == "example.com")
        #expect(answer.json["product"] as? String == "pro-license")
        let invalid = call("verify", key: "PFC-NOT-A-REAL-KEY", site: "https://example.com", product: "pro-license")
        #expect(invalid.verdict == "invalid")
        #expect(invalid.json["key_id"] as? String == LicenseKey.identifier(of: "PFC-NOT-A-REAL-KEY"))
        #expect(invalid.json["product"] as? String == "pro-license")
        #expect(invalid.signature != nil)
    }
}
