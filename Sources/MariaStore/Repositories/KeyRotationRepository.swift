import Foundation

/// Requests for a new license key, each proved by a token emailed to the buyer. Only the
/// token's SHA-256 is stored; a token works once, before it expires.
public struct KeyRotationRepository {
    let connection: Connection
    let table: String

    public init(_ connection: Connection, prefix: TablePrefix) {
        self.connection = connection
        table = prefix.table("key_rotation_requests")
    }

    public func insert(tokenHash: [UInt8], licenseID: Int64, expiresAt: Date, now: Date) throws {
        try connection.execute(
            "INSERT INTO \(table) (token_hash, license_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
            [tokenHash, licenseID, now, expiresAt])
    }

    /// The license a valid, unused token may rotate, or nil.
    public func pendingLicense(tokenHash: [UInt8], now: Date) throws -> Int64? {
        try connection.queryOne(
            "SELECT license_id FROM \(table) WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?",
            [tokenHash, now])?.int("license_id")
    }

    /// Marks the token used, if it still may be; returns its license (nil: unknown, used or
    /// expired). The update is the gate: of two simultaneous uses, one wins.
    public func use(tokenHash: [UInt8], now: Date) throws -> Int64? {
        guard
            let license = try connection.queryOne(
                """
                SELECT license_id FROM \(table) WHERE token_hash = ? AND used_at IS NULL AND expires_at > ? FOR UPDATE
                """, [tokenHash, now])?.int("license_id")
        else { return nil }
        try connection.execute("UPDATE \(table) SET used_at = ? WHERE token_hash = ?", [now, tokenHash])
        return license
    }
}
