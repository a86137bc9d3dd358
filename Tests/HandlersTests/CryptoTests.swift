import Testing

@testable import Handlers

@Suite("Crypto from libcrypto")
struct CryptoTests {
    @Test func sha256MatchesKnownVectors() {
        #expect(Hex.encode(Digest.sha256(Array("".utf8))) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(Hex.encode(Digest.sha256(Array("abc".utf8))) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    // RFC 4231 test cases 1, 2 and 6 (a key longer than the block size).
    @Test func hmacSHA256MatchesRFC4231() throws {
        #expect(
            Hex.encode(try Digest.hmacSHA256(key: [UInt8](repeating: 0x0b, count: 20), message: Array("Hi There".utf8)))
                == "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7")
        #expect(
            Hex.encode(try Digest.hmacSHA256(key: Array("Jefe".utf8), message: Array("what do ya want for nothing?".utf8)))
                == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        #expect(
            Hex.encode(
                try Digest.hmacSHA256(
                    key: [UInt8](repeating: 0xaa, count: 131),
                    message: Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8)))
                == "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54")
    }

    /// HMAC() itself failing, for real: libcrypto refuses an extendable-output digest (SHAKE128)
    /// for HMAC and returns NULL, leaving the output buffer as it was (zeroed). The call must
    /// throw, never hand back those zeroes as a signature.
    @Test func failingHMACIsAnErrorNotZeroes() throws {
        #expect(throws: CryptoError.self) { try Digest.hmac(digestNamed: "SHAKE128", key: Array("k".utf8), message: Array("m".utf8)) }
        #expect(throws: CryptoError.self) { try Digest.hmac(digestNamed: "NO-SUCH-DIGEST", key: [], message: []) }
        // The same path with a digest HMAC accepts gives the RFC 4231 answer.
        #expect(
            try Hex.encode(Digest.hmac(digestNamed: "SHA256", key: Array("Jefe".utf8), message: Array("what do ya want for nothing?".utf8)))
                == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    }

    @Test func constantTimeEqualCompares() {
        #expect(Digest.constantTimeEqual([1, 2, 3], [1, 2, 3]))
        #expect(!Digest.constantTimeEqual([1, 2, 3], [1, 2, 4]))
        #expect(!Digest.constantTimeEqual([1, 2, 3], [1, 2]))
        #expect(Digest.constantTimeEqual([], []))
    }

    @Test func randomBytesAreFreshEachTime() {
        let random = SecureRandom()
        let samples = (0..<100).map { _ in random.bytes(16) }
        #expect(samples.allSatisfy { $0.count == 16 })
        #expect(Set(samples.map(Hex.encode)).count == 100)
        // 1600 random bytes: every byte value is unlikely to be missing from more than a few.
        #expect(Set(samples.joined()).count > 200)
    }

    @Test func hexRoundTrips() {
        let bytes: [UInt8] = [0, 1, 0x7f, 0x80, 0xff]
        #expect(Hex.encode(bytes) == "00017f80ff")
        #expect(Hex.decode("00017F80ff") == bytes)
        #expect(Hex.decode("abc") == nil)
        #expect(Hex.decode("zz") == nil)
    }
}
