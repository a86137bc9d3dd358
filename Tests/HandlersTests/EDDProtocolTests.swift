import Foundation
import Handlers
import Logging
import MariaStore
import TestSupport
import Testing

/// The EDD Software Licensing protocol as EDD's own server answers it, and licensed updates:
/// `get_version`, package links, releases.
@Suite("EDD protocol and licensed updates")
struct EDDProtocolTests {
    let api: LicenseAPITests
    var context: Context { api.context }
    let releasesDirectory = TestPaths.scratchDirectory("releases")

    init() throws {
        api = try LicenseAPITests()
        try context.store.transaction { connection in
            let products = ProductRepository(connection, prefix: .standard)
            var pro = try #require(try products.named("pro-license"))
            pro = pro.withPluginDetails(
                eddItemID: 123, slug: "pro-plugin", homepage: "https://shop.example.com/pro",
                description: "<p>Does pro things.</p>", bannerURL: "https://shop.example.com/banner.png",
                iconURL: "https://shop.example.com/icon.png")
            try products.save(pro, actor: "test", now: Date())
        }
    }

    /// A context like the suite's with other settings.
    func context(_ change: (inout Configuration) -> Void) -> Context {
        var configuration = context.configuration
        configuration.releases.directory = releasesDirectory
        change(&configuration)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return Context(store: context.store, clock: api.clock, configuration: configuration, logger: logger)
    }

    func respond(
        _ method: String = "POST", _ path: String = "/edd", _ fields: [(String, String)] = [], query: String = "",
        address: String = "203.0.113.9", host: String = "shop.example.com", in context: Context? = nil
    ) -> Response {
        let body = method == "POST" ? Array(FormEncoding.encode(fields).utf8) : []
        var headers = [("Host", host)]
        if method == "POST" { headers.append(("Content-Type", "application/x-www-form-urlencoded")) }
        return InProcessClient(mountPrefix: "/payments").send(
            method, path + (query.isEmpty ? "" : "?" + query), headers: headers, body: body,
            address: address, https: true, context: context ?? self.context { _ in })
    }

