internal import COpenSSL

/// Cryptographically secure random bytes from OpenSSL's `RAND_bytes`.
public struct SecureRandom: Sendable {
    public init() {}

    /// `count` random bytes. OpenSSL only fails here when it cannot seed from the kernel,
    /// in which case continuing would issue guessable ids and keys, so the process stops.
    public func bytes(_ count: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        let status = out.withUnsafeMutableBytes { RAND_bytes($0.baseAddress!.assumingMemoryBound(to: UInt8.self), Int32(count)) }
        precondition(status == 1, "RAND_bytes failed: the system's entropy source is unavailable")
        return out
    }
}
