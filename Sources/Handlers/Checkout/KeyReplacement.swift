import Foundation
import MariaStore

/// A buyer who lost their key gets a new one — proved by their email, never by a session id.
///
/// `POST /checkout/resend-key` (the success page's button: `session_id`, `license`) emails the
/// buyer a link with a one-time token (24 hours); `GET /checkout/new-key?token=…` shows a
/// confirmation (mail scanners that open links change nothing); `POST /checkout/new-key`
/// rotates the key — the old one stops working — and the new key is emailed. Whoever knows
/// only the session id can at most cause an email to the buyer (three a day per license).
public enum KeyReplacement {
    static let tokenLifetime: TimeInterval = 86_400

    /// `POST /checkout/resend-key`
    public static func request(_ request: Request, _ context: Context) throws -> Response {
        do {
            return try emailLink(request, context)
        } catch {
            return HTMLPage.failure(error, title: "We could not send the link", context: context)
        }
    }

    private static func emailLink(_ request: Request, _ context: Context) throws -> Response {
        let fields = try RequestFields(request)
        let sessionID = try fields.string("session_id", maxLength: 255)
        let licenseID = try fields.integer("license", in: 1...Int64.max)
        guard let publicURL = context.configuration.checkout.publicURL else {
            return HTMLPage.error(
                status: .serviceUnavailable, title: "We could not send the link",
                message: "This shop cannot send new keys by itself yet; please contact it.", context: context)
        }
        let (_, box) = try LicenseKeyIssuer(context: context).secrets()
        let store = context.store
        let now = context.clock.now
        let token = Hex.encode(context.random.bytes(32))
        let outcome = try store.transaction { connection -> Response? in
            guard let order = try OrderRepository(connection, prefix: store.prefix).find(sessionID: sessionID), order.status == .paid,
                let license = try LicenseRepository(connection, prefix: store.prefix).licenses(orderID: order.id).first(where: { $0.id == licenseID }),
                license.status == .active,
                let (_, email) = try LicenseRepository(connection, prefix: store.prefix).lockForKeyChange(licenseID), let email
            else {
                return HTMLPage.error(status: .notFound, title: "We could not find this license", message: "", context: context)
            }
            let limiter = RateLimiter(connection, prefix: store.prefix)
            if try limiter.hits("resend:\(licenseID)", window: 86_400, now: now) >= 3 {
                return HTMLPage.error(
                    status: .tooManyRequests, title: "Please wait",
                    message: "A link was sent several times today; check your inbox.", context: context)
            }
            try limiter.hit("resend:\(licenseID)", window: 86_400, now: now)
            try KeyRotationRepository(connection, prefix: store.prefix).insert(
                tokenHash: Digest.sha256(Array(token.utf8)), licenseID: licenseID,
                expiresAt: now.addingTimeInterval(tokenLifetime), now: now)
            let name = try ProductRepository(connection, prefix: store.prefix).named(license.product)?.name ?? license.product
            // The link is a secret: sealed like a key, and erased once the email is sent.
            let link = "\(publicURL)/checkout/new-key?token=\(token)"
            try Outbox(connection, prefix: store.prefix).enqueue(
                kind: "key_rotation_email", dedupeKey: "key-rotation:\(licenseID):\(Hex.encode(Digest.sha256(Array(token.utf8)).prefix(8)))",
                recipient: email,
                payload: String(
                    decoding: JSONValue.object(["license_id": .int(licenseID), "product_name": .string(name)]).serialized(),
                    as: UTF8.self),
                sealed: box.seal(Array(link.utf8), context: Array("key-rotation:\(licenseID)".utf8), random: context.random), now: now)
            try AuditLog(connection, prefix: store.prefix).record(
                subject: "license", id: String(licenseID), action: "new_key_link_sent", before: nil,
                after: nil, actor: "buyer:success-page", now: now)
            return nil
        }
        if let outcome { return outcome }
        return HTMLPage.render(
            title: "Check your inbox",
            content: """
                <p>We emailed a link to the address used at checkout. Open it to get a new key; your current key keeps working until then.</p>
                """, context: context)
    }

    /// `GET /checkout/new-key?token=…`: a confirmation page; nothing changes.
    public static func confirm(_ request: Request, _ context: Context) throws -> Response {
        let token = request.queryItems.first { $0.name == "token" }?.value ?? ""
        let store = context.store
        guard isToken(token),
            try store.withConnection({
                try KeyRotationRepository($0, prefix: store.prefix).pendingLicense(tokenHash: Digest.sha256(Array(token.utf8)), now: context.clock.now)
            }) != nil
        else { return expired(context) }
        return HTMLPage.render(
            title: "Get a new license key",
            content: """
                <p>Your new key will be emailed to you. The current key stops working, so enter the new one on your sites.</p>
                <form method="post" action="new-key"><input type="hidden" name="token" value="\(HTMLPage.escape(token))">
                <button>Issue my new key</button></form>
                """, context: context)
    }

    /// `POST /checkout/new-key` (form: `token`): uses the token once and rotates the key.
    public static func rotate(_ request: Request, _ context: Context) throws -> Response {
        do {
            let token = try RequestFields(request).string("token", maxLength: 64)
            guard isToken(token) else { return expired(context) }
            let store = context.store
            let issuer = LicenseKeyIssuer(context: context)
            let rotated = try store.transaction { connection -> Bool in
                guard
                    let licenseID = try KeyRotationRepository(connection, prefix: store.prefix).use(
                        tokenHash: Digest.sha256(Array(token.utf8)),
                        now: context.clock.now)
                else { return false }
                try issuer.rotate(licenseID: licenseID, actor: "buyer:emailed-link", connection: connection)
                return true
            }
            guard rotated else { return expired(context) }
            return HTMLPage.render(title: "A new key is on its way", content: "<p>Check your inbox. Your previous key no longer works.</p>", context: context)
        } catch {
            return HTMLPage.failure(error, title: "We could not issue a new key", context: context)
        }
    }

    private static func isToken(_ token: String) -> Bool {
        token.utf8.count == 64 && token.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }

    private static func expired(_ context: Context) -> Response {
        HTMLPage.error(
            status: .notFound, title: "This link no longer works",
            message: "It was used already or has expired. Ask for a new one from your purchase's page.", context: context)
    }
}
