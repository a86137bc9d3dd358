import Foundation
import Handlers
import MariaStore
import TestSupport
import Testing

/// The license API through nginx, as a WordPress plugin on a customer's site calls it.
@Suite("License API through nginx")
struct LicenseEndToEndTests {
    static let signingSeed = "1f1e1d1c1b1a191817161514131211100f0e0d0c0b0a09080706050403020100"
    let web: WebhookEndToEndTests

    init() throws {
        try self.init(extraSettings: "")
    }

    /// `extraSettings` follow the `[licensing]` lines (a section of their own may start there).
    init(extraSettings: String) throws {
        web = try WebhookEndToEndTests(database: nil, extraSettings: "signing_key = \(Self.signingSeed)\n" + extraSettings)
    }

    var port: Int { web.nginx.port }
    var config: String { web.stack.service.configPath }

    /// Issues a license by hand (the CLI) and reads its key out of the outbox, as the email would carry it.
    func issueKey(product: String = "pro-license") throws -> String {
        let issued = try ChildProcess.run(TestPaths.binary, ["license", "issue", product, "--email", "buyer@example.com", "--config", config])
        guard issued.status == 0, let id = issued.output.split(separator: " ").dropFirst().first.flatMap({ Int64($0) }) else {
            throw TestSupportError("license issue failed: \(issued.output)")
        }
        let store = Store(options: web.stack.database, prefix: .standard, logger: .init(label: "test"))
        defer { store.close() }
        let sealed = try store.withConnection {
            try $0.queryOne("SELECT sealed FROM pfc_outbox WHERE dedupe_key = ?", ["license-email:\(id)"])!.bytes("sealed")
        }
        let box = SecretBox(key: Hex.decode("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")!)!
        return String(decoding: box.open(sealed, context: Array("license:\(id)".utf8))!, as: UTF8.self)
    }

    func post(_ path: String, _ fields: [(String, String)]) throws -> HTTPClient.Reply {
        try HTTPClient.send(
            port: port, method: "POST", path: "/payments" + path, headers: [("Content-Type", "application/x-www-form-urlencoded")],
            body: Array(FormEncoding.encode(fields).utf8))
    }

    func verdict(_ reply: HTTPClient.Reply) -> String? { reply.json["status"] as? String }

