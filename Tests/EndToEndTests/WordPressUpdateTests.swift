import Foundation
import Handlers
import MariaStore
import TestSupport
import Testing

/// A real WordPress (Debian's package, PHP-FPM, nginx, its own MariaDB database, offline) with
/// two licensed plugins installed: one written as EDD's Software Licensing documentation tells
/// authors to (numeric item_id, item_name encoded twice, an updater calling get_version), and
/// the example plugin with `clients/php/pfc-license-client.php`. The store is the service behind
/// the same nginx (packages sent with X-Accel-Redirect) and behind Apache (X-Sendfile).
@Suite("A real WordPress: EDD clients and the PHP client, licensed updates")
struct WordPressUpdateTests {
    static let signingSeed = "1f1e1d1c1b1a191817161514131211100f0e0d0c0b0a09080706050403020100"
    static let catalogue = """
        [example-pro]
        name = Sample Plugin
        kind = license
        tier = pro
        activation_limit = 2
        duration_days = 365
        edd_item_id = 123
        slug = example-pro
        homepage = https://shop.example.com/example-pro
        description = <p>Example Pro does licensed things.</p>
        """

    let stripe: FakeStripeServer
    let stack: Stack
    let apacheService: ServiceProcess
    let site: WordPressSite
    let nginx: NginxServer
    let apache: ApacheServer
    let releases: String
    let publicKey: String

    init() throws {
        let releases = TestPaths.scratchDirectory("releases")
        self.releases = releases
        let stripe = try FakeStripeServer()
        self.stripe = stripe
        func settings(_ delivery: String) -> String {
            WebhookEndToEndTests.settings(stripe: stripe, extraLicensing: "signing_key = \(Self.signingSeed)\nfailed_lookups_per_address = 6\n")
                + "\n[releases]\ndirectory = \(releases)\ndelivery = \(delivery)\n"
        }
        let stack = try Stack(workers: 4, extra: settings("x-accel-redirect"))
        self.stack = stack
        apacheService = try ServiceProcess(database: stack.database, workers: 2, extra: settings("x-sendfile"))
        let catalogue = stack.service.directory + "/catalogue.ini"
        try Self.catalogue.write(toFile: catalogue, atomically: true, encoding: .utf8)
        let imported = try ChildProcess.run(TestPaths.binary, ["catalog", "import", "--config", stack.service.configPath, catalogue])
        guard imported.status == 0 else { throw TestSupportError("catalog import failed: \(imported.output)") }

        site = try WordPressSite(database: try MariaDBServer.shared.createDatabase("wp"))
        nginx = try NginxServer(serviceSocket: stack.service.socketPath, releasesDirectory: releases, wordpress: site.serving)
        apache = try ApacheServer(.proxyFCGI(socket: apacheService.socketPath), releasesDirectory: releases)
        publicKey = try HTTPClient.send(port: nginx.port, path: "/payments/license/public-key").json["public_key_base64"] as? String ?? ""

        try installPlugin(version: "1.0.0", into: site.pluginDirectory)
        let eddStyle = try String(contentsOf: TestPaths.repositoryRoot.appendingPathComponent("Tests/oracles/edd-style-plugin.php"), encoding: .utf8)
        try FileManager.default.createDirectory(atPath: site.pluginDirectory + "/edd-style-plugin", withIntermediateDirectories: true)
        try eddStyle.replacingOccurrences(of: "'STORE_URL'", with: "'http://127.0.0.1:\(nginx.port)/payments/edd'")
            .write(toFile: site.pluginDirectory + "/edd-style-plugin/edd-style-plugin.php", atomically: true, encoding: .utf8)
        try site.install(host: "127.0.0.1:\(nginx.port)", plugins: ["example-pro/example-pro.php", "edd-style-plugin/edd-style-plugin.php"])
    }

    var store: String { "http://127.0.0.1:\(nginx.port)/payments" }

    /// The README's example plugin as an author ships it: store, key and version filled in,
    /// the client file beside it.
    func installPlugin(version: String, into plugins: String) throws {
        let folder = plugins + "/example-pro"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let example = try DeploymentFile.render(
            "clients/php/example-plugin/example-pro.php",
            replacing: [
                "'https://shop.example.com/payments'": "'\(store)'",
                "'PUBLIC_KEY_BASE64'": "'\(publicKey)'",
                " * Version: 1.0.0": " * Version: \(version)",
                "'version'    => '1.0.0'": "'version'    => '\(version)'",
            ])
        try example.write(toFile: folder + "/example-pro.php", atomically: true, encoding: .utf8)
        let client = try String(contentsOf: TestPaths.repositoryRoot.appendingPathComponent("clients/php/pfc-license-client.php"), encoding: .utf8)
        try client.write(toFile: folder + "/pfc-license-client.php", atomically: true, encoding: .utf8)
    }

