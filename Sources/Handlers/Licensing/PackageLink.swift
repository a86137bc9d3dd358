/// The address of one release's package for one license on one site, good until it expires:
/// `…/package/RELEASE.LICENSE.EXPIRES.SITE.MAC`.
///
/// It names the license by its row, never by its key, so the address may pass through logs and
/// caches without giving the key away; the MAC (HMAC-SHA-256 under a key derived from
/// `licensing.key_pepper`) makes it unforgeable, and the site is a hash of the canonical site
/// the license was active for. Whoever holds the address may download until it expires, as
/// long as the license stays valid and the site keeps its activation: the service checks
/// both again at each download.
public struct PackageLink: Sendable, Equatable {
    public let releaseID: Int64
    public let licenseID: Int64
    /// Seconds since 1970 after which the address no longer works.
    public let expires: Int64
    /// `PackageLink.siteTag(of:)` of the canonical site.
    public let siteTag: String

    public init(releaseID: Int64, licenseID: Int64, expires: Int64, siteTag: String) {
        self.releaseID = releaseID
        self.licenseID = licenseID
        self.expires = expires
        self.siteTag = siteTag
    }

    /// The first 16 hex digits of SHA-256 of a canonical site.
    public static func siteTag(of canonicalSite: String) -> String {
        String(Hex.encode(Digest.sha256(Array(canonicalSite.utf8))).prefix(16))
    }

    /// The path segment that carries the link.
    public func token(pepper: String) -> String {
        "\(body).\(Hex.encode(Self.mac(body, pepper: pepper)))"
    }

    /// The link a token names, when its MAC is right (expiry is the caller's to check).
    public init?(token: String, pepper: String) {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 5, let release = Int64(parts[0]), let license = Int64(parts[1]), let expires = Int64(parts[2]),
            parts[3].utf8.count == 16, parts[3].utf8.allSatisfy({ Hex.value($0) != nil }),
            let mac = Hex.decode(String(parts[4])), mac.count == 32
        else { return nil }
        self.init(releaseID: release, licenseID: license, expires: expires, siteTag: String(parts[3]))
        // Recomputed over the parsed values: leading zeros or signs in the token fail here.
        guard body == parts[0..<4].joined(separator: "."), Digest.constantTimeEqual(Self.mac(body, pepper: pepper), mac) else { return nil }
    }

    private var body: String { "\(releaseID).\(licenseID).\(expires).\(siteTag)" }

    /// HMAC over the link under a key of its own, derived from the pepper (so that a MAC made
    /// here is never valid anywhere else the pepper is used).
    private static func mac(_ body: String, pepper: String) -> [UInt8] {
        // Both inputs are bounded byte strings: HMAC-SHA-256 cannot fail on them.
        let key = (try? Digest.hmacSHA256(key: Array(pepper.utf8), message: Array("payments-fcgi package links v1".utf8))) ?? []
        return (try? Digest.hmacSHA256(key: key, message: Array(body.utf8))) ?? []
    }
}
