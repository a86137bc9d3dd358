import Foundation

/// Stripe's webhook signature scheme: `Stripe-Signature: t=<unix time>,v1=<hex>[,v1=<hex>…]`,
/// where each `v1` is HMAC-SHA256, keyed with the endpoint secret, of `"<t>.<raw body>"`.
///
/// The header is read exactly as Stripe's official libraries read it (stripe-python's
/// `WebhookSignature`, cross-checked in the tests): items split on `,`, each on `=`; the first
/// `t` counts; every `v1` is a candidate; `v0` and other schemes are ignored. One deliberate
/// difference: a timestamp more than the tolerance in the *future* is refused too (the
/// official libraries only bound the past), so a leaked signed request cannot be held back
/// and replayed later.
public enum WebhookSignature {
    /// Why a delivery was refused. Messages name the problem, never the secret or the body.
    public enum Failure: Error, Equatable, CustomStringConvertible {
        case missingHeader
        case malformedHeader
        case noV1Signature
        case noMatchingSignature
        case outsideTolerance(secondsOff: Int64)

        /// A short, fixed name for metrics.
        public var metricLabel: String {
            switch self {
            case .missingHeader: return "missing_header"
            case .malformedHeader: return "malformed_header"
            case .noV1Signature: return "no_v1_signature"
            case .noMatchingSignature: return "no_matching_signature"
            case .outsideTolerance: return "outside_tolerance"
            }
        }

        public var description: String {
            switch self {
            case .missingHeader: return "the Stripe-Signature header is missing"
            case .malformedHeader: return "the Stripe-Signature header has no readable timestamp (t=…)"
            case .noV1Signature: return "the Stripe-Signature header has no v1 signature"
            case .noMatchingSignature: return "no v1 signature matches the body with any configured endpoint secret"
            case .outsideTolerance(let off):
                return "the signature timestamp is \(abs(off)) s in the \(off < 0 ? "future" : "past"), beyond the tolerance"
            }
        }
    }

    /// A parsed header: the timestamp as signed, and every `v1` value as sent.
    public struct Header: Equatable, Sendable {
        public let timestamp: Int64
        public let signatures: [[UInt8]]
    }

    /// Verifies `payload` (the raw body bytes) against `header` with any of `secrets`
    /// (several during a secret rotation) and a timestamp within `toleranceSeconds` of `now`.
    /// Returns the signed timestamp.
    @discardableResult
    public static func verify(payload: [UInt8], header: String?, secrets: [String], toleranceSeconds: Int64, now: Date) throws(Failure) -> Int64 {
        guard let header, !header.isEmpty else { throw .missingHeader }
        let parsed = try parse(header)
        guard !parsed.signatures.isEmpty else { throw .noV1Signature }

        var matched = false
        for secret in secrets {
            // A signature that cannot be computed matches nothing: never compare a zeroed buffer.
            guard let computed = try? signature(payload: payload, timestamp: parsed.timestamp, secret: secret) else { continue }
            let expected = Array(Hex.encode(computed).utf8)
            for candidate in parsed.signatures where Digest.constantTimeEqual(expected, candidate) {
                matched = true
            }
        }
        guard matched else { throw .noMatchingSignature }

        let age = Int64(now.timeIntervalSince1970.rounded(.down)) - parsed.timestamp
        guard age <= toleranceSeconds, age >= -toleranceSeconds else { throw .outsideTolerance(secondsOff: age) }
        return parsed.timestamp
    }

    /// Reads the header the way Stripe's libraries do, on bytes (not grapheme clusters, which
    /// would glue a comma to a following combining mark).
    public static func parse(_ header: String) throws(Failure) -> Header {
        var timestamp: Int64?
        var signatures: [[UInt8]] = []
        for item in Array(header.utf8).split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false) {
            // Like Python's item.split("=", 2)[1]: the value ends at a second "=", if any.
            let parts = item.split(separator: UInt8(ascii: "="), maxSplits: 2, omittingEmptySubsequences: false)
            let key = parts[0]
            let isTimestamp = key.elementsEqual("t".utf8)
            guard isTimestamp || key.elementsEqual("v1".utf8) else { continue }
            guard parts.count >= 2 else { throw .malformedHeader }
            if isTimestamp {
                if timestamp == nil {
                    guard let value = integer(parts[1]) else { throw .malformedHeader }
                    timestamp = value
                }
            } else {
                signatures.append(Array(parts[1]))
            }
        }
        guard let timestamp else { throw .malformedHeader }
        return Header(timestamp: timestamp, signatures: signatures)
    }

    /// The header Stripe would send for `payload` signed with `secret` at `timestamp`.
    /// (Used by the tests, and by our own signed notifications to WordPress.)
    public static func header(payload: [UInt8], secret: String, timestamp: Int64) throws(CryptoError) -> String {
        "t=\(timestamp),v1=\(Hex.encode(try signature(payload: payload, timestamp: timestamp, secret: secret)))"
    }

    /// HMAC-SHA256 of `"<timestamp>.<payload>"`, keyed with the whole secret string.
    public static func signature(payload: [UInt8], timestamp: Int64, secret: String) throws(CryptoError) -> [UInt8] {
        try Digest.hmacSHA256(key: Array(secret.utf8), message: Array("\(timestamp).".utf8) + payload)
    }

    /// An integer as Python's `int()` reads one: surrounding white space, an optional sign,
    /// ASCII digits with single underscores between them. The signed text uses the integer's
    /// plain form, whatever the header spelled.
    static func integer(_ text: ArraySlice<UInt8>) -> Int64? {
        let whitespace: Set<UInt8> = [9, 10, 11, 12, 13, 32]
        var bytes = text
        while let first = bytes.first, whitespace.contains(first) { bytes.removeFirst() }
        while let last = bytes.last, whitespace.contains(last) { bytes.removeLast() }
        var negative = false
        if let sign = bytes.first, sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") {
            negative = sign == UInt8(ascii: "-")
            bytes.removeFirst()
        }
        guard let first = bytes.first, let last = bytes.last, first != UInt8(ascii: "_"), last != UInt8(ascii: "_") else { return nil }
        var value: Int64 = 0
        var previousUnderscore = false
        for byte in bytes {
            if byte == UInt8(ascii: "_") {
                if previousUnderscore { return nil }
                previousUnderscore = true
                continue
            }
            previousUnderscore = false
            guard byte >= 48, byte <= 57 else { return nil }
            let (times, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times.addingReportingOverflow(Int64(byte - 48))
            if overflow1 || overflow2 { return nil }
            value = sum
        }
        return negative ? -value : value
    }
}