    /// Version 1.1.0 of the example plugin as a zip, added with `release add`; returns its SHA-256.
    func releaseNewVersion() throws -> String {
        let build = TestPaths.scratchDirectory("build")
        try installPlugin(version: "1.1.0", into: build)
        let zip = build + "/example-pro-1.1.0.zip"
        let zipped = try ChildProcess.run(
            "/usr/bin/python3",
            [
                "-c",
                """
                import os, sys, zipfile
                with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as z:
                    for name in sorted(os.listdir(sys.argv[2] + "/example-pro")):
                        z.write(sys.argv[2] + "/example-pro/" + name, "example-pro/" + name)
                """, zip, build,
            ])
        guard zipped.status == 0 else { throw TestSupportError("zip: \(zipped.output)") }
        try "Faster license checks.\n\nThe update arrives through the store.".write(toFile: build + "/changes.txt", atomically: true, encoding: .utf8)
        let added = try ChildProcess.run(
            TestPaths.binary,
            [
                "release", "add", "example-pro", "1.1.0", zip, "--changelog", build + "/changes.txt",
                "--requires", "6.0", "--tested", "6.1", "--requires-php", "7.4",
                "--config", stack.service.configPath,
            ])
        guard added.status == 0 else { throw TestSupportError("release add: \(added.output)") }
        return Hex.encode(Digest.sha256([UInt8](try Data(contentsOf: URL(fileURLWithPath: zip)))))
    }

    /// Issues a license by hand and reads its key out of the outbox, as the email carries it.
    func issueKey() throws -> String {
        let issued = try ChildProcess.run(
            TestPaths.binary, ["license", "issue", "example-pro", "--email", "buyer@example.com", "--config", stack.service.configPath])
        guard issued.status == 0, let id = issued.output.split(separator: " ").dropFirst().first.flatMap({ Int64($0) }) else {
            throw TestSupportError("license issue failed: \(issued.output)")
        }
        let store = Store(options: stack.database, prefix: .standard, logger: .init(label: "test"))
        defer { store.close() }
        let sealed = try store.withConnection {
            try $0.queryOne("SELECT sealed FROM pfc_outbox WHERE dedupe_key = ?", ["license-email:\(id)"])!.bytes("sealed")
        }
        let box = SecretBox(key: Hex.decode(WebhookEndToEndTests.sealingKeyHex)!)!
        return String(decoding: box.open(sealed, context: Array("license:\(id)".utf8))!, as: UTF8.self)
    }

    func refund(_ key: String) throws {
        let store = Store(options: stack.database, prefix: .standard, logger: .init(label: "test"))
        defer { store.close() }
        let selector = try #require(LicenseKey(parsing: key)).selector
        try store.withConnection { try $0.execute("UPDATE pfc_licenses SET status = 'refunded' WHERE selector = ?", [selector]) }
    }

    /// "View details" as an administrator's browser asks for it, through nginx and PHP-FPM.
    func viewDetails(_ slug: String) throws -> HTTPClient.Reply {
        let cookie = try site.run("auth-cookie")
        let cookies =
            "\(cookie["name"] as? String ?? "")=\(cookie["value"] as? String ?? ""); \(cookie["logged_in_name"] as? String ?? "")=\(cookie["logged_in"] as? String ?? "")"
        return try HTTPClient.send(
            port: nginx.port, path: "/wp-admin/plugin-install.php?tab=plugin-information&plugin=\(slug)&section=changelog",
            headers: [("Cookie", cookies)])
    }

    /// Starts the nginx-side service again on its socket, after a test stopped it.
    func restartService() throws -> ChildProcess {
        let child = try ChildProcess(TestPaths.binary, ["serve", "--config", stack.service.configPath], logPath: stack.service.directory + "/service-2.log")
        let socket = stack.service.socketPath
        guard TestPaths.waitUntil(seconds: 10, { FastCGIClient.canConnect(socket) }) else { throw TestSupportError("no restart: \(child.output)") }
        return child
    }

