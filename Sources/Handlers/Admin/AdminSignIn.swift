import Foundation
import MariaStore

/// Signing in and out of the admin page.
///
/// The sign-in form carries its own CSRF token, double-submitted: the page sets a random
/// `pfc_admin_signin` cookie (SameSite=Strict) and puts the same value in the form, and a POST
/// whose two do not match is refused, so no other site can sign a browser into an account.
/// Attempts count per client address, per network (/24, /64: one IPv6 subscriber has a whole
/// /64; three times the address limit) and per account (15-minute windows, `admin.*` limits),
/// counted atomically before the password is checked and taken back when it was right, so N
/// simultaneous guesses get no more checks than the limit. Past a limit every attempt is
/// refused — right or wrong — until the window ends, except that a browser which signed in to
/// the account before (`AdminDevice`) counts its own failures only: strangers cannot lock the
/// seller out. An unknown email costs the same scrypt work as a known one; at most two checks
/// run at once, plus one kept for remembered browsers (`PasswordCheckGate`).
enum AdminSignIn {
    static let formCookie = "pfc_admin_signin"
    static let window: Int64 = 900

    /// `GET /admin/sign-in`
    static func form(_ request: Request, _ context: Context) throws -> Response {
        if try AdminSession.current(request, context) != nil { return AdminPage.redirect("/", context: context) }
        return page(message: nil, status: .ok, request: request, context: context)
    }

    static func page(message: String?, status: HTTPStatus, request: Request, context: Context) -> Response {
        let token = Hex.encode(context.random.bytes(32))
        var response = AdminPage.render(
            "Sign in",
            """
            \(message.map { AdminPage.notice($0, error: true) } ?? "")
            <form method="post" action="\(AdminPage.base(context))/sign-in">
            <input type="hidden" name="csrf" value="\(token)">
            <p><label>Email<br><input type="email" name="email" autocomplete="username" required size="32"></label></p>
            <p><label>Password<br><input type="password" name="password" autocomplete="current-password" required size="32"></label></p>
            <p><label>Authenticator code (if you set one up)<br><input name="code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{6}" size="8"></label></p>
            <p><button>Sign in</button></p></form>
            """, session: nil, status: status, context: context)
        response.headers.add("Set-Cookie", AdminCookies.setCookie(formCookie, token, maxAge: 3600, request: request, context: context))
        return response
    }

