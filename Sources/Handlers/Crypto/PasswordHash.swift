internal import COpenSSL

/// Admin passwords, stored as scrypt (RFC 7914) hashes through OpenSSL's `EVP_PBE_scrypt`:
/// `scrypt$LOG2N$r$p$SALT$HASH` (hexadecimal salt and hash). A stolen table costs an attacker
/// 32 MiB and about a tenth of a second per guess per core.
public enum PasswordHash {
    /// 2^15 iterations, r = 8, p = 1: OWASP's minimum for scrypt; 32 MiB per hash.
    static let log2N = 15
    static let blockSize = 8
    static let parallelism = 1

    /// A new hash of `password` with a fresh 16-byte salt.
    public static func make(_ password: String, random: SecureRandom) throws(CryptoError) -> String {
        let salt = random.bytes(16)
        let hash = try derive(password, salt: salt, log2N: log2N, r: blockSize, p: parallelism)
        return "scrypt$\(log2N)$\(blockSize)$\(parallelism)$\(Hex.encode(salt))$\(Hex.encode(hash))"
    }

    /// Whether `password` matches `stored` (constant time in the hash comparison). A stored
    /// value this code cannot read never matches.
    public static func verify(_ password: String, against stored: String) throws(CryptoError) -> Bool {
        let parts = stored.split(separator: "$", omittingEmptySubsequences: false)
        guard parts.count == 6, parts[0] == "scrypt", let log2N = Int(parts[1]), (10...20).contains(log2N),
            let r = Int(parts[2]), (1...32).contains(r), let p = Int(parts[3]), (1...16).contains(p),
            let salt = Hex.decode(String(parts[4])), let expected = Hex.decode(String(parts[5])), expected.count == 32
        else { return false }
        let hash = try derive(password, salt: salt, log2N: log2N, r: r, p: p)
        return Digest.constantTimeEqual(hash, expected)
    }

    /// A hash no password matches, verified when an account does not exist so that a sign-in
    /// takes as long for an unknown email as for a known one.
    public static let decoy = "scrypt$15$8$1$00000000000000000000000000000000$" + String(repeating: "0", count: 64)

    static func derive(_ password: String, salt: [UInt8], log2N: Int, r: Int, p: Int) throws(CryptoError) -> [UInt8] {
        // A trailing NUL keeps the buffer non-empty for an empty password; it is not hashed.
        let passwordBytes = Array(password.utf8).map { CChar(bitPattern: $0) } + [0]
        let passwordLength = passwordBytes.count - 1
        var out = [UInt8](repeating: 0, count: 32)
        // 128·r·N·p bytes of working memory, plus slack; OpenSSL refuses beyond maxmem.
        let memory = UInt64(128 * r * p) << UInt64(log2N) + 1 << 20
        // The buffers are Swift arrays alive for the whole call; OpenSSL reads the password and
        // salt and writes exactly `key.count` bytes, and keeps none of the pointers.
        let result = passwordBytes.withUnsafeBufferPointer { pass in
            salt.withUnsafeBufferPointer { saltBytes in
                out.withUnsafeMutableBufferPointer { key in
                    EVP_PBE_scrypt(
                        pass.baseAddress, passwordLength, saltBytes.baseAddress, saltBytes.count,
                        UInt64(1) << UInt64(log2N), UInt64(r), UInt64(p), memory, key.baseAddress, key.count)
                }
            }
        }
        guard result == 1 else { throw CryptoError("EVP_PBE_scrypt") }
        return out
    }
}
