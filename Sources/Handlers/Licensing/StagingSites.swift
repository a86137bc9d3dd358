/// Which sites are development or staging copies: decided by the server from the host, never
/// by what the client claims. Such sites do not use a seat (up to a per-license number).
public struct StagingSites: Sendable {
    /// Host suffixes of hosting providers' staging and temporary domains.
    public static let hostingSuffixes = [
        ".wpengine.com", ".wpenginepowered.com", ".kinsta.cloud", ".flywheelsites.com", ".flywheelstaging.com",
        ".pantheonsite.io", ".cloudwaysapps.com", ".mystagingwebsite.com", ".myftpupload.com", ".instawp.xyz",
        ".tastewp.com", ".sg-host.com", ".wpcomstaging.com", ".stage.site", ".onrocket.site", ".servebolt.cloud",
    ]

    /// Reserved and local top-level names (RFC 2606, RFC 6761) and common local setups.
    static let localSuffixes = [".local", ".localhost", ".test", ".example", ".invalid", ".lan", ".internal", ".dev.cc"]

    /// First labels that mark a staging copy of a production host.
    static let stagingPrefixes = ["staging.", "stage.", "dev.", "development.", "test.", "testing.", "qa.", "uat.", "preview."]

    /// Extra host suffixes from configuration (`licensing.staging_domains`).
    public let extraSuffixes: [String]

    public init(extraSuffixes: [String] = []) {
        self.extraSuffixes = extraSuffixes.map { $0.hasPrefix(".") ? $0.lowercased() : "." + $0.lowercased() }
    }

    public func isStaging(_ site: SiteURL) -> Bool {
        let host = site.host
        if host == "localhost" || !host.contains(".") { return true }  // intranet names
        if host.hasPrefix("[") { return Self.isPrivateIPv6(host) }
        if let octets = Self.ipv4(host) { return Self.isPrivateIPv4(octets) }
        let dotted = "." + host
        if Self.localSuffixes.contains(where: dotted.hasSuffix) { return true }
        if Self.stagingPrefixes.contains(where: host.hasPrefix) { return true }
        if Self.hostingSuffixes.contains(where: dotted.hasSuffix) || extraSuffixes.contains(where: dotted.hasSuffix) { return true }
        // Hosting staging subdomains written as a first-label prefix (staging-foo.kinsta.cloud is
        // covered above; staging2.example.com is SiteGround's pattern).
        if let first = host.split(separator: ".").first, first.hasPrefix("staging") { return true }
        return false
    }

    static func ipv4(_ host: String) -> [Int]? {
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        let octets = parts.compactMap { Int($0) }.filter { (0...255).contains($0) }
        return octets.count == 4 ? octets : nil
    }

    static func isPrivateIPv4(_ o: [Int]) -> Bool {
        o[0] == 10 || o[0] == 127 || (o[0] == 172 && (16...31).contains(o[1])) || (o[0] == 192 && o[1] == 168)
            || (o[0] == 169 && o[1] == 254) || (o[0] == 100 && (64...127).contains(o[1])) || o[0] == 0
    }

    static func isPrivateIPv6(_ host: String) -> Bool {
        let address = host.dropFirst().dropLast()
        return address == "::1" || address.hasPrefix("fc") || address.hasPrefix("fd") || address.hasPrefix("fe80")
    }
}
