import Foundation

/// Admin accounts and their server-side sessions (the admin page's sign-in).
public struct AdminRepository {
    let connection: Connection
    let users: String
    let sessions: String

    public init(_ connection: Connection, prefix: TablePrefix) {
        self.connection = connection
        users = prefix.table("admin_users")
        sessions = prefix.table("admin_sessions")
    }

    /// An admin account as sign-in needs it.
    public struct Account: Sendable, Equatable {
        public let id: Int64
        public let email: String
        public let passwordHash: String
        public let totpSecret: [UInt8]?
        public let totpLastStep: Int64
    }

    /// Creates the account or, when the email exists, replaces its password (and TOTP secret,
    /// when one is given or `clearTOTP`). Returns the account id and whether it was new.
    public func save(email: String, passwordHash: String, totpSecret: [UInt8]?, clearTOTP: Bool, now: Date) throws -> (id: Int64, created: Bool) {
        if let existing = try connection.queryOne("SELECT id FROM \(users) WHERE email = ? FOR UPDATE", [email])?.int("id") {
            if let totpSecret {
                try connection.execute(
                    "UPDATE \(users) SET password_hash = ?, totp_secret = ?, totp_last_step = 0, updated_at = ? WHERE id = ?",
                    [passwordHash, totpSecret, now, existing])
            } else if clearTOTP {
                try connection.execute("UPDATE \(users) SET password_hash = ?, totp_secret = NULL, updated_at = ? WHERE id = ?", [passwordHash, now, existing])
            } else {
                try connection.execute("UPDATE \(users) SET password_hash = ?, updated_at = ? WHERE id = ?", [passwordHash, now, existing])
            }
            // A new password ends every session of the old one.
            try connection.execute("DELETE FROM \(sessions) WHERE admin_id = ?", [existing])
            return (existing, false)
        }
        let inserted = try connection.insertNew(
            """
            INSERT INTO \(users) (email, password_hash, totp_secret, created_at, updated_at) VALUES (?, ?, ?, ?, ?)
            """, [email, passwordHash, totpSecret, now, now])
        return (Int64(inserted.lastInsertID), true)
    }

    /// The account with this email (locked when `lock`, for the TOTP step update).
    public func account(email: String, lock: Bool = false) throws -> Account? {
        try connection.queryOne(
            "SELECT id, email, password_hash, totp_secret, totp_last_step FROM \(users) WHERE email = ?\(lock ? " FOR UPDATE" : "")",
            [email]
        ).map(Self.decode)
    }

    /// Every admin's email, for `admin list`.
    public func emails() throws -> [String] {
        try connection.query("SELECT email FROM \(users) ORDER BY email").map { try $0.string("email") }
    }

    /// Removes an account and its sessions; its id, or nil when there was none.
    public func remove(email: String) throws -> Int64? {
        guard let id = try connection.queryOne("SELECT id FROM \(users) WHERE email = ? FOR UPDATE", [email])?.int("id") else { return nil }
        try connection.execute("DELETE FROM \(sessions) WHERE admin_id = ?", [id])
        try connection.execute("DELETE FROM \(users) WHERE id = ?", [id])
        return id
    }

    /// Records the TOTP step just used, so the same code cannot sign in twice.
    public func useTOTPStep(_ step: Int64, adminID: Int64) throws {
        try connection.execute("UPDATE \(users) SET totp_last_step = ? WHERE id = ?", [step, adminID])
    }

    /// Starts a session for `adminID` (the cookie's token hash) ending at `expiresAt`.
    public func startSession(tokenHash: [UInt8], adminID: Int64, expiresAt: Date, now: Date) throws {
        try connection.execute(
            "INSERT INTO \(sessions) (token_hash, admin_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
            [tokenHash, adminID, now, expiresAt])
    }

    /// The signed-in admin of a live session: (id, email).
    public func session(tokenHash: [UInt8], now: Date) throws -> (adminID: Int64, email: String)? {
        try connection.queryOne(
            """
            SELECT u.id, u.email FROM \(sessions) s JOIN \(users) u ON u.id = s.admin_id WHERE s.token_hash = ? AND s.expires_at > ?
            """, [tokenHash, now]
        ).map { (try $0.int("id"), try $0.string("email")) }
    }

    /// Ends a session (sign-out).
    public func endSession(tokenHash: [UInt8]) throws {
        try connection.execute("DELETE FROM \(sessions) WHERE token_hash = ?", [tokenHash])
    }

    /// Removes sessions that ended before `now` (pruning).
    public func removeExpiredSessions(now: Date) throws -> UInt64 {
        try connection.execute("DELETE FROM \(sessions) WHERE expires_at < ?", [now]).affectedRows
    }

    static func decode(_ row: Row) throws -> Account {
        Account(
            id: try row.int("id"), email: try row.string("email"), passwordHash: try row.string("password_hash"),
            totpSecret: try row.isNull("totp_secret") ? nil : try row.bytes("totp_secret"), totpLastStep: try row.int("totp_last_step"))
    }
}
