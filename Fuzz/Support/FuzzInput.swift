/// Splits one fuzzer input into the parts a target needs, deterministically, so that every
/// byte the fuzzer mutates lands somewhere meaningful.
public struct FuzzInput {
    public private(set) var bytes: ArraySlice<UInt8>

    public init(_ data: UnsafePointer<UInt8>, _ size: Int) {
        bytes = Array(UnsafeBufferPointer(start: data, count: size))[...]
    }

    /// One byte, or 0 when the input is used up.
    public mutating func byte() -> UInt8 {
        bytes.popFirst() ?? 0
    }

    /// The bytes up to the next `separator` (consumed, not returned), or all that is left.
    public mutating func part(until separator: UInt8 = 0x0A) -> [UInt8] {
        guard let end = bytes.firstIndex(of: separator) else {
            defer { bytes = [] }
            return Array(bytes)
        }
        defer { bytes = bytes[(end + 1)...] }
        return Array(bytes[..<end])
    }

    /// Everything left.
    public mutating func rest() -> [UInt8] {
        defer { bytes = [] }
        return Array(bytes)
    }
}

/// Ends the run with a message libFuzzer records as a crash: a property the target checks
/// did not hold.
public func fuzzingFailure(_ message: String) -> Never {
    fatalError(message)
}
