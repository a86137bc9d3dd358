import Foundation
import Testing

@testable import Handlers

@Suite("Admin sign-in crypto: scrypt, TOTP, base32")
struct AdminCryptoTests {
    /// RFC 7914 §12: P = "password", S = "NaCl", N = 1024, r = 8, p = 16 (first 32 of 64 bytes).
    @Test func scryptMatchesRFC7914() throws {
        let key = try PasswordHash.derive("password", salt: Array("NaCl".utf8), log2N: 10, r: 8, p: 16)
        #expect(Hex.encode(key) == "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b373162")
    }

    @Test func passwordHashVerifiesOnlyItsPassword() throws {
        let random = SecureRandom()
        let stored = try PasswordHash.make("correct horse battery staple", random: random)
        #expect(stored.hasPrefix("scrypt$15$8$1$"))
        #expect(try PasswordHash.verify("correct horse battery staple", against: stored))
        #expect(try !PasswordHash.verify("correct horse battery stapl", against: stored))
        #expect(try !PasswordHash.verify("", against: stored))
        // A fresh salt each time: the same password never hashes alike.
        #expect(try PasswordHash.make("correct horse battery staple", random: random) != stored)
        for unreadable in ["", "scrypt$15$8$1$00$00", "bcrypt$x", PasswordHash.decoy, stored.replacingOccurrences(of: "$15$", with: "$40$")] {
            #expect(try !PasswordHash.verify("correct horse battery staple", against: unreadable))
        }
    }

    /// RFC 6238 Appendix B (SHA-1, secret "12345678901234567890"), last six of the eight digits.
    @Test func totpMatchesRFC6238() throws {
        let secret = Array("12345678901234567890".utf8)
        for (time, code) in [
            (59.0, "287082"), (1_111_111_109, "081804"), (1_111_111_111, "050471"), (1_234_567_890, "005924"),
            (2_000_000_000, "279037"), (20_000_000_000, "353130"),
        ] as [(Double, String)] {
            #expect(try TOTP.code(secret: secret, time: Date(timeIntervalSince1970: time)) == code, "\(time)")
        }
    }

    @Test func totpAcceptsTheNeighbouringStepsOnly() throws {
        let secret = Array("12345678901234567890".utf8)
        let now = Date(timeIntervalSince1970: 1_111_111_111)
        let step = Int64(1_111_111_111) / 30
        for offset in [-1, 0, 1] as [Int64] {
            let code = try TOTP.code(secret: secret, counter: step + offset)
            #expect(try TOTP.matchingStep(code, secret: secret, time: now) == step + offset)
        }
        #expect(try TOTP.matchingStep(try TOTP.code(secret: secret, counter: step + 2), secret: secret, time: now) == nil)
        for malformed in ["", "12345", "1234567", "12a456", " 50471"] {
            #expect(try TOTP.matchingStep(malformed, secret: secret, time: now) == nil)
        }
    }

    @Test func base32FollowsRFC4648() {
        for (text, encoded) in [("", ""), ("f", "MY"), ("fo", "MZXQ"), ("foo", "MZXW6"), ("foob", "MZXW6YQ"), ("fooba", "MZXW6YTB"), ("foobar", "MZXW6YTBOI")] {
            #expect(Base32.encode(Array(text.utf8)) == encoded)
            #expect(Base32.decode(encoded.lowercased()) == Array(text.utf8))
        }
        #expect(Base32.decode("MZXW6YTBOI======") == Array("foobar".utf8))
        #expect(Base32.decode("MZ1W") == nil)
    }

    @Test func otpauthURINamesIssuerAccountAndSecret() {
        let uri = TOTP.uri(secret: Array("12345678901234567890".utf8), account: "boss@example.com", issuer: "PaymentsFCGI")
        #expect(
            uri == "otpauth://totp/PaymentsFCGI:boss@example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=PaymentsFCGI&algorithm=SHA1&digits=6&period=30")
    }
}