    func json(_ response: Response) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]) ?? [:]
    }

    func edd(_ fields: [(String, String)], address: String = "203.0.113.9") -> [String: Any] {
        json(respond(fields: fields, address: address))
    }

    func respond(fields: [(String, String)], address: String) -> Response { respond("POST", "/edd", fields, address: address) }

    /// A zip file's bytes (a stored, empty archive is enough for the service: it checks the magic).
    func zip(_ name: String, contents: String = "package") throws -> String {
        let path = TestPaths.scratchDirectory("zips") + "/" + name
        var bytes: [UInt8] = [0x50, 0x4B, 0x03, 0x04]
        bytes += Array(contents.utf8)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    @discardableResult
    func release(_ version: String, contents: String = "package", changelog: String? = "Fixed <things>.\n\nFaster.") throws -> ReleaseRepository.Release {
        try ReleaseShelf(context: context { _ in }).add(
            product: "pro-license", version: version, file: try zip("p-\(version).zip", contents: contents),
            changelog: changelog, requires: "6.0", tested: "6.4", requiresPHP: "7.4")
    }

    // MARK: license actions

    @Test func numericItemIDIsMappedThroughTheCatalogueAndAnUnknownOneIsInvalidItemID() throws {
        let key = try api.issue()
        let activated = edd([("edd_action", "activate_license"), ("license", key), ("item_id", "123"), ("url", "https://site.com")])
        #expect(activated["success"] as? Bool == true)
        #expect(activated["license"] as? String == "valid")
        #expect(activated["item_id"] as? Int == 123)
        #expect(activated["item_name"] as? String == "Pro license")
        for action in ["activate_license", "check_license", "deactivate_license"] {
            let unknown = edd([("edd_action", action), ("license", key), ("item_id", "999"), ("url", "https://site.com")])
            #expect(unknown["success"] as? Bool == false, "\(action)")
            #expect(unknown["error"] as? String == "invalid_item_id", "\(action)")
            #expect(unknown["expires"] as? Bool == false, "\(action)")
        }
        #expect(
            edd([("edd_action", "check_license"), ("license", key), ("item_id", "999"), ("url", "https://site.com")])["license"] as? String
                == "invalid_item_id")
        // The updater sends item_name=0 (PHP's false) beside its item_id.
        #expect(
            edd([("edd_action", "check_license"), ("license", key), ("item_id", "123"), ("item_name", "0"), ("url", "https://site.com")])["license"]
                as? String == "valid")
    }

    @Test func itemNameSentEncodedTwiceIsDecodedAsEDDDoes() throws {
        let key = try api.issue()
        // rawurlencode("Pro license") form-encoded again, as EDD's sample plugin sends it.
        let body = "edd_action=activate_license&license=\(key)&item_name=Pro%2520license&url=https%3A%2F%2Fsite.com"
        let response = InProcessClient().send(
            "POST", "/edd", headers: [("Content-Type", "application/x-www-form-urlencoded")],
            body: Array(body.utf8), address: "203.0.113.9", context: context)
        #expect(json(response)["license"] as? String == "valid")
        #expect(json(response)["item_name"] as? String == "Pro license")
    }

    @Test func answersCarryEDDsFieldsAsEDDFormatsThem() throws {
        let key = try api.issue(limit: 2, expiresInDays: 30)
        let activated = edd([("edd_action", "activate_license"), ("license", key), ("item_id", "123"), ("url", "https://site.com")])
        let expires = try #require(activated["expires"] as? String)
        #expect(expires.count == 19 && expires.contains(" "), "a date, as EDD writes it: \(expires)")
        #expect(activated["license_limit"] as? Int == 2)
        #expect(activated["activations_left"] as? Int == 1)
        #expect(activated["is_local"] as? Bool == false)
        #expect(activated["customer_email"] == nil && activated["customer_name"] == nil)
        let staging = edd([("edd_action", "activate_license"), ("license", key), ("item_id", "123"), ("url", "https://staging.site.com")])
        #expect(staging["is_local"] as? Bool == true)
        #expect(staging["site_count"] as? Int == 1, "a staging site uses no seat")
        // A mismatch or an unknown key says nothing about a license: no "lifetime", no limit of 0.
        let lifetime = try api.issue(expiresInDays: nil)
        let mismatch = edd([("edd_action", "check_license"), ("license", lifetime), ("item_name", "Something Else"), ("url", "https://site.com")])
        #expect(mismatch["license"] as? String == "item_name_mismatch")
        #expect(mismatch["expires"] as? Bool == false)
        #expect(mismatch["license_limit"] == nil)
        let unknown = edd([("edd_action", "check_license"), ("license", "PFC-NOPE"), ("item_id", "123"), ("url", "https://site.com")])
        #expect(unknown["success"] as? Bool == false)
        #expect(unknown["license"] as? String == "invalid")
        #expect(unknown["license_limit"] == nil)
    }

    @Test func everyOtherAnswerOfTheEDDEndpointIsEDDShaped() throws {
        let key = try api.issue()
        func expectShaped(_ response: Response, status: Int, error: String, _ comment: Comment) {
            let body = json(response)
            #expect(response.status.code == status, comment)
            #expect(body["success"] as? Bool == false, comment)
            #expect(body["license"] as? String == "error", comment)
            #expect(body["error"] as? String == error, comment)
        }
        expectShaped(respond(fields: [("edd_action", "frobnicate")], address: "203.0.113.20"), status: 400, error: "invalid_request", "unknown action")
        expectShaped(
            respond(fields: [("edd_action", "check_license"), ("license", key), ("url", "ftp://x")], address: "203.0.113.20"),
            status: 400, error: "invalid_request", "bad url")
        // An old GET client with the key in the query: told to update, the key never repeated.
        let old = respond("GET", "/edd", query: "edd_action=check_license&license=\(key)&item_name=Pro+license")
        expectShaped(old, status: 400, error: "update_required", "GET with a key")
        #expect(!old.text.contains(key))
        expectShaped(respond("GET", "/edd", query: "edd_action=get_version&item_id=123"), status: 405, error: "update_required", "GET without a key")
        // Guessing: 429 with Retry-After.
        var last = Response()
        for n in 0..<8 {
            last = respond(fields: [("edd_action", "check_license"), ("license", "PFC-GUESS-\(n)"), ("url", "https://a.com")], address: "198.51.100.4")
        }
        expectShaped(last, status: 429, error: "rate_limited", "guessing")
        #expect(last.headers["retry-after"] != nil)
        // No pepper: 503.
        let unconfigured = context { $0.licensing.keyPepper = nil }
        expectShaped(
            respond("POST", "/edd", [("edd_action", "check_license"), ("license", key), ("url", "https://a.com")], in: unconfigured),
            status: 503, error: "unavailable", "unconfigured")
        // Other paths keep the service's own error shape.
        #expect(json(respond("GET", "/license/verify"))["error"] is [String: Any])
    }

    // MARK: get_version and packages

    @Test func getVersionGivesAPackageOnlyToALicenseActiveForTheSite() throws {
        try release("1.0.0")
        let latest = try release("1.1.0")
        let key = try api.issue()
        _ = edd([("edd_action", "activate_license"), ("license", key), ("item_id", "123"), ("url", "https://site.com")])
        func version(_ license: String, url: String = "https://site.com") -> [String: Any] {
            edd([
                ("edd_action", "get_version"), ("license", license), ("item_id", "123"), ("item_name", "0"), ("slug", "pro-plugin"),
                ("version", "1.0.0"), ("url", url),
            ])
        }
        let licensed = version(key)
        #expect(licensed["new_version"] as? String == "1.1.0")
        #expect(licensed["stable_version"] as? String == "1.1.0")
        #expect(licensed["name"] as? String == "Pro license")
        #expect(licensed["slug"] as? String == "pro-plugin")
        #expect(licensed["homepage"] as? String == "https://shop.example.com/pro")
        #expect(licensed["requires"] as? String == "6.0" && licensed["tested"] as? String == "6.4" && licensed["requires_php"] as? String == "7.4")
        #expect((licensed["last_updated"] as? String)?.count == 19)
        let package = try #require(licensed["package"] as? String)
        #expect(package.hasPrefix("https://shop.example.com/payments/package/\(latest.id)."))
        #expect(licensed["download_link"] as? String == package)
        #expect(!package.contains(key) && !package.contains(key.replacingOccurrences(of: "-", with: "")))
        let sections = try #require(licensed["sections"] as? String)
        #expect(sections.hasPrefix("a:2:{s:11:\"description\";s:23:\"<p>Does pro things.</p>\";s:9:\"changelog\";"))
        #expect(sections.contains("Fixed &lt;things&gt;."))
        #expect((licensed["banners"] as? String)?.contains("s:4:\"high\";s:35:\"https://shop.example.com/banner.png\"") == true)
        #expect((licensed["icons"] as? String)?.hasPrefix("a:2:{s:2:\"1x\";") == true)
        // Not active for this site, no key, a wrong key, a refunded license: the same
        // information without a package, as EDD answers.
        for (license, url) in [(key, "https://other.com"), ("", "https://site.com"), ("PFC-WRONG", "https://site.com")] {
            let answer = version(license, url: url)
            #expect(answer["new_version"] as? String == "1.1.0")
            #expect(answer["package"] as? String == "" && answer["download_link"] as? String == "")
        }
        try refund(key)
        #expect(version(key)["package"] as? String == "")
        // An item with no release, and an item id nobody has.
        #expect(edd([("edd_action", "get_version"), ("item_id", "999"), ("url", "https://site.com")])["new_version"] as? String == "")
    }

    func refund(_ key: String) throws {
        let id = try #require(try licenseID(key))
        try context.store.transaction { try LicenseRepository($0, prefix: .standard).update(id, status: .refunded, expiresAt: nil, now: api.clock.now) }
    }

    func licenseID(_ key: String) throws -> Int64? {
        let parsed = try #require(LicenseKey(parsing: key))
        return try context.store.withConnection { try LicenseRepository($0, prefix: .standard).record(selector: parsed.selector, lock: false)?.id }
    }

    func packageURL(_ key: String, site: String = "https://site.com") -> String? {
        edd([("edd_action", "get_version"), ("license", key), ("item_id", "123"), ("url", site)])["package"] as? String
    }

    func download(_ url: String, in context: Context? = nil) -> Response {
        let path = String(url.dropFirst("https://shop.example.com/payments".count))
        return respond("GET", path, in: context)
    }

    @Test func packageDownloadsWhileTheLicenseIsValidAndIsCountedPerReleaseAndLicense() throws {
        let stored = try release("2.0.0", contents: String(repeating: "z", count: 200_000))
        let key = try api.issue()
        _ = edd([("edd_action", "activate_license"), ("license", key), ("item_id", "123"), ("url", "https://site.com")])
        let url = try #require(packageURL(key))
        let streamed = download(url)
        #expect(streamed.status.code == 200)
        #expect(streamed.headers["content-type"] == "application/zip")
        let file = try #require(streamed.file)
        #expect(file.size == stored.size)
        var received: [UInt8] = []
        var chunks = 0
        #expect(
            file.stream {
                received += $0
                chunks += 1
                return true
            })
        #expect(received.count == Int(stored.size))
        #expect(chunks > 1, "written a bounded buffer at a time")
        #expect(Hex.encode(Digest.sha256(received)) == stored.sha256)

        let nginx = download(url, in: context { $0.releases.delivery = .xAccelRedirect })
        #expect(nginx.headers["x-accel-redirect"] == "/payments-releases/" + stored.file)
        #expect(nginx.body.isEmpty && nginx.file == nil)
        let apache = download(url, in: context { $0.releases.delivery = .xSendfile })
        #expect(apache.headers["x-sendfile"] == releasesDirectory + "/" + stored.file)
        // A HEAD tells the size and is not counted.
        let head = respond("HEAD", String(url.dropFirst("https://shop.example.com/payments".count)))
        #expect(head.status.code == 200 && head.headers["content-length"] == String(stored.size) && head.file == nil)

        let id = try #require(try licenseID(key))
        #expect(try context.store.withConnection { try ReleaseRepository($0, prefix: .standard).downloadCount(releaseID: stored.id, licenseID: id) } == 3)
        #expect(try context.store.withConnection { try ReleaseRepository($0, prefix: .standard).latest(product: "pro-license") }?.downloadCount == 3)
    }

    @Test func packageLinkFailsOnceRefundedExpiredTamperedDeactivatedOrYanked() throws {
        try release("3.0.0")
        let key = try api.issue()
        _ = edd([("edd_action", "activate_license"), ("license", key), ("item_id", "123"), ("url", "https://site.com")])
        let url = try #require(packageURL(key))
        #expect(download(url).status.code == 200)

        // Tampered: another release, another license, a later expiry.
        var parts = url.split(separator: "/").last!.split(separator: ".").map(String.init)
        parts[2] = String(Int64(parts[2])! + 3600)
        let tampered = url.components(separatedBy: "/package/")[0] + "/package/" + parts.joined(separator: ".")
        #expect(json(download(tampered))["error"].flatMap { ($0 as? [String: Any])?["code"] as? String } == "link_invalid")

        // Expired: the same address a day later.
        api.clock.advance(seconds: 24 * 3600 + 1)
        let expired = download(url)
        #expect(expired.status.code == 403)
        #expect(expired.text.contains("link_expired"))
        api.clock.advance(seconds: -(24 * 3600 + 1))

        // The site deactivated, then the license refunded.
        _ = edd([("edd_action", "deactivate_license"), ("license", key), ("item_id", "123"), ("url", "https://site.com")])
        #expect(download(url).text.contains("license_not_valid"))
        _ = edd([("edd_action", "activate_license"), ("license", key), ("item_id", "123"), ("url", "https://site.com")])
        #expect(download(url).status.code == 200)
        try refund(key)
        #expect(download(url).status.code == 403)
        #expect(download(url).text.contains("license_not_valid"))

        // Yanked: no longer offered nor downloadable.
        let other = try api.issue()
        _ = edd([("edd_action", "activate_license"), ("license", other), ("item_id", "123"), ("url", "https://site.com")])
        let fresh = try #require(packageURL(other))
        #expect(try ReleaseShelf(context: context { _ in }).yank(product: "pro-license", version: "3.0.0"))
        #expect(download(fresh).status.code == 410)
        #expect(edd([("edd_action", "get_version"), ("license", other), ("item_id", "123"), ("url", "https://site.com")])["new_version"] as? String == "")
    }

    @Test func releasesKeepTheirChecksumAndAreNeverReplaced() throws {
        let shelf = ReleaseShelf(context: context { _ in })
        let added = try release("1.2.3")
        #expect(added.sha256.count == 64 && added.size == 11)
        #expect(FileManager.default.fileExists(atPath: releasesDirectory + "/" + added.file))
        #expect(throws: ReleaseShelf.Refusal.self) { try release("1.2.3") }
        let text = TestPaths.scratchDirectory("zips") + "/not.zip"
        try "hello".write(toFile: text, atomically: true, encoding: .utf8)
        #expect(throws: ReleaseShelf.Refusal.self) {
            try shelf.add(product: "pro-license", version: "9.9", file: text, changelog: nil, requires: nil, tested: nil, requiresPHP: nil)
        }
        #expect(throws: ReleaseShelf.Refusal.self) {
            try shelf.add(product: "pro-license", version: "../x", file: try zip("x.zip"), changelog: nil, requires: nil, tested: nil, requiresPHP: nil)
        }
        #expect(throws: ReleaseShelf.Refusal.self) {
            try shelf.add(product: "nope", version: "1.0", file: try zip("y.zip"), changelog: nil, requires: nil, tested: nil, requiresPHP: nil)
        }
    }

    @Test func packageLinksNameNoKeyAndOnlyTheirOwnMACVerifies() {
        let link = PackageLink(releaseID: 7, licenseID: 9, expires: 1_900_000_000, siteTag: PackageLink.siteTag(of: "site.com"))
        let token = link.token(pepper: "pepper-one-0123456789abcdef0123456789")
        #expect(PackageLink(token: token, pepper: "pepper-one-0123456789abcdef0123456789") == link)
        #expect(PackageLink(token: token, pepper: "pepper-two-0123456789abcdef0123456789") == nil)
        #expect(PackageLink(token: "0" + token, pepper: "pepper-one-0123456789abcdef0123456789") == nil)
    }
}
