import Foundation

/// Time-based one-time passwords (RFC 6238 over RFC 4226): HMAC-SHA1, 30-second steps,
/// six digits — what every authenticator app reads from an `otpauth://` URI.
public enum TOTP {
    public static let step: Int64 = 30

    /// The code for the step holding `time`.
    public static func code(secret: [UInt8], time: Date) throws(CryptoError) -> String {
        try code(secret: secret, counter: Int64(time.timeIntervalSince1970.rounded(.down)) / step)
    }

    static func code(secret: [UInt8], counter: Int64) throws(CryptoError) -> String {
        var message = [UInt8](repeating: 0, count: 8)
        for index in 0..<8 { message[7 - index] = UInt8(truncatingIfNeeded: UInt64(bitPattern: counter) >> (8 * UInt64(index))) }
        let mac = try Digest.hmac(digestNamed: "SHA1", key: secret, message: message)
        let offset = Int(mac[mac.count - 1] & 0x0F)
        let binary = (UInt32(mac[offset] & 0x7F) << 24) | (UInt32(mac[offset + 1]) << 16) | (UInt32(mac[offset + 2]) << 8) | UInt32(mac[offset + 3])
        let value = binary % 1_000_000
        let digits = String(value)
        return String(repeating: "0", count: 6 - digits.count) + digits
    }

    /// The step `code` belongs to, if it is the code of the current step or of the one before
    /// or after (clock drift); nil otherwise. Callers refuse a step already used (replay).
    public static func matchingStep(_ code: String, secret: [UInt8], time: Date) throws(CryptoError) -> Int64? {
        guard code.utf8.count == 6, code.utf8.allSatisfy({ (48...57).contains($0) }) else { return nil }
        let current = Int64(time.timeIntervalSince1970.rounded(.down)) / step
        for counter in [current, current - 1, current + 1] {
            if Digest.constantTimeEqual(Array(try Self.code(secret: secret, counter: counter).utf8), Array(code.utf8)) { return counter }
        }
        return nil
    }

    /// The URI an authenticator app scans or imports.
    public static func uri(secret: [UInt8], account: String, issuer: String) -> String {
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-._~@"))
        let label = (issuer + ":" + account).addingPercentEncoding(withAllowedCharacters: allowed.union(CharacterSet(charactersIn: ":"))) ?? account
        let issuerParameter = issuer.addingPercentEncoding(withAllowedCharacters: allowed) ?? issuer
        return "otpauth://totp/\(label)?secret=\(Base32.encode(secret))&issuer=\(issuerParameter)&algorithm=SHA1&digits=6&period=30"
    }
}

/// RFC 4648 base32 without padding (how TOTP secrets are written).
public enum Base32 {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".utf8)

    public static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        var buffer: UInt32 = 0
        var bits = 0
        for byte in bytes {
            buffer = (buffer << 8) | UInt32(byte)
            bits += 8
            while bits >= 5 {
                out.append(alphabet[Int((buffer >> UInt32(bits - 5)) & 31)])
                bits -= 5
            }
        }
        if bits > 0 { out.append(alphabet[Int((buffer << UInt32(5 - bits)) & 31)]) }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes (either case, padding and spaces ignored); nil on any other character.
    public static func decode(_ text: String) -> [UInt8]? {
        var out: [UInt8] = []
        var buffer: UInt32 = 0
        var bits = 0
        for character in text.uppercased().utf8 where character != UInt8(ascii: "=") && character != UInt8(ascii: " ") {
            guard let value = alphabet.firstIndex(of: character) else { return nil }
            buffer = (buffer << 5) | UInt32(value)
            bits += 5
            if bits >= 8 {
                out.append(UInt8((buffer >> UInt32(bits - 8)) & 0xFF))
                bits -= 8
            }
        }
        return out
    }
}
