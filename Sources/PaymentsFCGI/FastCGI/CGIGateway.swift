import Foundation
import Handlers

/// Plain CGI: the request is the environment and standard input, the response goes to
/// standard output, and the process exits after one request (mod_cgi, CGI-only hosts).
enum CGIGateway {
    static func params() -> [String: String] {
        ProcessInfo.processInfo.environment
    }

    struct StandardInput: BodySource {
        mutating func read(maxCount: Int) -> [UInt8]? {
            var buffer = [UInt8](repeating: 0, count: maxCount)
            while true {
                let count = buffer.withUnsafeMutableBytes { Glibc.read(0, $0.baseAddress, maxCount) }
                if count < 0, errno == EINTR { continue }
                if count < 0 { return nil }
                buffer.removeLast(maxCount - count)
                return buffer
            }
        }
    }

    static func write(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let written = Glibc.write(1, raw.baseAddress! + offset, raw.count - offset)
                if written < 0, errno == EINTR { continue }
                if written <= 0 { return }
                offset += written
            }
        }
    }
}
