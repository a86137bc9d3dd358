import Foundation
import MariaStore

/// A browser that has signed in to an account before, remembered by a cookie the service signed:
/// `ADMIN_ID.ISSUED_AT.MAC`, the MAC an HMAC-SHA256 keyed by the account's password hash (which
/// never leaves the database). Such a browser has a failure count of its own instead of its
/// address's, its network's and its account's, and a password check kept for it, so strangers
/// failing on purpose — anywhere, even behind the seller's own address — cannot keep the seller
/// out of their admin page; a new password ends every remembered browser of the old one.
enum AdminDevice {
    static let cookie = "pfc_admin_device"
    static let lifetimeSeconds = 180 * 86_400

    static func value(adminID: Int64, passwordHash: String, pepper: String?, issuedAt: Date) throws -> String {
        let issued = Int64(issuedAt.timeIntervalSince1970)
        return "\(adminID).\(issued).\(Hex.encode(try mac(adminID: adminID, issued: issued, passwordHash: passwordHash, pepper: pepper)))"
    }

    /// The remembered browser of `account` the request carries (`ADMIN_ID.ISSUED_AT`, what names
    /// its own failure count), when its MAC is right and it is within its lifetime.
    static func known(_ request: Request, account: AdminRepository.Account, pepper: String?, now: Date) -> String? {
        guard let text = AdminCookies.value(named: cookie, in: request) else { return nil }
        let parts = text.split(separator: ".")
        guard parts.count == 3, Int64(parts[0]) == account.id, let issued = Int64(parts[1]), let sent = Hex.decode(String(parts[2])),
            Double(issued) <= now.timeIntervalSince1970, now.timeIntervalSince1970 - Double(issued) < Double(lifetimeSeconds),
            let expected = try? mac(adminID: account.id, issued: issued, passwordHash: account.passwordHash, pepper: pepper)
        else { return nil }
        return Digest.constantTimeEqual(sent, expected) ? "\(account.id).\(issued)" : nil
    }

    /// Keyed by the password hash and, when set, `licensing.key_pepper` (a secret outside the
    /// database: a copy of the database alone cannot make a cookie).
    private static func mac(adminID: Int64, issued: Int64, passwordHash: String, pepper: String?) throws -> [UInt8] {
        try Digest.hmacSHA256(key: Array((passwordHash + "\n" + (pepper ?? "")).utf8), message: Array("admin-device \(adminID) \(issued)".utf8))
    }
}
