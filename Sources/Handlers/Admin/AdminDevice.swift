import Foundation
import MariaStore

/// A browser that has signed in to an account before, remembered by a cookie the service signed:
/// `ADMIN_ID.ISSUED_AT.MAC`, the MAC an HMAC-SHA256 keyed by the account's password hash (which
/// never leaves the database). Such a browser is not held back by its account's failure limit,
/// so strangers failing on purpose cannot keep the seller out of their own admin page; a new
/// password ends every remembered browser of the old one.
enum AdminDevice {
    static let cookie = "pfc_admin_device"
    static let lifetimeSeconds = 180 * 86_400

    static func value(adminID: Int64, passwordHash: String, issuedAt: Date) throws -> String {
        let issued = Int64(issuedAt.timeIntervalSince1970)
        return "\(adminID).\(issued).\(Hex.encode(try mac(adminID: adminID, issued: issued, passwordHash: passwordHash)))"
    }

    /// Whether the request carries a remembered browser of `account`, still within its lifetime.
    static func isKnown(_ request: Request, account: AdminRepository.Account, now: Date) -> Bool {
        guard let text = AdminCookies.value(named: cookie, in: request) else { return false }
        let parts = text.split(separator: ".")
        guard parts.count == 3, Int64(parts[0]) == account.id, let issued = Int64(parts[1]), let sent = Hex.decode(String(parts[2])),
            Double(issued) <= now.timeIntervalSince1970, now.timeIntervalSince1970 - Double(issued) < Double(lifetimeSeconds),
            let expected = try? mac(adminID: account.id, issued: issued, passwordHash: account.passwordHash)
        else { return false }
        return Digest.constantTimeEqual(sent, expected)
    }

    private static func mac(adminID: Int64, issued: Int64, passwordHash: String) throws -> [UInt8] {
        try Digest.hmacSHA256(key: Array(passwordHash.utf8), message: Array("admin-device \(adminID) \(issued)".utf8))
    }
}
