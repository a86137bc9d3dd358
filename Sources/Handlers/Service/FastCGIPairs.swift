/// FastCGI name-value pairs (FastCGI 1.0 §3.4), the encoding of a request's parameters: each
/// length is one byte below 0x80, or four bytes with the top bit set, then the name and value.
public enum FastCGIPairs {
    /// Calls `visit` with each pair's name and value, in order, until it returns false.
    /// Returns false when the bytes end inside a pair (the rest is not read).
    @discardableResult
    public static func visit(_ bytes: [UInt8], _ visit: (_ name: ArraySlice<UInt8>, _ value: ArraySlice<UInt8>) -> Bool) -> Bool {
        var index = 0
        func length() -> Int? {
            guard index < bytes.count else { return nil }
            if bytes[index] < 0x80 {
                index += 1
                return Int(bytes[index - 1])
            }
            guard bytes.count - index >= 4 else { return nil }
            let value = Int(bytes[index] & 0x7F) << 24 | Int(bytes[index + 1]) << 16 | Int(bytes[index + 2]) << 8 | Int(bytes[index + 3])
            index += 4
            return value
        }
        while index < bytes.count {
            guard let nameLength = length(), let valueLength = length(),
                nameLength <= bytes.count - index, valueLength <= bytes.count - index - nameLength
            else { return false }
            let name = bytes[index..<(index + nameLength)]
            let value = bytes[(index + nameLength)..<(index + nameLength + valueLength)]
            index += nameLength + valueLength
            if !visit(name, value) { return true }
        }
        return true
    }
}
