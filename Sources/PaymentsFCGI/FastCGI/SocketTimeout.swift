import Glibc

/// Bounds how long one read on a socket may block (`SO_RCVTIMEO`).
enum SocketTimeout {
    /// Sets the receive timeout to `duration` (at least a millisecond: zero would mean "none").
    /// Returns the errno when `setsockopt` refused, else nil.
    static func setReceive(_ fileDescriptor: Int32, _ duration: Duration) -> Int32? {
        let (seconds, attoseconds) = max(duration, .milliseconds(1)).components
        var value = timeval(tv_sec: Int(seconds), tv_usec: Int(attoseconds / 1_000_000_000_000))
        let status = setsockopt(fileDescriptor, SOL_SOCKET, SO_RCVTIMEO, &value, socklen_t(MemoryLayout<timeval>.size))
        return status == 0 ? nil : errno
    }
}