    /// Lines of a PHP log that are warnings, notices, errors or deprecations — except the
    /// deprecations WordPress 6.1's own files raise under the PHP Debian ships (8.2), which no
    /// plugin can cause or avoid.
    static func phpProblems(_ log: String) -> [Substring] {
        log.split(separator: "\n").filter { line in
            ["PHP Warning", "PHP Notice", "PHP Fatal", "PHP Parse"].contains { line.contains($0) }
                || (line.contains("PHP Deprecated") && !line.contains(" in /usr/share/wordpress/"))
        }
    }

    @Test func pluginsActivateUpdateThemselvesAndDegradeInARealWordPress() throws {
        let sha256 = try releaseNewVersion()
        let eddKey = try issueKey()
        let key = try issueKey()

        // (a) The EDD-style plugin, unchanged but for its store URL.
        let activated = try site.run("edd-activate", [eddKey])["message"] as? String ?? ""
        #expect(activated.hasPrefix("valid: valid until 20"), "\(activated)")
        // The test site (127.0.0.1, a private address) is a staging site: it uses no seat.
        #expect(activated.hasSuffix(", 2 left of 2, site_count 0"), "\(activated)")
        #expect(!activated.contains("lifetime"))
        #expect(try site.run("edd-check", [eddKey])["check"] as? String == "valid")
        #expect(try site.run("edd-raw", ["check_license", "PFC-NOT-A-KEY"])["success"] as? Bool == false)

        // (b) The PHP client in the example plugin.
        #expect(try site.run("pfc-activate", [key])["status"] as? String == "active")
        #expect(try site.run("pfc-status")["licensed"] as? Bool == true)

        // The update check offers 1.1.0 to both, with a package link that holds no key.
        let offers = try site.run("update-check")["offers"] as? [String: Any] ?? [:]
        let example = try #require(offers["example-pro/example-pro.php"] as? [String: Any], "\(offers)")
        #expect(example["new_version"] as? String == "1.1.0")
        let package = try #require(example["package"] as? String)
        #expect(package.hasPrefix("http://127.0.0.1:\(nginx.port)/payments/package/"))
        #expect(!package.contains(key) && !package.contains(key.replacingOccurrences(of: "-", with: "")))
        let eddOffer = try #require(offers["edd-style-plugin/edd-style-plugin.php"] as? [String: Any], "\(offers)")
        #expect(eddOffer["new_version"] as? String == "1.1.0")
        let eddPackage = try #require(eddOffer["package"] as? String)
        #expect(eddPackage.hasPrefix("http://127.0.0.1:\(nginx.port)/payments/package/"))

        // The package downloads through nginx (X-Accel-Redirect) and Apache (X-Sendfile).
        #expect(try site.run("download", [package])["sha256"] as? String == sha256)
        let viaApache = try site.run("version-from", ["http://127.0.0.1:\(apache.port)/payments", publicKey, "example-pro", "example-pro/example-pro.php"])
        let apachePackage = try #require(viaApache["package"] as? String, "\(viaApache)")
        #expect(apachePackage.hasPrefix("http://127.0.0.1:\(apache.port)/payments/package/"))
        #expect(try site.run("download", [apachePackage])["sha256"] as? String == sha256, "\(apache.errorLog)")
        // An answer the client cannot verify (another store's key) offers nothing.
        let otherKey = Data(repeating: 7, count: 32).base64EncodedString()
        #expect(try site.run("version-from", [store, otherKey, "example-pro", "example-pro/example-pro.php"])["package"] is NSNull)

        // "View details" renders for both plugins.
        let details = try viewDetails("example-pro")
        #expect(details.status == 200)
        #expect(details.text.contains("Sample Plugin") && details.text.contains("Faster license checks."), "\(details.text.prefix(2000))")
        let eddDetails = try viewDetails("edd-style-plugin")
        #expect(eddDetails.status == 200 && eddDetails.text.contains("Faster license checks."))

        // WordPress's own upgrader installs the update from the package link.
        let upgrade = try site.run("upgrade", ["example-pro/example-pro.php"])
        #expect(upgrade["result"] as? Bool == true, "\(upgrade)")
        #expect(upgrade["version"] as? String == "1.1.0")
        #expect(upgrade["active"] as? Bool == true)

        // The service down (nginx answers 502 for it): stock EDD clients read EDD's shape, the
        // PHP client keeps its last good verdict.
        stack.service.stop()
        let down = try site.run("edd-raw", ["check_license", eddKey])
        #expect(down["success"] as? Bool == false && down["license"] as? String == "error" && down["error"] as? String == "unavailable", "\(down)")
        #expect(try site.run("edd-check", [eddKey])["check"] as? String == "invalid (error)")
        try site.run("pfc-expire-cache", ["example-pro"])
        #expect(try site.run("pfc-status")["status"] as? String == "active")
        #expect(try site.run("update-check")["offers"] != nil)
        let restarted = try restartService()
        defer { restarted.stop(signal: SIGTERM, seconds: 5) }

        // Refunded: the same links fail, through both web servers; the client learns it and
        // tells the administrator.
        try refund(key)
        try refund(eddKey)
        #expect(try site.run("download", [package])["sha256"] == nil)
        #expect(try site.run("download", [apachePackage])["sha256"] == nil)
        #expect(try site.run("download", [eddPackage])["sha256"] == nil)
        try site.run("pfc-expire-cache", ["example-pro"])
        #expect(try site.run("pfc-status")["status"] as? String == "refunded")
        #expect((try site.run("notices")["html"] as? String)?.contains("refunded") == true)
        #expect(try site.run("edd-check", [eddKey])["check"] as? String == "invalid (disabled)")

        // Guessing from the site's address: 429, in EDD's shape for EDD clients; the PHP client
        // keeps its last trusted verdict.
        var guessed = 0
        while guessed < 10,
            try HTTPClient.send(
                port: nginx.port, method: "POST", path: "/payments/license/verify",
                headers: [("Content-Type", "application/x-www-form-urlencoded")],
                body: Array("license_key=PFC-GUESS-\(guessed)&site_url=a.com".utf8)
            ).status != 429
        { guessed += 1 }
        let limited = try site.run("edd-raw", ["check_license", eddKey])
        #expect(limited["error"] as? String == "rate_limited" && limited["license"] as? String == "error", "\(limited)")
        #expect(try site.run("edd-activate", [eddKey])["message"] as? String == "An error occurred, please try again.")
        try site.run("pfc-expire-cache", ["example-pro"])
        #expect(try site.run("pfc-status")["status"] as? String == "refunded")

        // Apache's own answer for the EDD path when the service is unreachable: EDD's shape too.
        apacheService.stop()
        let apacheDown = try HTTPClient.send(
            port: apache.port, method: "POST", path: "/payments/edd",
            headers: [("Content-Type", "application/x-www-form-urlencoded")],
            body: Array("edd_action=check_license&license=x&url=a.com".utf8))
        #expect(apacheDown.status == 503)
        #expect(apacheDown.json["success"] as? Bool == false && apacheDown.json["license"] as? String == "error", "\(apacheDown.text)")

        // Old GET clients are told to update, and no key reached any log.
        let old = try HTTPClient.send(port: nginx.port, path: "/payments/edd?edd_action=check_license&license=\(eddKey)&item_id=123")
        #expect(old.status == 400 && old.json["error"] as? String == "update_required")
        let logs =
            [site.debugLog, stack.service.log, apacheService.log, restarted.output, nginx.errorLog, apache.errorLog]
            + Array(nginx.accessLogs.values) + Array(apache.accessLogs.values)
        for log in logs {
            #expect(!log.contains(key) && !log.contains(eddKey))
        }

        // No PHP warning or notice, for any answer.
        #expect(Self.phpProblems(site.debugLog).isEmpty, "\(Self.phpProblems(site.debugLog))")
        #expect(Self.phpProblems(site.fpmLog).isEmpty, "\(Self.phpProblems(site.fpmLog))")
    }
}

/// README.md shows plugin authors the example plugin the WordPress tests install, as it is.
@Suite("README's example plugin")
struct ExamplePluginReadmeTests {
    @Test func readmeShowsTheExamplePluginTheTestsInstall() throws {
        let readme = try String(contentsOf: TestPaths.repositoryRoot.appendingPathComponent("README.md"), encoding: .utf8)
        let example = try String(
            contentsOf: TestPaths.repositoryRoot.appendingPathComponent("clients/php/example-plugin/example-pro.php"),
            encoding: .utf8)
        let marker = try #require(readme.range(of: "<!-- example-pro.php"))
        let start = try #require(readme.range(of: "```php\n", range: marker.upperBound..<readme.endIndex))
        let end = try #require(readme.range(of: "```", range: start.upperBound..<readme.endIndex))
        #expect(String(readme[start.upperBound..<end.lowerBound]) == example)
        #expect(example.split(separator: "\n").count <= 25, "about twenty lines")
    }
}
