import Foundation

/// A file a response sends after its head, read and written a bounded buffer at a time by
/// the gateway (so a large package never sits in memory whole).
public struct ResponseFile: Sendable, Equatable {
    public let path: String
    /// Bytes to send (the file's size when the response was made: also its Content-Length).
    public let size: Int64

    public init(path: String, size: Int64) {
        self.path = path
        self.size = size
    }

    /// Bytes read and written at a time.
    public static let bufferSize = 64 * 1024

    /// Calls `write` with consecutive chunks of the file, at most `bufferSize` bytes each and
    /// `size` in all; stops early (returning false) when the file is shorter than promised,
    /// cannot be read, or `write` returns false (the web server went away).
    public func stream(_ write: ([UInt8]) -> Bool) -> Bool {
        guard let handle = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? handle.close() }
        var left = size
        while left > 0 {
            let wanted = Int(min(Int64(Self.bufferSize), left))
            guard let data = try? handle.read(upToCount: wanted), !data.isEmpty else { return false }
            left -= Int64(data.count)
            if !write([UInt8](data)) { return false }
        }
        return true
    }
}
