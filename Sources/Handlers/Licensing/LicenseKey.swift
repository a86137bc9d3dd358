/// License keys: `PFC-7K3QX9M-2VHDA8R-TWN4CJE-5G1PBF6` style, case-insensitive.
///
/// - 26 symbols of Crockford's base32 (no I, L, O, U) carry 130 bits from `RAND_bytes`;
/// - one check symbol from ISO 7064's hybrid MOD 33,32 system catches every single mistyped
///   symbol and all but about 1 in 470 swaps of neighbours, and one more from SHA-256 catches
///   31 in 32 of the rest (about 1 swap in 13,000 gets through) — so a typo is refused before
///   any database lookup;
/// - the first 10 symbols are the selector that finds the row; the stored verifier is a keyed
///   hash of the whole key (see `LicenseKeyHasher`), so the database never holds a usable key.
public struct LicenseKey: Sendable, Equatable, CustomStringConvertible {
    /// The 28 canonical symbols (payload and the two check symbols), upper case, no dashes.
    public let canonical: String

    static let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ".utf8)
    static let payloadLength = 26
    static let selectorLength = 10

    private init(canonical: String) { self.canonical = canonical }

    /// A new random key.
    public static func generate(using random: SecureRandom) -> LicenseKey {
        let bytes = random.bytes(17)  // 136 bits; the first 130 are used
        var symbols: [UInt8] = []
        var bitBuffer: UInt32 = 0
        var bitCount = 0
        for byte in bytes {
            bitBuffer = bitBuffer << 8 | UInt32(byte)
            bitCount += 8
            while bitCount >= 5, symbols.count < payloadLength {
                bitCount -= 5
                symbols.append(UInt8((bitBuffer >> UInt32(bitCount)) & 31))
            }
        }
        return LicenseKey(canonical: String(decoding: (symbols + checkSymbols(symbols)).map { alphabet[Int($0)] }, as: UTF8.self))
    }

    /// Reads a key as a customer may have typed or pasted it: any case, with or without the
    /// prefix, dashes or spaces; `I`/`L` read as 1 and `O` as 0. Nil when it cannot be a key
    /// (wrong length, foreign characters, check symbols that do not match).
    public init?(parsing text: String, prefix: String = "PFC") {
        let characters = Self.normalized(text, prefix: prefix)
        guard characters.count == Self.payloadLength + 2 else { return nil }
        var symbols: [UInt8] = []
        for byte in characters {
            switch byte {
            case UInt8(ascii: "I"), UInt8(ascii: "L"): symbols.append(1)
            case UInt8(ascii: "O"): symbols.append(0)
            default:
                guard let value = Self.alphabet.firstIndex(of: byte) else { return nil }
                symbols.append(UInt8(value))
            }
        }
        let payload = Array(symbols[..<Self.payloadLength])
        guard Array(symbols[Self.payloadLength...]) == Self.checkSymbols(payload) else { return nil }
        self.init(canonical: String(decoding: symbols.map { Self.alphabet[Int($0)] }, as: UTF8.self))
    }

    /// Separators go first; then the prefix, recognised by length (its letters are valid
    /// symbols too). Look-alikes are left to the reader.
    private static func normalized(_ text: String, prefix: String) -> [UInt8] {
        var characters = text.uppercased().utf8.filter { $0 != UInt8(ascii: "-") && $0 != UInt8(ascii: " ") && $0 != 9 }
        let upperPrefix = Array(prefix.uppercased().utf8)
        if characters.count == Self.payloadLength + 2 + upperPrefix.count, characters.starts(with: upperPrefix) {
            characters.removeFirst(upperPrefix.count)
        }
        return characters
    }

    /// What a signed license answer says it is about: SHA-256 (hex) of the key text as sent,
    /// upper-cased, without separators and prefix, with `I`/`L` as 1 and `O` as 0 — for any
    /// text, even one that is not a key, so a plugin can compute it from what it sent:
    ///
    ///     hash('sha256', strtr(<key without prefix, '-' and spaces, upper case>, 'ILO', '110'))
    public static func identifier(of text: String, prefix: String = "PFC") -> String {
        let symbols = normalized(text, prefix: prefix).map { byte -> UInt8 in
            switch byte {
            case UInt8(ascii: "I"), UInt8(ascii: "L"): return UInt8(ascii: "1")
            case UInt8(ascii: "O"): return UInt8(ascii: "0")
            default: return byte
            }
        }
        return Hex.encode(Digest.sha256(symbols))
    }

    /// The part that locates the license row. Not secret on its own.
    public var selector: String { String(canonical.prefix(Self.selectorLength)) }

    /// The key as shown to the customer: prefix and groups of 7.
    public func formatted(prefix: String = "PFC") -> String {
        var groups: [Substring] = []
        var rest = Substring(canonical)
        while !rest.isEmpty {
            groups.append(rest.prefix(7))
            rest = rest.dropFirst(7)
        }
        return ([Substring(prefix)] + groups).joined(separator: "-")
    }

    /// Never the key itself: keys must not reach logs through string interpolation.
    public var description: String { "LicenseKey(\(selector)…)" }

    static func checkSymbols(_ payload: [UInt8]) -> [UInt8] {
        // ISO 7064 hybrid system MOD 33,32 (pure for radix 32).
        var p = 32
        for symbol in payload {
            var s = (p + Int(symbol)) % 32
            if s == 0 { s = 32 }
            p = (2 * s) % 33
        }
        let hybrid = UInt8((33 - p) % 32)
        let digest = Digest.sha256(payload + [hybrid])
        return [hybrid, digest[0] >> 3]
    }
}

/// Computes the stored verifier of a key: HMAC-SHA256 under a pepper that lives only in the
/// configuration, so neither a database dump nor the logs let anyone test guesses offline.
public struct LicenseKeyHasher: Sendable {
    private let pepper: [UInt8]

    public init(pepper: String) { self.pepper = Array(pepper.utf8) }

    public func verifier(for key: LicenseKey) throws(CryptoError) -> [UInt8] {
        try Digest.hmacSHA256(key: pepper, message: Array(("pfc-license-v1:" + key.canonical).utf8))
    }
}