    @Test func pluginFlowThroughNginx() throws {
        let key = try issueKey()
        let activated = try post("/license/activate", [("license_key", key), ("site_url", "https://www.customer-site.com/")])
        #expect(activated.status == 200, "\(activated.text)")
        #expect(verdict(activated) == "active")
        #expect(activated.json["site"] as? String == "customer-site.com")
        #expect(verdict(try post("/license/verify/", [("license_key", key), ("site_url", "customer-site.com")])) == "active")
        let json = try HTTPClient.send(
            port: port, method: "POST", path: "/payments/license/verify", headers: [("Content-Type", "application/json")],
            body: Array(#"{"license_key":"\#(key)","site_url":"https://other-site.org"}"#.utf8))
        #expect(verdict(json) == "site_inactive")
        #expect(verdict(try post("/license/deactivate", [("license_key", key), ("site_url", "https://customer-site.com")])) == "site_inactive")
        #expect(verdict(try post("/license/verify", [("license_key", "PFC-AAAAAAA-AAAAAAA-AAAAAAA-AAAAAAA"), ("site_url", "customer-site.com")])) == "invalid")
        let inURL = try HTTPClient.send(
            port: port, method: "POST", path: "/payments/license/verify?license_key=PFC-ZZZZ",
            headers: [("Content-Type", "application/x-www-form-urlencoded")], body: Array("site_url=x.com".utf8))
        #expect(inURL.status == 400)
        #expect(inURL.errorCode == "key_in_url")
    }

    func sql(_ statement: String, _ parameters: [any SQLBindable] = []) throws {
        let store = Store(options: web.stack.database, prefix: .standard, logger: .init(label: "test"))
        defer { store.close() }
        try store.withConnection { try $0.execute(statement, parameters) }
    }

    func licenseID(_ key: String) throws -> Int64 {
        let shown = try ChildProcess.run(TestPaths.binary, ["license", "show", "-", "--config", config], input: key)
        guard let id = shown.output.split(separator: ":").first?.split(separator: " ").last.flatMap({ Int64($0) }) else {
            throw TestSupportError("license show: \(shown.output)")
        }
        return id
    }

    @Test func everyVerdictThroughNginx() throws {
        func check(_ key: String, _ site: String = "https://verdict-site.com", product: String? = nil) throws -> String? {
            var fields = [("license_key", key), ("site_url", site)]
            if let product { fields.append(("product", product)) }
            return verdict(try post("/license/activate", fields))
        }
        let good = try issueKey()
        #expect(try check(good) == "active")
        #expect(verdict(try post("/license/verify", [("license_key", good), ("site_url", "https://elsewhere.com")])) == "site_inactive")
        #expect(try check(good, product: "credit-pack") == "wrong_product")
        #expect(try check("PFC-0000000-0000000-0000000-0000000") == "invalid")
        for (column, value, expected) in [("status", "disabled", "disabled"), ("status", "refunded", "refunded"), ("status", "suspended", "suspended")] {
            let key = try issueKey()
            try sql("UPDATE pfc_licenses SET \(column) = ? WHERE id = ?", [value, try licenseID(key)])
            #expect(try check(key) == expected)
        }
        let lapsed = try issueKey()
        try sql("UPDATE pfc_licenses SET expires_at = '2020-01-01 00:00:00' WHERE id = ?", [try licenseID(lapsed)])
        #expect(try check(lapsed) == "expired")
        let full = try issueKey()
        for index in 0..<3 { #expect(try check(full, "https://seat-\(index).com") == "active") }
        #expect(try check(full, "https://seat-4.com") == "no_activations_left")
    }

    @Test func siteRulesThroughNginx() throws {
        let key = try issueKey()
        // The normalisation table, as the plugin's site_url arrives through nginx.
        for (input, canonical) in [
            ("https://WWW.Example.com.", "example.com"), ("http://example.com:80/index.php?x=1", "example.com"),
            ("example.com//Blog/", "example.com/blog"), ("https://bücher.example/", "xn--bcher-kva.example"),
            ("https://example.com:8080/wp-admin/", "example.com:8080"),
        ] {
            #expect(try post("/license/verify", [("license_key", key), ("site_url", input)]).json["site"] as? String == canonical, "\(input)")
        }
        // Idempotent activation.
        let first = try post("/license/activate", [("license_key", key), ("site_url", "https://prod-one.com")])
        let again = try post("/license/activate", [("license_key", key), ("site_url", "http://www.prod-one.com/")])
        #expect(again.json["activation_id"] as? String == first.json["activation_id"] as? String)
        #expect(again.json["activations"] as? Int == 1)
        // Staging sites use no seat.
        for site in ["http://localhost:10003", "https://staging.prod-one.com", "https://prod-one.wpengine.com"] {
            #expect(verdict(try post("/license/activate", [("license_key", key), ("site_url", site)])) == "active", "\(site)")
        }
        #expect(try post("/license/verify", [("license_key", key), ("site_url", "https://prod-one.com")]).json["activations"] as? Int == 1)
        // A seat unseen for longer than stale_days frees itself.
        _ = try post("/license/activate", [("license_key", key), ("site_url", "https://prod-two.com")])
        _ = try post("/license/activate", [("license_key", key), ("site_url", "https://prod-three.com")])
        #expect(verdict(try post("/license/activate", [("license_key", key), ("site_url", "https://prod-four.com")])) == "no_activations_left")
        try sql("UPDATE pfc_activations SET last_seen = DATE_SUB(UTC_TIMESTAMP(6), INTERVAL 91 DAY) WHERE site = 'prod-two.com'")
        #expect(verdict(try post("/license/activate", [("license_key", key), ("site_url", "https://prod-four.com")])) == "active")
        #expect(verdict(try post("/license/verify", [("license_key", key), ("site_url", "https://prod-two.com")])) == "site_inactive")
    }

    @Test func guessingThroughNginxIsThrottled() throws {
        let key = try issueKey()
        for _ in 0..<20 {
            #expect(
                verdict(try post("/license/verify", [("license_key", LicenseKey.generate(using: SecureRandom()).formatted()), ("site_url", "https://g.com")]))
                    == "invalid")
        }
        let blocked = try post("/license/verify", [("license_key", "PFC-0000000-0000000-0000000-0000000"), ("site_url", "https://g.com")])
        #expect(blocked.status == 429)
        #expect(blocked.errorCode == "rate_limited")
        #expect(Int(blocked.header("Retry-After") ?? "") != nil)
        // A right guess from the same address is refused too: it would be told apart otherwise.
        let right = try post("/license/verify", [("license_key", key), ("site_url", "https://g.com")])
        #expect(right.status == 429)
        #expect(right.errorCode == "rate_limited")
    }

    @Test func hundredSimultaneousActivationsEndWithExactlyTheLimit() throws {
        for run in 0..<3 {
            let key = try issueKey()
            let replies = Statuses()
            for reply in Simultaneously.send(
                100, port: port,
                { index in
                    (
                        "POST", "/payments/license/activate", [("Content-Type", "application/x-www-form-urlencoded")],
                        Array("license_key=\(key)&site_url=https://site-\(run)-\(index).example.com".utf8)
                    )
                })
            {
                replies.add(reply.map { "\($0.status) \($0.json["status"] as? String ?? $0.text)" } ?? "no reply")
            }
            #expect(replies.all.filter { $0 == "200 active" }.count == 3, "run \(run): \(Set(replies.all))")
            #expect(replies.all.filter { $0 == "200 no_activations_left" }.count == 97, "run \(run): \(Set(replies.all))")
            let shown = try ChildProcess.run(TestPaths.binary, ["license", "show", "-", "--config", config], input: key)
            #expect(shown.output.split(separator: "\n").filter { $0.hasPrefix("  site-") }.count == 3, "\(shown.output)")
        }
    }

    @Test func aWordPressPluginVerifiesTheAnswerWithSodium() throws {
        let key = try issueKey()
        let published = try HTTPClient.send(port: port, path: "/payments/license/public-key")
        let publicKey = try #require(published.json["public_key_base64"] as? String)
        let reply = try post("/license/activate", [("license_key", key), ("site_url", "https://plugin-site.com"), ("nonce", "n-4711")])
        let signature = try #require(reply.header("X-License-Signature"))
        let directory = TestPaths.scratchDirectory("php")
        func php(_ body: [UInt8], nonce: String) throws -> String {
            let file = directory + "/answer-\(UUID().uuidString).json"
            _ = FileManager.default.createFile(atPath: file, contents: Data(body))
            let oracle = TestPaths.repositoryRoot.appendingPathComponent("Tests/oracles/verify_license_answer.php").path
            return try ChildProcess.run("/usr/bin/php", [oracle, publicKey, file, signature, nonce, String(Int(Date().timeIntervalSince1970))]).output
        }
        #expect(try php(reply.body, nonce: "n-4711") == "ok active")
        var tampered = reply.body
        let index = tampered.firstRange(of: Array("active".utf8))!.lowerBound
        tampered[index] = UInt8(ascii: "A")
        #expect(try php(tampered, nonce: "n-4711") == "bad signature")
        // The same genuine answer replayed to a plugin that asked with another nonce.
        #expect(try php(reply.body, nonce: "n-4712") == "nonce mismatch")
    }

    @Test func eddPluginsOnlyChangeTheirStoreURL() throws {
        let key = try issueKey()
        let activated = try post("/edd", [("edd_action", "activate_license"), ("license", key), ("item_name", "Pro license"), ("url", "https://edd-site.com")])
        #expect(activated.json["success"] as? Bool == true)
        #expect(activated.json["license"] as? String == "valid")
        #expect(activated.json["expires"] as? String != nil)
        #expect(try post("/edd", [("edd_action", "check_license"), ("license", key), ("url", "https://edd-site.com")]).json["license"] as? String == "valid")
        #expect(
            try post("/edd", [("edd_action", "deactivate_license"), ("license", key), ("url", "https://edd-site.com")]).json["license"] as? String
                == "deactivated")
        #expect(try post("/edd", [("edd_action", "get_version")]).status == 400)
    }

    @Test func operatorCommandsChangeWhatPluginsSee() throws {
        let key = try issueKey()
        _ = try post("/license/activate", [("license_key", key), ("site_url", "https://op-site.com")])
        // A key as an argument would be visible in ps and kept in shell history: refused, unused.
        let onCommandLine = try ChildProcess.run(TestPaths.binary, ["license", "revoke", key, "--config", config])
        #expect(onCommandLine.status == 64)
        #expect(onCommandLine.output.contains("give its key on standard input"))
        #expect(verdict(try post("/license/verify", [("license_key", key), ("site_url", "https://op-site.com")])) == "active")
        #expect(try ChildProcess.run(TestPaths.binary, ["license", "revoke", "-", "--config", config], input: key).status == 0)
        #expect(verdict(try post("/license/verify", [("license_key", key), ("site_url", "https://op-site.com")])) == "disabled")
        #expect(try ChildProcess.run(TestPaths.binary, ["license", "reinstate", "-", "--config", config], input: key).status == 0)
        #expect(verdict(try post("/license/verify", [("license_key", key), ("site_url", "https://op-site.com")])) == "active")
        #expect(
            try ChildProcess.run(TestPaths.binary, ["license", "deactivate-site", "-", "https://www.op-site.com/", "--config", config], input: key).output
                .contains("deactivated"))
        #expect(verdict(try post("/license/verify", [("license_key", key), ("site_url", "https://op-site.com")])) == "site_inactive")
        let extend = try ChildProcess.run(TestPaths.binary, ["license", "extend", "-", "--days", "30", "--config", config], input: key)
        #expect(extend.status == 0, "\(extend.output)")
        let rotate = try ChildProcess.run(TestPaths.binary, ["license", "rotate", "-", "--config", config], input: key)
        #expect(rotate.status == 0, "\(rotate.output)")
        #expect(verdict(try post("/license/verify", [("license_key", key), ("site_url", "https://op-site.com")])) == "invalid")
        #expect(!rotate.output.contains(key) && !extend.output.contains(key))
    }

