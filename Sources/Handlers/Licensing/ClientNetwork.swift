import Glibc

/// The network a client address belongs to, for the guessing limits: an IPv4 address's /24
/// and an IPv6 address's /64 (what one subscriber usually holds), read from the binary address
/// so that no spelling of the same address (`::ffff:192.0.2.1`, `2001:DB8::1`, `2001:db8:0::1`)
/// makes a new bucket. An IPv4-mapped IPv6 address is its IPv4 address.
public enum ClientNetwork {
    /// `192.0.2.0/24`, `2001:db8:0:1::/64`; the text itself for what is not an address.
    public static func of(_ address: String) -> String {
        if let v4 = ipv4(address) { return "\(v4[0]).\(v4[1]).\(v4[2]).0/24" }
        if let v6 = ipv6(address) {
            if v6[0..<10].allSatisfy({ $0 == 0 }), v6[10] == 0xff, v6[11] == 0xff {
                return "\(v6[12]).\(v6[13]).\(v6[14]).0/24"
            }
            let groups = stride(from: 0, to: 8, by: 2).map { String(UInt16(v6[$0]) << 8 | UInt16(v6[$0 + 1]), radix: 16) }
            return groups.joined(separator: ":") + "::/64"
        }
        return address
    }

    /// The address itself, in one spelling (a mapped IPv4 address as IPv4).
    public static func address(_ text: String) -> String {
        if let v4 = ipv4(text) { return v4.map(String.init).joined(separator: ".") }
        if let v6 = ipv6(text) {
            if v6[0..<10].allSatisfy({ $0 == 0 }), v6[10] == 0xff, v6[11] == 0xff { return v6[12...].map(String.init).joined(separator: ".") }
            return stride(from: 0, to: 16, by: 2).map { String(UInt16(v6[$0]) << 8 | UInt16(v6[$0 + 1]), radix: 16) }.joined(separator: ":")
        }
        return text
    }

    private static func ipv4(_ text: String) -> [UInt8]? {
        var raw = in_addr()
        guard inet_pton(AF_INET, text, &raw) == 1 else { return nil }
        return withUnsafeBytes(of: &raw) { Array($0) }
    }

    private static func ipv6(_ text: String) -> [UInt8]? {
        var raw = in6_addr()
        guard inet_pton(AF_INET6, text, &raw) == 1 else { return nil }
        return withUnsafeBytes(of: &raw) { Array($0) }
    }
}
