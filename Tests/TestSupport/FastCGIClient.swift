import Foundation

/// Speaks the FastCGI wire protocol to the service's socket directly, the way nginx does, so
/// tests can also send what no web server would: lying lengths, cut-short bodies, garbage.
public final class FastCGIClient {
    public let fd: Int32

    public init(socketPath: String, timeout: Double = 30) throws {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard Self.connectUnix(fd, socketPath) else {
            close(fd)
            throw TestSupportError("cannot connect to \(socketPath): \(String(cString: strerror(errno)))")
        }
        HTTPClient.setTimeout(fd, timeout)
    }

    /// Connects over TCP to `host`:`port` from the local address `source` (any 127.x.y.z is
    /// this machine on Linux, so a test can play a peer that is not on an allow-list).
    public init(host: String = "127.0.0.1", port: Int, source: String, timeout: Double = 30) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var local = sockaddr_in()
        local.sin_family = sa_family_t(AF_INET)
        local.sin_addr.s_addr = inet_addr(source)
        var remote = sockaddr_in()
        remote.sin_family = sa_family_t(AF_INET)
        remote.sin_addr.s_addr = inet_addr(host)
        remote.sin_port = UInt16(port).bigEndian
        let bound = withUnsafePointer(to: &local) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        let connected =
            bound == 0
            && withUnsafePointer(to: &remote) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            } == 0
        guard connected else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw TestSupportError("cannot connect from \(source) to \(host):\(port): \(reason)")
        }
        HTTPClient.setTimeout(fd, timeout)
    }

    deinit { close(fd) }

    public static func canConnect(_ socketPath: String) -> Bool {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        return connectUnix(fd, socketPath)
    }

    private static func connectUnix(_ fd: Int32, _ path: String) -> Bool {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, byte) in path.utf8.enumerated() where i < raw.count - 1 { raw[i] = byte }
        }
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        } == 0
    }

    // MARK: Records

    public static func record(type: UInt8, requestID: UInt16 = 1, content: [UInt8]) -> [UInt8] {
        precondition(content.count <= 65535)
        return [
            1, type, UInt8(requestID >> 8), UInt8(requestID & 0xFF),
            UInt8(content.count >> 8), UInt8(content.count & 0xFF), 0, 0,
        ] + content
    }

    public static func beginRequest(keepConnection: Bool = false) -> [UInt8] {
        record(type: 1, content: [0, 1, keepConnection ? 1 : 0, 0, 0, 0, 0, 0])
    }

    public static func params(_ pairs: [(String, String)]) -> [UInt8] {
        var content: [UInt8] = []
        for (name, value) in pairs {
            for length in [name.utf8.count, value.utf8.count] {
                if length < 128 {
                    content.append(UInt8(length))
                } else {
                    content += [UInt8((length >> 24) | 0x80), UInt8((length >> 16) & 0xFF), UInt8((length >> 8) & 0xFF), UInt8(length & 0xFF)]
                }
            }
            content += Array(name.utf8) + Array(value.utf8)
        }
        return record(type: 4, content: content) + record(type: 4, content: [])
    }

    public static func stdin(_ body: [UInt8], end: Bool = true) -> [UInt8] {
        var out: [UInt8] = []
        var offset = 0
        while offset < body.count {
            let chunk = Array(body[offset..<min(offset + 32768, body.count)])
            out += record(type: 5, content: chunk)
            offset += chunk.count
        }
        if end { out += record(type: 5, content: []) }
        return out
    }

    /// The standard CGI variables for a request, as nginx would send them.
    public static func standardParams(method: String, uri: String, contentLength: String? = nil, extra: [(String, String)] = []) -> [(String, String)] {
        var params: [(String, String)] = [
            ("REQUEST_METHOD", method), ("REQUEST_URI", uri), ("QUERY_STRING", ""),
            ("GATEWAY_INTERFACE", "CGI/1.1"), ("REMOTE_ADDR", "127.0.0.1"), ("SERVER_PROTOCOL", "HTTP/1.1"),
        ]
        if let contentLength { params.append(("CONTENT_LENGTH", contentLength)) }
        return params + extra
    }

    public func send(_ bytes: [UInt8]) throws {
        try HTTPClient.writeAll(fd, bytes)
    }

    /// A parsed FastCGI response: the CGI status and headers, and the body.
    public struct Reply {
        public let status: Int
        public let headers: [(String, String)]
        public let body: [UInt8]
        public var text: String { String(decoding: body, as: UTF8.self) }
        public var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] ?? [:] }
        public var errorCode: String? { (json["error"] as? [String: Any])?["code"] as? String }
    }

    /// Reads STDOUT records until END_REQUEST; nil if the service closed the connection first.
    public func readReply() -> Reply? {
        var stdout: [UInt8] = []
        while let header = readExactly(8) {
            let type = header[1]
            let length = Int(header[4]) << 8 | Int(header[5])
            guard let content = readExactly(length + Int(header[6])) else { return nil }
            if type == 6 { stdout += content.prefix(length) }
            if type == 3 { return Self.parseCGI(stdout) }
        }
        return nil
    }

    /// One whole request on a fresh connection.
    public static func request(socketPath: String, params: [(String, String)], body: [UInt8] = []) throws -> Reply? {
        let client = try FastCGIClient(socketPath: socketPath)
        try client.send(beginRequest() + Self.params(params) + stdin(body))
        return client.readReply()
    }

    private func readExactly(_ count: Int) -> [UInt8]? {
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: max(count, 1))
        while out.count < count {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, count - out.count, 0) }
            if n <= 0 { return nil }
            out += buffer[0..<n]
        }
        return out
    }

    static func parseCGI(_ data: [UInt8]) -> Reply {
        let separator: [UInt8] = [13, 10, 13, 10]
        guard let end = data.firstRange(of: separator) else { return Reply(status: 0, headers: [], body: data) }
        let lines = String(decoding: data[..<end.lowerBound], as: UTF8.self).components(separatedBy: "\r\n")
        var status = 200
        var headers: [(String, String)] = []
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = String(line[..<colon])
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            if name == "Status" { status = Int(value.prefix(3)) ?? 0 } else { headers.append((name, value)) }
        }
        return Reply(status: status, headers: headers, body: Array(data[end.upperBound...]))
    }
}
