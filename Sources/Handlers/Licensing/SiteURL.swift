import Foundation

/// A WordPress site as licenses count it: `site_url` reduced to one canonical form, so that
/// the same site is never counted twice.
///
/// | rule | example in | canonical |
/// |---|---|---|
/// | scheme dropped (http and https are one site) | `https://example.com` | `example.com` |
/// | missing scheme accepted | `example.com` | `example.com` |
/// | host lower-cased | `Example.COM` | `example.com` |
/// | leading `www.` dropped | `www.example.com` | `example.com` |
/// | trailing dot dropped | `example.com.` | `example.com` |
/// | default ports dropped, others kept | `example.com:443`, `example.com:8080` | `example.com`, `example.com:8080` |
/// | user info, query and fragment dropped | `https://u:p@example.com/?a=1#x` | `example.com` |
/// | trailing `/`, `/index.php`, `/wp-admin`, `/wp-login.php` dropped | `example.com/blog/index.php` | `example.com/blog` |
/// | path lower-cased, repeated `/` collapsed | `example.com//Blog/` | `example.com/blog` |
/// | a subdirectory install is its own site | `example.com/shop` | `example.com/shop` |
/// | internationalised names in Punycode | `bücher.example` | `xn--bcher-kva.example` |
public struct SiteURL: Sendable, Equatable, CustomStringConvertible {
    /// `host[:port][/path]`.
    public let canonical: String
    /// The host alone (no port), for the staging rules.
    public let host: String

    public var description: String { canonical }

    /// Nil when the text cannot be a site address (another scheme, no host, bad characters).
    public init?(_ text: String) {
        var rest = Substring(text.trimmingWhitespace())
        guard !rest.isEmpty, rest.utf8.count <= 2048 else { return nil }
        var scheme = "https"
        if let range = rest.firstRange(of: "://") {  // the stdlib search, not NSString's
            scheme = rest[..<range.lowerBound].lowercased()
            guard scheme == "http" || scheme == "https" else { return nil }
            rest = rest[range.upperBound...]
        } else if rest.hasPrefix("//") {
            rest = rest.dropFirst(2)
        } else if let colon = rest.firstIndex(of: ":"), rest[..<colon].allSatisfy({ $0.isLetter || $0 == "+" || $0 == "." }),
            !(rest[rest.index(after: colon)...].first?.isNumber ?? false)
        {
            return nil  // another scheme without "//" (mailto:, javascript:), not a host:port
        }
        // Authority ends at the first '/', '?' or '#'.
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
        var authority = rest[..<authorityEnd]
        var path = rest[authorityEnd...]
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
        if let cut = path.firstIndex(where: { $0 == "?" || $0 == "#" }) { path = path[..<cut] }

        // Host and port (IPv6 literals are bracketed).
        var hostPart: Substring
        var port: Substring = ""
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            hostPart = authority[...close]
            let after = authority[authority.index(after: close)...]
            if after.hasPrefix(":") { port = after.dropFirst() } else if !after.isEmpty { return nil }
        } else if let colon = authority.lastIndex(of: ":") {
            hostPart = authority[..<colon]
            port = authority[authority.index(after: colon)...]
        } else {
            hostPart = authority
        }
        guard port.allSatisfy(\.isASCII), port.allSatisfy(\.isNumber), port.count <= 5 else { return nil }
        if let number = Int(port), !port.isEmpty {
            guard (1...65535).contains(number) else { return nil }
            // Both default ports go: with the scheme dropped, :80 and :443 are the same site.
            port = number == 80 || number == 443 ? "" : Substring(String(number))
        }

        guard let host = Self.canonicalHost(String(hostPart)) else { return nil }
        self.host = host
        var canonical = host + (port.isEmpty ? "" : ":\(port)")

        // Path: decoded, lower-cased, '/'-collapsed, WordPress entry points dropped.
        let decodedPath = (path.contains("%") ? String(path).removingPercentEncoding ?? String(path) : String(path)).lowercased()
        var segments = decodedPath.split(separator: "/").map(String.init).filter { $0 != "." }
        while let last = segments.last, ["index.php", "wp-admin", "wp-login.php"].contains(last) { segments.removeLast() }
        guard !segments.contains("..") else { return nil }
        if !segments.isEmpty {
            canonical += "/" + segments.enumerated().map { Self.escaped($1, last: $0 == segments.count - 1) }.joined(separator: "/")
        }
        guard canonical.utf8.count <= 255 else { return nil }
        self.canonical = canonical
    }

    /// A decoded path segment with every character that would read differently the next time
    /// percent-encoded (`%`, `?`, `#`, control and format characters, white space other than
    /// inner spaces, spaces ending the path): a canonical site, sent back as a site URL,
    /// normalises to itself, so a plugin echoing the `site` we answered never takes a second seat.
    static func escaped(_ segment: String, last: Bool) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        let scalars = Array(segment.unicodeScalars)
        // Spaces ending the whole path would be trimmed from the site URL the next time.
        let keptSpaces = scalars.count - (last ? scalars.reversed().prefix { $0 == " " }.count : 0)
        var bytes: [UInt8] = []
        for (index, scalar) in scalars.enumerated() {
            let properties = scalar.properties
            let keep: Bool
            if scalar == " " {
                keep = index < keptSpaces
            } else if scalar.isASCII {
                keep = scalar.value > 0x20 && scalar.value < 0x7F && scalar != "%" && scalar != "?" && scalar != "#"
            } else {
                keep =
                    !properties.isWhitespace && properties.generalCategory != .control && properties.generalCategory != .format
                    && properties.generalCategory != .lineSeparator && properties.generalCategory != .paragraphSeparator
            }
            if keep {
                bytes += Array(String(scalar).utf8)
            } else {
                for byte in String(scalar).utf8 { bytes += [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 15)]] }
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func canonicalHost(_ raw: String) -> String? {
        // NFC only matters for non-ASCII hosts (and costs a trip through NSString).
        var host = (raw.utf8.allSatisfy { $0 < 128 } ? raw : raw.precomposedStringWithCanonicalMapping).lowercased()
        if host.hasPrefix("[") {
            // IPv6: keep as written, lower-cased; only hex digits, ':' and '.'.
            guard host.hasSuffix("]"), host.dropFirst().dropLast().allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." }) else { return nil }
            return host
        }
        while host.hasSuffix(".") { host.removeLast() }
        // Every leading `www.`: a canonical host that still began with one would lose it when
        // normalised again (found by the SiteURL fuzz target).
        while host.hasPrefix("www.") { host.removeFirst(4) }
        guard !host.isEmpty, host.utf8.count <= 253 else { return nil }
        var labels: [String] = []
        for label in host.split(separator: ".", omittingEmptySubsequences: false) {
            guard !label.isEmpty, let ascii = Punycode.asciiLabel(String(label)), ascii.utf8.count <= 63,
                ascii.utf8.allSatisfy({ ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 45 || $0 == 95 }),
                !ascii.hasPrefix("-"), !ascii.hasSuffix("-")
            else { return nil }
            labels.append(ascii)
        }
        // The limit holds for the name as DNS carries it, in Punycode: checked only on the
        // Unicode form, a host could be accepted once and refused as its own canonical form
        // (found by the SiteURL fuzz target).
        let ascii = labels.joined(separator: ".")
        return ascii.utf8.count <= 253 ? ascii : nil
    }
}