    /// `POST /admin/sign-in` (form: `csrf`, `email`, `password`, `code`)
    static func signIn(_ request: Request, _ context: Context) throws -> Response {
        let fields = try RequestFields(request).values
        guard let cookie = AdminCookies.value(named: formCookie, in: request), AdminCookies.isToken(cookie), let sent = fields["csrf"],
            Digest.constantTimeEqual(Array(sent.utf8), Array(cookie.utf8))
        else {
            return page(message: "The sign-in form expired. Please try again.", status: HTTPStatus(403, "Forbidden"), request: request, context: context)
        }
        let email = CustomerRepository.normalized(fields["email"]) ?? ""
        let password = fields["password"] ?? ""
        let code = (fields["code"] ?? "").trimmingWhitespace()
        let store = context.store
        let now = context.clock.now
        let limits = context.configuration.admin
        let network = ClientNetwork.of(request.clientAddress)
        // The account's bucket is named by a digest: no email sits in the rate-limit table.
        let accountBucket = "admin-signin-account:\(Hex.encode(Digest.sha256(Array(email.utf8)).prefix(16)))"
        let account = try store.withConnection { try AdminRepository($0, prefix: store.prefix).account(email: email) }
        let device = account.flatMap { AdminDevice.known(request, account: $0, pepper: context.configuration.licensing.keyPepper, now: now) }
        // A remembered browser counts its own failures only: nobody else can use them up.
        let buckets =
            device.map { [("admin-signin-device:" + $0, limits.failuresPerAccount)] } ?? [
                ("admin-signin-address:" + ClientNetwork.address(request.clientAddress), limits.failuresPerAddress),
                ("admin-signin-network:" + network, limits.failuresPerAddress * 3),
                (accountBucket, limits.failuresPerAccount),
            ]
        let over = try store.transaction { connection -> Bool in
            let limiter = RateLimiter(connection, prefix: store.prefix)
            var over = false
            for (bucket, limit) in buckets where try limiter.hitAndCount(bucket, window: window, now: now) > Int64(limit) { over = true }
            return over
        }
        func takeBack(_ taken: [(String, Int)]) throws {
            try store.transaction { connection in
                let limiter = RateLimiter(connection, prefix: store.prefix)
                for (bucket, _) in taken { try limiter.unhit(bucket, window: window, now: now) }
            }
        }
        if over {
            var refused = page(
                message: "Too many failed sign-ins. Wait a quarter of an hour and try again.", status: .tooManyRequests, request: request, context: context)
            refused.headers.add("Retry-After", String(RateLimiter.secondsLeft(now, window)))
            return refused
        }
        guard
            let passwordMatches = try (device == nil ? PasswordCheckGate.shared : PasswordCheckGate.rememberedBrowsers).run({
                try PasswordHash.verify(password, against: account?.passwordHash ?? PasswordHash.decoy) && account != nil
            })
        else {
            // Not checked, so not the account's failure; the address and network keep theirs
            // (a flood pays for its attempts).
            try takeBack(buckets.filter { $0.0 == accountBucket || $0.0.hasPrefix("admin-signin-device:") })
            var busy = page(message: "Too many sign-ins at once. Try again in a moment.", status: .serviceUnavailable, request: request, context: context)
            busy.headers.add("Retry-After", "2")
            return busy
        }
        var signedIn: Int64?
        if let account, passwordMatches {
            if let secret = account.totpSecret {
                signedIn = try store.transaction { connection -> Int64? in
                    let admins = AdminRepository(connection, prefix: store.prefix)
                    // Locked, so one code signs in once even when sent twice at once.
                    guard let locked = try admins.account(email: email, lock: true),
                        let step = try TOTP.matchingStep(code, secret: secret, time: now), step > locked.totpLastStep
                    else { return nil }
                    try admins.useTOTPStep(step, adminID: account.id)
                    return account.id
                }
            } else {
                signedIn = account.id
            }
        }
        guard let adminID = signedIn, let account else {
            context.logger.notice("admin sign-in refused", metadata: ["network": "\(network)"])
            return page(message: "The email, password or code is not right.", status: .unauthorized, request: request, context: context)
        }
        try takeBack(buckets)
        let deviceCookie = AdminCookies.setCookie(
            AdminDevice.cookie,
            try AdminDevice.value(adminID: adminID, passwordHash: account.passwordHash, pepper: context.configuration.licensing.keyPepper, issuedAt: now),
            maxAge: AdminDevice.lifetimeSeconds, request: request, context: context)
        let sessionCookie = try AdminSession.start(adminID: adminID, request: request, context: context)
        try store.transaction { connection in
            try AuditLog(connection, prefix: store.prefix).record(
                subject: "admin", id: String(adminID), action: "signed_in", before: nil, after: nil,
                actor: "admin:\(email)", detail: "from \(request.clientAddress)", now: now)
        }
        return AdminPage.redirect(
            "/", context: context,
            cookies: [sessionCookie, deviceCookie, AdminCookies.setCookie(formCookie, "", maxAge: 0, request: request, context: context)])
    }

    /// `POST /admin/sign-out` (form: `csrf`)
    static func signOut(_ request: Request, _ context: Context) throws -> Response {
        let session = try AdminSession.require(request, context)
        try session.checkCSRF(try RequestFields(request).values)
        let cookie = try session.end(request: request, context: context)
        return AdminPage.redirect("/sign-in", context: context, cookies: [cookie])
    }
}
