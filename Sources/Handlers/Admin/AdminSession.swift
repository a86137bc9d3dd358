import Foundation
import MariaStore

/// A signed-in admin, known from the session cookie.
///
/// The cookie (`pfc_admin`) holds 32 random bytes; the database keeps only their SHA-256 with
/// the session's expiry, so a copy of the table signs nobody in. It is HttpOnly (no page
/// script can read it), SameSite=Strict (no other site's page or link sends it), scoped to the
/// admin path, and Secure when the service is public over HTTPS. Every POST also carries a
/// CSRF token derived from the session token (HMAC-SHA256), compared in constant time.
public struct AdminSession: Sendable {
    public let adminID: Int64
    public let email: String
    let token: String

    /// Who the audit log names for what this admin does.
    public var actor: String { "admin:\(email)" }

    /// The CSRF token every form of this session carries.
    public var csrfToken: String { Self.csrfToken(for: token) }

    static let cookieName = "pfc_admin"

    static func csrfToken(for token: String) -> String {
        // A digest failure would make every token alike: stop rather than answer.
        let mac = try? Digest.hmacSHA256(key: Array(token.utf8), message: Array("pfc-admin-csrf".utf8))
        precondition(mac != nil, "HMAC-SHA256 failed")
        return Hex.encode(mac!)
    }

    /// The session of the request's cookie, if it is live.
    static func current(_ request: Request, _ context: Context) throws -> AdminSession? {
        guard let token = AdminCookies.value(named: cookieName, in: request), AdminCookies.isToken(token) else { return nil }
        let store = context.store
        guard
            let found = try store.withConnection({
                try AdminRepository($0, prefix: store.prefix).session(tokenHash: Digest.sha256(Array(token.utf8)), now: context.clock.now)
            })
        else { return nil }
        return AdminSession(adminID: found.adminID, email: found.email, token: token)
    }

    /// The request's session, or the refusal: a page asks to sign in, anything else is 403.
    static func require(_ request: Request, _ context: Context) throws -> AdminSession {
        guard let session = try current(request, context) else { throw AdminRefusal.signInRequired }
        return session
    }

    /// Refuses a POST whose `csrf` field is not this session's token.
    func checkCSRF(_ fields: [String: String]) throws {
        guard let sent = fields["csrf"], Digest.constantTimeEqual(Array(sent.utf8), Array(csrfToken.utf8)) else {
            throw AdminRefusal.forbidden("This form has expired or did not come from this admin page. Go back, reload and try again.")
        }
    }

    /// Starts a session for `adminID`: the cookie to set.
    static func start(adminID: Int64, request: Request, context: Context) throws -> String {
        let token = Hex.encode(context.random.bytes(32))
        let store = context.store
        let now = context.clock.now
        try store.transaction {
            try AdminRepository($0, prefix: store.prefix).startSession(
                tokenHash: Digest.sha256(Array(token.utf8)), adminID: adminID,
                expiresAt: now.addingTimeInterval(Double(context.configuration.admin.sessionHours) * 3600), now: now)
        }
        return AdminCookies.setCookie(cookieName, token, maxAge: context.configuration.admin.sessionHours * 3600, request: request, context: context)
    }

    /// Ends this session: the cookie that clears it.
    func end(request: Request, context: Context) throws -> String {
        let store = context.store
        try store.transaction { try AdminRepository($0, prefix: store.prefix).endSession(tokenHash: Digest.sha256(Array(token.utf8))) }
        return AdminCookies.setCookie(Self.cookieName, "", maxAge: 0, request: request, context: context)
    }
}

/// Why an admin request was not served.
enum AdminRefusal: Error {
    /// No live session: pages send the browser to the sign-in page.
    case signInRequired
    /// 403 with a sentence.
    case forbidden(String)
    /// 400: the form was not filled in as it must be.
    case invalid(String)
    /// 404: no such customer, action or page.
    case notFound
}

/// The admin page's cookies.
enum AdminCookies {
    /// The value of cookie `name` in the request.
    static func value(named name: String, in request: Request) -> String? {
        guard let header = request.headers["cookie"] else { return nil }
        for pair in header.split(separator: ";") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            if parts.count == 2, parts[0].trimmingWhitespace() == name { return String(parts[1].trimmingWhitespace()) }
        }
        return nil
    }

    /// 64 lowercase hexadecimal characters.
    static func isToken(_ text: String) -> Bool {
        text.utf8.count == 64 && text.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }

    /// `Secure` when the browser came over HTTPS: the cookie then never travels in clear.
    static func setCookie(_ name: String, _ value: String, maxAge: Int, request: Request, context: Context) -> String {
        let secure = request.isHTTPS ? "; Secure" : ""
        return "\(name)=\(value); Path=\(context.configuration.server.mountPrefix)/admin; Max-Age=\(maxAge); HttpOnly; SameSite=Strict\(secure)"
    }
}
