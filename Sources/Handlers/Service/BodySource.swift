/// Supplies the request body from the gateway, chunk by chunk (FastCGI's stdin stream or CGI's
/// standard input), so a body can be refused or bounded before it is held in memory.
public protocol BodySource {
    /// Reads up to `maxCount` bytes. An empty array means the body ended; nil means the
    /// gateway failed (connection reset, protocol error) or the time to read it ran out.
    mutating func read(maxCount: Int) -> [UInt8]?

    /// After a nil read: whether it was the time that ran out (answered 408), not the gateway.
    var timedOut: Bool { get }

    /// The whole time a request's body may take to arrive (for the 408's message).
    var timeoutSeconds: Int { get }
}

extension BodySource {
    public var timedOut: Bool { false }
    public var timeoutSeconds: Int { 0 }
}

/// A body already in memory (CGI tests, handler tests).
public struct BufferedBody: BodySource {
    private var bytes: ArraySlice<UInt8>

    public init(_ bytes: [UInt8]) { self.bytes = bytes[...] }

    public mutating func read(maxCount: Int) -> [UInt8]? {
        let chunk = bytes.prefix(maxCount)
        bytes = bytes.dropFirst(chunk.count)
        return Array(chunk)
    }
}