    @Test func noIssuedKeyInTheDatabaseDumpOrAnyLog() throws {
        var keys: [String] = []
        for _ in 0..<3 {
            let key = try issueKey()
            keys.append(key)
            _ = try post("/license/activate", [("license_key", key), ("site_url", "https://dump-site.com")])
            _ = try post("/license/verify", [("license_key", key), ("site_url", "https://dump-site.com")])
            _ = try post("/edd", [("edd_action", "check_license"), ("license", key), ("url", "https://dump-site.com")])
        }
        // Delivered emails erase the sealed copy; here the outbox still holds it, sealed.
        let dump = try ChildProcess.run(
            "/usr/bin/mariadb-dump", ["--no-defaults", "--socket=\(web.stack.database.socket!)", "-uroot", "--hex-blob", web.stack.database.database])
        #expect(dump.status == 0, "\(dump.output.prefix(300))")
        #expect(dump.output.contains("pfc_licenses"))
        let logs =
            web.stack.service.log + web.nginx.accessLog
            + ((try? String(contentsOfFile: web.nginx.directory + "/error.log", encoding: .utf8)) ?? "")
        for key in keys {
            let canonical = LicenseKey(parsing: key)!.canonical
            for text in [key, canonical, key.lowercased(), String(canonical.dropFirst(10))] {
                #expect(!dump.output.contains(text), "key found in the database dump")
                #expect(!logs.contains(text), "key found in a log")
            }
        }
    }
}
