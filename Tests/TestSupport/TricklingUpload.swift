import Foundation

/// A client that uploads a body a byte at a time — the slowest legal HTTP client — while
/// watching for an answer, to show that such clients do not hold the service's workers.
public enum TricklingUpload {
    /// How one upload ended.
    public struct Outcome: Sendable, CustomStringConvertible {
        /// The HTTP status the server answered with; nil when it closed without an answer.
        public let status: Int?
        /// Still uploading, unanswered, when the time limit came.
        public let hung: Bool
        public let seconds: Double

        /// A client that could not even connect.
        public static let notConnected = Outcome(status: nil, hung: false, seconds: 0)

        public var description: String {
            hung ? "hung after \(seconds) s" : "\(status.map(String.init) ?? "closed") after \(String(format: "%.1f", seconds)) s"
        }
    }

    /// A connection to 127.0.0.1:`port`, opened ahead (for `Simultaneously.run`'s prepare step).
    public static func connect(port: Int) -> Int32? {
        try? HTTPClient.connectTCP(port: port, timeout: 60)
    }

    /// Sends `POST path` declaring `bodyLength` bytes, then one byte every `interval` seconds
    /// until the server answers or closes, or `limit` seconds pass. Closes `fd`.
    public static func run(fd: Int32, path: String, bodyLength: Int, interval: Double, limit: Double) -> Outcome {
        defer { close(fd) }
        let started = Date()
        func outcome(_ status: Int?, hung: Bool = false) -> Outcome {
            Outcome(status: status, hung: hung, seconds: Date().timeIntervalSince(started))
        }
        let head =
            "POST \(path) HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            + "Content-Length: \(bodyLength)\r\nConnection: close\r\n\r\n"
        guard (try? HTTPClient.writeAll(fd, Array(head.utf8))) != nil else { return outcome(nil) }
        var sent = 0
        while Date().timeIntervalSince(started) < limit {
            var watch = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let wait = sent < bodyLength ? interval : limit - Date().timeIntervalSince(started)
            if poll(&watch, 1, Int32(max(wait, 0) * 1000)) > 0 {
                return outcome(status(of: HTTPClient.readAll(fd)))
            }
            if sent < bodyLength {
                var byte = UInt8(ascii: "a")
                if Glibc.send(fd, &byte, 1, Int32(MSG_NOSIGNAL)) != 1 { return outcome(status(of: HTTPClient.readAll(fd))) }
                sent += 1
            }
        }
        return outcome(nil, hung: true)
    }

    private static func status(of reply: [UInt8]) -> Int? {
        let line = String(decoding: reply.prefix(64), as: UTF8.self).split(separator: " ")
        return line.count >= 2 && line[0].hasPrefix("HTTP/") ? Int(line[1]) : nil
    }
}
