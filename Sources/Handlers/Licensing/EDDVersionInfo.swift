import Foundation
import MariaStore

/// `edd_action=get_version`: what WordPress needs to offer an update and to show "View
/// details", in EDD's shape (`sections`, `banners` and `icons` PHP-serialised, as EDD's server
/// sends them and its updater unserialises them).
///
/// A license that is active for the asking site gets `package` and `download_link`: a signed,
/// expiring address for this license and site (`PackageLink`) that never holds the key. Any
/// other caller — no key, a wrong key, a key not active for the site, expired, refunded — gets
/// the same version information with both empty, as EDD answers.
enum EDDVersionInfo {
    static func answer(_ fields: RequestFields, _ request: Request, _ context: Context) throws -> Response {
        guard let item = try EDDItem(fields) else { throw APIError.invalidRequest("item_id or item_name is required") }
        guard let product = try item.product(context) else {
            return LicenseEndpoints.signed(
                JSONValue.object([
                    "success": false, "license": "invalid_item_id", "error": "invalid_item_id",
                    "new_version": "", "stable_version": "", "msg": "No item provided or item invalid",
                ]).serialized(), context: context)
        }
        let store = context.store
        guard let release = try store.withConnection({ try ReleaseRepository($0, prefix: store.prefix).latest(product: product.product) }) else {
            return LicenseEndpoints.signed(
                JSONValue.object([
                    "success": false, "new_version": "", "stable_version": "", "msg": "This item has no release yet",
                ]).serialized(), context: context)
        }
        let nonce = fields.values["nonce"]
        if let nonce, nonce.count > 128 { throw APIError.invalidRequest("nonce is longer than 128 characters") }

        // The package only for a license that is active for this very site, asked as verify
        // asks (the same guessing limits; last-seen recorded).
        var package = ""
        var keyID: JSONValue = .null
        let key = fields.values["license"]?.trimmingWhitespace() ?? ""
        let url = fields.values["url"]?.trimmingWhitespace() ?? ""
        if !key.isEmpty, !url.isEmpty {
            guard key.count <= 100, url.count <= 2048 else { throw APIError.invalidRequest("license or url is too long") }
            let verdict = try LicenseService(context: context).handle(
                .verify, key: key, site: url, product: product.product,
                clientAddress: request.clientAddress)
            keyID = .string(LicenseKey.identifier(of: key, prefix: context.configuration.licensing.keyPrefix))
            if verdict.status == .active, let licenseID = verdict.licenseID, let site = verdict.site,
                let pepper = context.configuration.licensing.keyPepper
            {
                let expires = Int64(context.clock.now.timeIntervalSince1970) + Int64(context.configuration.releases.linkHours) * 3600
                let link = PackageLink(releaseID: release.id, licenseID: licenseID, expires: expires, siteTag: PackageLink.siteTag(of: site))
                package = "\(publicBase(request, context))/package/\(link.token(pepper: pepper))"
            }
        }

        let slug = product.slug ?? fields.values["slug"].flatMap { $0.isEmpty ? nil : $0 } ?? product.product
        let homepage = product.homepage ?? ""
        var banners: [(String, String)] = []
        if let banner = product.bannerURL { banners = [("high", banner), ("low", banner)] }
        var icons: [(String, String)] = []
        if let icon = product.iconURL { icons = [("1x", icon), ("2x", icon)] }
        return LicenseEndpoints.signed(
            JSONValue.object([
                "new_version": .string(release.version),
                "stable_version": .string(release.version),
                "name": .string(product.name),
                "slug": .string(slug),
                "url": .string(homepage),
                "homepage": .string(homepage),
                "last_updated": .string(EDDEndpoint.eddDate(release.releasedAt)),
                "package": .string(package),
                "download_link": .string(package),
                "sections": .string(
                    PHPSerialization.array([
                        ("description", product.description ?? ""),
                        ("changelog", changelogHTML(release.changelog)),
                    ])),
                "banners": .string(PHPSerialization.array(banners)),
                "icons": .string(PHPSerialization.array(icons)),
                "requires": .string(release.requires ?? ""),
                "tested": .string(release.tested ?? ""),
                "requires_php": .string(release.requiresPHP ?? ""),
                "msg": "",
                "item_id": product.eddItemID.map(JSONValue.int) ?? .bool(false),
                "product": .string(product.product),
                "key_id": keyID,
                "site_url": url.isEmpty ? .null : .string(url),
                "issued_at": .string(ISOTime.string(context.clock.now)),
                "nonce": nonce.map(JSONValue.string) ?? .null,
            ]).serialized(), context: context)
    }

    /// Where the service is reached from outside: `checkout.public_url` when set, else the
    /// scheme and host this request came to, with the mount prefix.
    static func publicBase(_ request: Request, _ context: Context) -> String {
        if let configured = context.configuration.checkout.publicURL { return configured }
        let host = request.headers["host"].flatMap { $0.isEmpty ? nil : $0 } ?? "localhost"
        return "\(request.scheme)://\(host)\(context.configuration.server.mountPrefix)"
    }

    /// A changelog file's plain text as HTML: escaped, a paragraph per block, lines kept.
    static func changelogHTML(_ text: String?) -> String {
        guard let text, !text.isEmpty else { return "" }
        let escaped = text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\r\n", with: "\n")
        return escaped.components(separatedBy: "\n\n").map { $0.trimmingCharacters(in: .newlines) }.filter { !$0.isEmpty }
            .map { "<p>" + $0.replacingOccurrences(of: "\n", with: "<br />\n") + "</p>" }.joined(separator: "\n")
    }
}

/// PHP's `serialize()` of an array of strings, as EDD's server sends `sections`, `banners` and
/// `icons` (lengths are in bytes).
enum PHPSerialization {
    static func array(_ pairs: [(String, String)]) -> String {
        func string(_ text: String) -> String { "s:\(text.utf8.count):\"\(text)\";" }
        return "a:\(pairs.count):{" + pairs.map { string($0.0) + string($0.1) }.joined() + "}"
    }
}
