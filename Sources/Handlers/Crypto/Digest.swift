internal import COpenSSL

/// A libcrypto call that failed, with OpenSSL's own reason when it left one.
public struct CryptoError: Error, Sendable, CustomStringConvertible {
    public let description: String

    init(_ operation: String) {
        // The error queue is per thread; draining it here keeps a stale entry from being
        // reported with a later, unrelated failure.
        var reasons: [String] = []
        var code = ERR_get_error()
        while code != 0 {
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            reasons.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
            code = ERR_get_error()
        }
        description = "\(operation) failed: " + (reasons.isEmpty ? "OpenSSL gave no reason" : reasons.joined(separator: "; "))
    }
}

/// SHA-256 and HMAC-SHA256 from OpenSSL's libcrypto.
public enum Digest {
    /// The SHA-256 digest of `data` (32 bytes).
    ///
    /// A failure here means libcrypto could not allocate memory. It stops the process rather
    /// than returning zeroed bytes: the digest names idempotency keys and key checksums, and a
    /// constant digest would merge every caller's Stripe requests into one.
    public static func sha256(_ data: some Collection<UInt8>) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        let bytes = Array(data)
        let result = bytes.withUnsafeBufferPointer { input in
            out.withUnsafeMutableBufferPointer { output in SHA256(input.baseAddress, input.count, output.baseAddress) }
        }
        precondition(result != nil, CryptoError("SHA256").description)
        return out
    }

    /// HMAC-SHA256 of `message` under `key` (32 bytes). Throws when libcrypto fails: a
    /// zeroed buffer would otherwise match an all-zero signature.
    public static func hmacSHA256(key: some Collection<UInt8>, message: some Collection<UInt8>) throws(CryptoError) -> [UInt8] {
        // EVP_sha256() is a static method table, never nil in a libcrypto that links.
        try hmac(digest: EVP_sha256(), named: "SHA256", key: Array(key), message: Array(message))
    }

    /// HMAC under the digest OpenSSL knows by `name` ("SHA256", "SHA3-256"…). An unknown
    /// digest, or one HMAC refuses (an extendable-output function such as SHAKE128), throws.
    static func hmac(digestNamed name: String, key: [UInt8], message: [UInt8]) throws(CryptoError) -> [UInt8] {
        guard let digest = EVP_MD_fetch(nil, name, nil) else { throw CryptoError("EVP_MD_fetch(\(name))") }
        // Fetched here and freed here; nothing else holds it.
        defer { EVP_MD_free(digest) }
        return try hmac(digest: digest, named: name, key: key, message: message)
    }

    private static func hmac(digest: OpaquePointer?, named name: String, key: [UInt8], message: [UInt8]) throws(CryptoError) -> [UInt8] {
        guard let keyLength = Int32(exactly: key.count) else { throw CryptoError("HMAC-\(name) with a key of \(key.count) bytes") }
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        let result = key.withUnsafeBufferPointer { k in
            message.withUnsafeBufferPointer { m in
                out.withUnsafeMutableBufferPointer { o in
                    HMAC(digest, k.baseAddress, keyLength, m.baseAddress, m.count, o.baseAddress, &length)
                }
            }
        }
        guard result != nil, length > 0 else { throw CryptoError("HMAC-\(name)") }
        return Array(out.prefix(Int(length)))
    }

    /// Compares two byte strings in time that depends only on their length (`CRYPTO_memcmp`).
    public static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        if a.isEmpty { return true }
        return a.withUnsafeBytes { x in b.withUnsafeBytes { y in CRYPTO_memcmp(x.baseAddress, y.baseAddress, a.count) == 0 } }
    }
}
/// Lowercase hexadecimal.
public enum Hex {
    private static let digits = Array("0123456789abcdef".utf8)

    public static func encode(_ bytes: some Collection<UInt8>) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes hex (either case); nil for odd length or a non-hex character.
    public static func decode(_ text: String) -> [UInt8]? {
        let utf8 = Array(text.utf8)
        guard utf8.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(utf8.count / 2)
        var i = 0
        while i < utf8.count {
            guard let high = value(utf8[i]), let low = value(utf8[i + 1]) else { return nil }
            out.append(high << 4 | low)
            i += 2
        }
        return out
    }

    /// The value of one hex digit (either case).
    static func value(_ c: UInt8) -> UInt8? {
        switch c {
        case 48...57: return c - 48
        case 65...70: return c - 55
        case 97...102: return c - 87
        default: return nil
        }
    }
}
