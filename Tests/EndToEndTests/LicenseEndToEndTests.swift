import Foundation
import Handlers
import MariaStore
import Testing
import TestSupport

/// The license API through nginx, as a WordPress plugin on a customer's site calls it.
@Suite("License API through nginx")
struct LicenseEndToEndTests {
    static let signingSeed = "1f1e1d1c1b1a191817161514131211100f0e0d0c0b0a09080706050403020100"
    let web: WebhookEndToEndTests

    init() throws {
        web = try WebhookEndToEndTests(database: nil, extraSettings: "signing_key = \(Self.signingSeed)\n")
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
        let sealed = try store.unitOfWork { try $0.queryOne("SELECT sealed FROM pfc_outbox WHERE dedupe_key = ?", ["license-email:\(id)"])!.bytes("sealed") }
        let box = SecretBox(key: Hex.decode("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")!)!
        return String(decoding: box.open(sealed, context: Array("license:\(id)".utf8))!, as: UTF8.self)
    }

    func post(_ path: String, _ fields: [(String, String)]) throws -> HTTPClient.Reply {
        try HTTPClient.send(port: port, method: "POST", path: "/payments" + path, headers: [("Content-Type", "application/x-www-form-urlencoded")],
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
        let json = try HTTPClient.send(port: port, method: "POST", path: "/payments/license/verify", headers: [("Content-Type", "application/json")],
                                       body: Array(#"{"license_key":"\#(key)","site_url":"https://other-site.org"}"#.utf8))
        #expect(verdict(json) == "site_inactive")
        #expect(verdict(try post("/license/deactivate", [("license_key", key), ("site_url", "https://customer-site.com")])) == "site_inactive")
        #expect(verdict(try post("/license/verify", [("license_key", "PFC-AAAAAAA-AAAAAAA-AAAAAAA-AAAAAAA"), ("site_url", "customer-site.com")])) == "invalid")
        let inURL = try HTTPClient.send(port: port, method: "POST", path: "/payments/license/verify?license_key=PFC-ZZZZ",
                                        headers: [("Content-Type", "application/x-www-form-urlencoded")], body: Array("site_url=x.com".utf8))
        #expect(inURL.status == 400)
        #expect(inURL.errorCode == "key_in_url")
    }

    @Test func hundredSimultaneousActivationsEndWithExactlyTheLimit() throws {
        for run in 0..<3 {
            let key = try issueKey()
            let replies = Statuses()
            DispatchQueue.concurrentPerform(iterations: 100) { index in
                let reply = try? post("/license/activate", [("license_key", key), ("site_url", "https://site-\(run)-\(index).example.com")])
                replies.add(reply.map { "\($0.status) \($0.json["status"] as? String ?? $0.text)" } ?? "no reply")
            }
            #expect(replies.all.filter { $0 == "200 active" }.count == 3, "run \(run): \(Set(replies.all))")
            #expect(replies.all.filter { $0 == "200 no_activations_left" }.count == 97, "run \(run): \(Set(replies.all))")
            let shown = try ChildProcess.run(TestPaths.binary, ["license", "show", key, "--config", config])
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
        #expect(try post("/edd", [("edd_action", "deactivate_license"), ("license", key), ("url", "https://edd-site.com")]).json["license"] as? String == "deactivated")
        #expect(try post("/edd", [("edd_action", "get_version")]).status == 400)
    }

    @Test func operatorCommandsChangeWhatPluginsSee() throws {
        let key = try issueKey()
        _ = try post("/license/activate", [("license_key", key), ("site_url", "https://op-site.com")])
        #expect(try ChildProcess.run(TestPaths.binary, ["license", "revoke", key, "--config", config]).status == 0)
        #expect(verdict(try post("/license/verify", [("license_key", key), ("site_url", "https://op-site.com")])) == "disabled")
        #expect(try ChildProcess.run(TestPaths.binary, ["license", "reinstate", key, "--config", config]).status == 0)
        #expect(verdict(try post("/license/verify", [("license_key", key), ("site_url", "https://op-site.com")])) == "active")
        #expect(try ChildProcess.run(TestPaths.binary, ["license", "deactivate-site", key, "https://www.op-site.com/", "--config", config]).output.contains("deactivated"))
        #expect(verdict(try post("/license/verify", [("license_key", key), ("site_url", "https://op-site.com")])) == "site_inactive")
        let extend = try ChildProcess.run(TestPaths.binary, ["license", "extend", key, "--days", "30", "--config", config])
        #expect(extend.status == 0, "\(extend.output)")
        let rotate = try ChildProcess.run(TestPaths.binary, ["license", "rotate", key, "--config", config])
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
        let dump = try ChildProcess.run("/usr/bin/mariadb-dump", ["--no-defaults", "--socket=\(web.stack.database.socket!)", "-uroot", "--hex-blob", web.stack.database.database])
        #expect(dump.status == 0, "\(dump.output.prefix(300))")
        #expect(dump.output.contains("pfc_licenses"))
        let logs = web.stack.service.log + web.nginx.accessLog
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
