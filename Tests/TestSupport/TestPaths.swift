import Foundation
import Synchronization

/// Where the repository, the built binary and scratch folders are.
public enum TestPaths {
    /// The repository root, found from this file's own path.
    public static let repositoryRoot: URL = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }  // TestSupport, Tests, root
        return url
    }()

    /// The `payments-fcgi` binary under test: `$PFC_TEST_BINARY`, else the debug build.
    public static var binary: String {
        if let path = ProcessInfo.processInfo.environment["PFC_TEST_BINARY"] { return path }
        return repositoryRoot.appendingPathComponent(".build/debug/payments-fcgi").resolvingSymlinksInPath().path
    }

    /// A new empty folder under /tmp, world-readable (nginx, Apache and mod_fcgid's children
    /// run as other users and must reach sockets and files in it).
    /// Under `$PFC_TEST_SCRATCH` when the test script sets it (and removes it afterwards).
    public static func scratchDirectory(_ name: String) -> String {
        let base = ProcessInfo.processInfo.environment["PFC_TEST_SCRATCH"] ?? "/tmp"
        let path = "\(base)/pfc-test-\(name)-\(UUID().uuidString.prefix(8).lowercased())"
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        chmod(path, 0o755)
        return path
    }

    /// A TCP port on 127.0.0.1 that was free a moment ago and was not handed out before in
    /// this test process (servers that start in parallel must not be given the same one).
    public static func freePort() -> Int {
        while true {
            let port = anyFreePort()
            let isNew = handedOut.withLock { $0.insert(port).inserted }
            if isNew { return port }
        }
    }

    private static let handedOut = Mutex<Set<Int>>([])

    private static func anyFreePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Waits until `condition` holds, checking every 20 ms; false after `seconds`.
    public static func waitUntil(seconds: Double, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            usleep(20_000)
        }
        return condition()
    }
}
