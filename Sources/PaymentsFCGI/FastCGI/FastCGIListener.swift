internal import CFCGI
import Glibc

/// The listening socket FastCGI requests arrive on: one we opened (unix path or host:port) or
/// the one a process manager handed us on file descriptor 0 (mod_fcgid, spawn-fcgi).
///
/// Shared by all workers; its only mutable operation, `stopAccepting`, is a system call on a
/// file descriptor, which the kernel serialises. That is why it is `@unchecked Sendable`.
final class FastCGIListener: @unchecked Sendable {
    let fileDescriptor: Int32
    /// The socket file we created, removed again at exit.
    let unixPath: String?
    let describe: String

    private init(fileDescriptor: Int32, unixPath: String?, describe: String) {
        self.fileDescriptor = fileDescriptor
        self.unixPath = unixPath
        self.describe = describe
    }

    /// Opens `address`: an absolute unix socket path (created with `mode`) or `host:port`.
    static func open(_ address: String, mode: Int, backlog: Int32 = 1024) throws(StartupError) -> FastCGIListener {
        if address.hasPrefix("/") {
            // FCGX_OpenSocket replaces a stale socket file; refuse to steal one that is live.
            if isLiveUnixSocket(address) {
                throw StartupError("another process is already listening on \(address)")
            }
        }
        let fd = FCGX_OpenSocket(address, backlog)
        guard fd >= 0 else {
            throw StartupError("cannot listen on \(address): \(String(cString: strerror(errno)))")
        }
        if address.hasPrefix("/") {
            guard chmod(address, mode_t(mode)) == 0 else {
                throw StartupError("cannot set permissions \(String(mode, radix: 8)) on \(address): \(String(cString: strerror(errno)))")
            }
            return FastCGIListener(fileDescriptor: fd, unixPath: address, describe: "unix:\(address)")
        }
        return FastCGIListener(fileDescriptor: fd, unixPath: nil, describe: address)
    }

    /// The socket inherited on fd 0, or nil when fd 0 is not a listening socket.
    static func inherited() -> FastCGIListener? {
        FCGX_IsCGI() == 0 ? FastCGIListener(fileDescriptor: 0, unixPath: nil, describe: "inherited socket on fd 0") : nil
    }

    /// Whether a process manager handed us this socket on fd 0.
    var isInherited: Bool { fileDescriptor == 0 }

    /// Refuses further connections (they fail to connect) without touching connections
    /// already accepted: shutdown(2) on a listening socket does exactly that on Linux.
    func stopAccepting() {
        _ = shutdown(fileDescriptor, Int32(SHUT_RDWR))
    }

    /// Closes the socket and removes the socket file we created.
    func close() {
        _ = Glibc.close(fileDescriptor)
        if let unixPath { _ = unlink(unixPath) }
    }

    private static func isLiveUnixSocket(_ path: String) -> Bool {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { _ = Glibc.close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard path.utf8.count < capacity else { return false }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, byte) in path.utf8.enumerated() { raw[i] = byte }
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        return connected == 0
    }
}

/// A problem that stops the service from starting; its message says what to fix.
struct StartupError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
