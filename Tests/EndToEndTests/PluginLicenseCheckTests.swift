import Foundation
import Handlers
import MariaStore
import TestSupport
import Testing

/// The license check README.md gives plugin authors, run verbatim with PHP against the real
/// service through nginx: every verdict is trusted only when signed and about this key, this
/// site and this product; every error and every forged or relayed answer is "unknown", and
/// nothing ever throws into WordPress.
@Suite("The README's PHP license check")
struct PluginLicenseCheckTests {
    let license: LicenseEndToEndTests
    let block: String
    let publicKey: String

    init() throws {
        license = try LicenseEndToEndTests()
        let readme = try String(contentsOf: TestPaths.repositoryRoot.appendingPathComponent("README.md"), encoding: .utf8)
        guard let marker = readme.range(of: "<!-- license-check.php"), let start = readme.range(of: "```php\n", range: marker.upperBound..<readme.endIndex),
            let end = readme.range(of: "```", range: start.upperBound..<readme.endIndex)
        else {
            throw TestSupportError("README.md has no license-check.php block")
        }
        // The block is indented as part of a list item; PHP needs its opening tag.
        let code = readme[start.upperBound..<end.lowerBound].split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.hasPrefix("  ") ? $0.dropFirst(2) : $0 }.joined(separator: "\n")
        block = TestPaths.scratchDirectory("php") + "/license-check.php"
        try ("<?php\n" + code).write(toFile: block, atomically: true, encoding: .utf8)
        let published = try HTTPClient.send(port: license.port, path: "/payments/license/public-key")
        publicKey = published.json["public_key_base64"] as? String ?? ""
    }

    /// Runs the README's `pfc_license_check` as a plugin on `site` would; "status trusted".
    func check(
        _ action: String, key: String, product: String = "pro-license", site: String = "https://plugin-site.com",
        store: String? = nil
    ) throws -> String {
        let driver = TestPaths.repositoryRoot.appendingPathComponent("Tests/oracles/wordpress_http.php").path
        let run = try ChildProcess.run(
            "/usr/bin/php", [driver, block, action, store ?? "http://127.0.0.1:\(license.port)/payments", publicKey, key, product, site])
        let result = (try? JSONSerialization.jsonObject(with: Data(run.output.utf8))) as? [String: Any]
        guard run.status == 0, let status = result?["status"] as? String, let trusted = result?["trusted"] as? Bool else {
            return "PHP failed (\(run.status)): \(run.output)"
        }
        return "\(status) \(trusted)"
    }

    func setStatus(_ key: String, _ sql: String) throws {
        let store = Store(options: license.web.stack.database, prefix: .standard, logger: .init(label: "t"))
        defer { store.close() }
        let selector = try #require(LicenseKey(parsing: key)).selector
        try store.withConnection { try $0.execute("UPDATE pfc_licenses SET \(sql) WHERE selector = ?", [selector]) }
    }

    @Test func everyVerdictIsTrustedOnlyForItsOwnKeySiteAndProduct() throws {
        let key = try license.issueKey()
        #expect(try check("verify", key: key) == "site_inactive true")
        #expect(try check("activate", key: key) == "active true")
        #expect(try check("verify", key: key) == "active true")
        // Typed as a customer might: the server forgives it, and so does the identifier.
        #expect(try check("verify", key: key.lowercased().replacingOccurrences(of: "-", with: " ")) == "active true")
        #expect(try check("verify", key: key, site: "https://other-site.com") == "site_inactive true")
        #expect(try check("verify", key: key, product: "other-plugin") == "wrong_product true")
        for site in ["https://two.example.org", "https://three.example.org"] { _ = try check("activate", key: key, site: site) }
        #expect(try check("activate", key: key, site: "https://four.example.org") == "no_activations_left true")
        #expect(try check("deactivate", key: key) == "site_inactive true")
        #expect(try check("verify", key: LicenseKey.generate(using: SecureRandom()).formatted()) == "invalid true")
        for (sql, status) in [
            ("status = 'disabled'", "disabled"), ("status = 'refunded'", "refunded"), ("status = 'suspended'", "suspended"),
            ("status = 'active', expires_at = '2020-01-01 00:00:00'", "expired"),
        ] {
            let other = try license.issueKey()
            try setStatus(other, sql)
            #expect(try check("verify", key: other) == "\(status) true")
        }
    }

    @Test func errorsAndForgeriesAreUnknownAndNeverThrow() throws {
        let key = try license.issueKey()
        #expect(try check("activate", key: key) == "active true")
        // A relay holding one real key answers for a plugin with a made-up one: the server's
        // genuine, signed "active" is about another key.
        let port = license.port
        let relay = try LoopbackHTTPServer { request in
            let forged = request.form.map { ($0.0, $0.0 == "license_key" ? key : $0.1) }
            guard
                let reply = try? HTTPClient.send(
                    port: port, method: "POST", path: "/payments" + request.path.replacingOccurrences(of: "/relay", with: ""),
                    headers: [("Content-Type", "application/x-www-form-urlencoded")], body: Array(FormEncoding.encode(forged).utf8))
            else { return .dropped }
            return LoopbackHTTPServer.Response(
                status: reply.status, headers: reply.headers.filter { $0.0.lowercased() != "content-length" && $0.0.lowercased() != "connection" },
                body: reply.body)
        }
        let madeUp = LicenseKey.generate(using: SecureRandom()).formatted()
        #expect(try check("verify", key: madeUp, store: relay.baseURL + "/relay") == "unknown false")
        #expect(try check("verify", key: key, store: relay.baseURL + "/relay") == "active true")  // the relay changed nothing for its own key
        // Malformed (400), unreachable, and an answer without a signature.
        #expect(try check("verify", key: key, site: "ftp://nowhere") == "unknown false")
        #expect(try check("verify", key: key, store: "http://127.0.0.1:\(TestPaths.freePort())/payments") == "unknown false")
        let unsigned = try LoopbackHTTPServer { _ in .json(200, #"{"status":"active","product":"pro-license","valid_until":"2099-01-01T00:00:00Z"}"#) }
        #expect(try check("verify", key: key, store: unsigned.baseURL) == "unknown false")
        // Rate limited (429): guesses from this address use up its failed lookups.
        for _ in 0..<20 {
            _ = try license.post(
                "/license/verify", [("license_key", LicenseKey.generate(using: SecureRandom()).formatted()), ("site_url", "https://g.example.org")])
        }
        #expect(try license.post("/license/verify", [("license_key", key), ("site_url", "https://plugin-site.com")]).status == 429)
        #expect(try check("verify", key: key) == "unknown false")
        // The service down: nginx's own 503.
        license.web.stack.service.stop()
        #expect(try license.post("/license/verify", [("license_key", key), ("site_url", "https://plugin-site.com")]).status == 503)
        #expect(try check("verify", key: key) == "unknown false")
    }
}
