/// Proof that a browser is the one that started a checkout: the checkout form sets a cookie
/// holding a random token (HttpOnly, so page scripts cannot read it; SameSite=Lax, so it comes
/// back on Stripe's redirect to the success page but not on other sites' requests), and our
/// record of the session keeps the token's SHA-256. A session id alone — in access logs,
/// browser history, or known to whoever created the session — shows no key.
enum BrowserProof {
    static let cookieName = "pfc_checkout"

    /// The well-formed token in the request's cookies (64 hexadecimal characters), if any.
    static func token(in request: Request) -> String? {
        guard let header = request.headers["cookie"] else { return nil }
        for pair in header.split(separator: ";") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, parts[0].trimmingWhitespace() == cookieName else { continue }
            let value = parts[1].trimmingWhitespace()
            if value.utf8.count == 64, value.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }) { return String(value) }
        }
        return nil
    }

    /// A new token: 32 random bytes as hexadecimal.
    static func newToken(_ random: SecureRandom) -> String {
        Hex.encode(random.bytes(32))
    }

    /// What our record keeps of a token.
    static func hash(_ token: String) -> [UInt8] {
        Digest.sha256(Array(token.utf8))
    }

    /// The `Set-Cookie` value for `token`: scoped to the checkout paths, a day long, and
    /// `Secure` when the shop is served over HTTPS.
    static func setCookie(_ token: String, context: Context) -> String {
        let secure = context.configuration.checkout.publicURL?.lowercased().hasPrefix("https://") == true ? "; Secure" : ""
        return "\(cookieName)=\(token); Path=\(context.configuration.server.mountPrefix)/checkout/; Max-Age=86400; HttpOnly; SameSite=Lax\(secure)"
    }

    /// Whether `request` carries the token recorded for a checkout.
    static func proves(_ request: Request, recorded: [UInt8]?) -> Bool {
        guard let recorded, let token = token(in: request) else { return false }
        return Digest.constantTimeEqual(hash(token), recorded)
    }
}
