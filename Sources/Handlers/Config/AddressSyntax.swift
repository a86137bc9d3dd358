import Foundation
import MariaStore

/// The spellings of network addresses that settings accept.
enum AddressSyntax {
    /// An IPv4 or IPv6 address in the one spelling `inet_ntop` gives (how peers are compared).
    static func canonicalAddress(_ text: String) -> String? {
        for family in [AF_INET, AF_INET6] {
            var binary = [UInt8](repeating: 0, count: 16)
            guard inet_pton(family, text, &binary) == 1 else { continue }
            var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
            guard inet_ntop(family, binary, &buffer, socklen_t(buffer.count)) != nil else { return nil }
            return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        return nil
    }

    /// `database.hosts`: servers separated by commas, each an absolute socket path or
    /// `host[:port]` (port 3306 when omitted; IPv6 hosts in brackets). Nil when any item is
    /// neither.
    static func databaseEndpoints(_ list: String) -> [DatabaseEndpoint]? {
        var endpoints: [DatabaseEndpoint] = []
        for item in list.split(separator: ",", omittingEmptySubsequences: false).map({ $0.trimmingWhitespace() }) {
            if item.hasPrefix("/") {
                endpoints.append(.socket(item))
                continue
            }
            var host = Substring(item)
            var port = 3306
            if item.hasPrefix("[") {
                guard let close = item.firstIndex(of: "]") else { return nil }
                host = item[item.index(after: item.startIndex)..<close]
                let after = item[item.index(after: close)...]
                if !after.isEmpty {
                    guard after.hasPrefix(":"), let number = Int(after.dropFirst()), (1...65535).contains(number) else { return nil }
                    port = number
                }
            } else if let colon = item.firstIndex(of: ":") {
                guard let number = Int(item[item.index(after: colon)...]), (1...65535).contains(number) else { return nil }
                host = item[..<colon]
                port = number
            }
            guard !host.isEmpty, host.allSatisfy({ $0.isLetter || $0.isNumber || "-.:".contains($0) }) else { return nil }
            endpoints.append(.tcp(host: String(host), port: port))
        }
        return endpoints.isEmpty ? nil : endpoints
    }

    /// `host:port` with a port from 1 to 65535 (the host is not checked: any name may resolve).
    static func isHostPort(_ text: String) -> Bool {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]) else { return false }
        return (1...65535).contains(port)
    }
}
