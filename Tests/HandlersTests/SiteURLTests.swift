import Handlers
import Testing

@Suite("Site URLs as licenses count them")
struct SiteURLTests {
    /// The normalisation table published in README: input → canonical site.
    static let table: [(String, String)] = [
        ("https://example.com", "example.com"),
        ("http://example.com", "example.com"),
        ("example.com", "example.com"),
        ("//example.com", "example.com"),
        ("  https://example.com  ", "example.com"),
        ("HTTPS://EXAMPLE.COM", "example.com"),
        ("https://Example.Com/", "example.com"),
        ("https://www.example.com", "example.com"),
        ("http://WWW.example.com/", "example.com"),
        ("https://www2.example.com", "www2.example.com"),
        ("https://shop.example.com", "shop.example.com"),
        ("https://example.com.", "example.com"),
        ("https://example.com:443", "example.com"),
        ("http://example.com:80", "example.com"),
        ("https://example.com:80", "example.com"),
        ("https://example.com:8080", "example.com:8080"),
        ("https://example.com:08080/", "example.com:8080"),
        ("https://user:pass@example.com", "example.com"),
        ("https://example.com/?page_id=2", "example.com"),
        ("https://example.com/#top", "example.com"),
        ("https://example.com/index.php", "example.com"),
        ("https://example.com/index.php?x=1", "example.com"),
        ("https://example.com/wp-admin/", "example.com"),
        ("https://example.com/wp-login.php", "example.com"),
        ("https://example.com/blog", "example.com/blog"),
        ("https://example.com/blog/", "example.com/blog"),
        ("https://example.com/Blog/index.php", "example.com/blog"),
        ("https://example.com//blog//", "example.com/blog"),
        ("https://example.com/blog/./", "example.com/blog"),
        ("https://example.com/shop/de", "example.com/shop/de"),
        ("https://example.com/blog/wp-admin", "example.com/blog"),
        ("https://example.com/my%20site/", "example.com/my site"),
        ("https://bücher.example", "xn--bcher-kva.example"),
        ("https://BÜCHER.example", "xn--bcher-kva.example"),
        ("https://www.münchen.de/", "xn--mnchen-3ya.de"),
        ("https://例え.テスト", "xn--r8jz45g.xn--zckzah"),
        ("https://пример.испытание", "xn--e1afmkfd.xn--80akhbyknj4f"),
        ("https://café.fr", "xn--caf-dma.fr"),
        ("https://xn--bcher-kva.example", "xn--bcher-kva.example"),
        ("https://127.0.0.1/", "127.0.0.1"),
        ("http://192.168.1.20:8888/wp", "192.168.1.20:8888/wp"),
        ("http://[::1]:8080/", "[::1]:8080"),
        ("http://[FE80::1]", "[fe80::1]"),
        ("http://localhost/", "localhost"),
        ("http://mysite.local", "mysite.local"),
        ("https://my_site.example.com", "my_site.example.com"),
    ]

    @Test(arguments: table)
    func normalises(_ input: String, _ canonical: String) {
        #expect(SiteURL(input)?.canonical == canonical)
    }

    static let invalid = [
        "", "   ", "ftp://example.com", "javascript:alert(1)", "https://", "https://exa mple.com", "https://example..com",
        "https://-example.com", "https://example.com:99999", "https://example.com:port", "https://[::1", "https://ex<a>mple.com",
        "https://example.com/../etc", "mailto:someone@example.com", "https://" + String(repeating: "a", count: 64) + ".com",
    ]

    @Test(arguments: invalid)
    func refuses(_ input: String) {
        #expect(SiteURL(input) == nil)
    }

    /// Found by the SiteURL fuzz target: a path with control characters, white space or a
    /// stray `%` normalised to a canonical form that normalised to something else again, so a
    /// plugin sending back the `site` we answered would have taken a second seat.
    @Test(arguments: [
        "httts/\u{FFFD}\u{0}\u{0}%/.\u{FFFD}\u{C}/",
        "example.com/a%20b/%25/c%3Fd%23e",
        "example.com/a%20",
        "example.com/shop%0A/ ",
        "example.com/%E2%80%A8x/%C2%A0",
        "example.com/a%zz%41",
        "www.www.12.70.0.12.70.0.1",
        "https://WWW.www.Example.com/",
    ])
    func aCanonicalSiteNormalisesToItself(_ input: String) throws {
        let site = try #require(SiteURL(input))
        #expect(SiteURL(site.canonical)?.canonical == site.canonical, "\(site.canonical.debugDescription)")
        #expect(SiteURL("https://" + site.canonical)?.canonical == site.canonical)
    }

    /// Found by the SiteURL fuzz target: 60 labels `ü` are 179 bytes as typed but 479 in
    /// Punycode, over DNS's 253; accepted once, the canonical form was then refused.
    @Test func aHostOverTheLengthLimitInPunycodeIsRefused() {
        let long = Array(repeating: "ü", count: 60).joined(separator: ".")
        #expect(long.utf8.count <= 253)
        #expect(SiteURL("https://" + long) == nil)
        let fits = Array(repeating: "ü", count: 30).joined(separator: ".")  // 239 bytes in Punycode
        #expect(SiteURL("https://" + fits).map { SiteURL($0.canonical)?.canonical == $0.canonical } == true)
    }

    @Test func unsafePathCharactersAreEscapedInTheCanonicalForm() {
        #expect(SiteURL("https://example.com/a%20b/%25/c%3Fd")?.canonical == "example.com/a b/%25/c%3Fd")
        #expect(SiteURL("https://example.com/a%20%20")?.canonical == "example.com/a%20%20")
        #expect(SiteURL("https://example.com/Bücher/")?.canonical == "example.com/bücher")
    }

    @Test func sameSiteWrittenDifferentlyIsOneSite() {
        let spellings = ["https://www.Example.com/", "http://example.com:80/index.php", "example.com", "https://example.com/wp-admin/?page=x"]
        #expect(Set(spellings.compactMap { SiteURL($0)?.canonical }) == ["example.com"])
    }

    @Test func punycodeMatchesRFC3492() {
        // RFC 3492 section 7.1 sample (L): 3<nen>B<gumi><kinpachi><sensei>.
        #expect(Punycode.asciiLabel("3年b組金八先生") == "xn--3b-ww4c5e180e575a65lsy2b")
        #expect(Punycode.asciiLabel("ascii") == "ascii")
        #expect(Punycode.asciiLabel("ñandú") == "xn--and-6ma2c")
    }
}

@Suite("Staging sites")
struct StagingSitesTests {
    let rules = StagingSites(extraSuffixes: ["preview.myagency.com"])

    static let staging = [
        "http://localhost", "http://127.0.0.1:8080", "http://10.1.2.3", "http://172.20.0.5", "http://192.168.0.10/wp",
        "http://[::1]", "http://mysite.local", "http://shop.test", "http://demo.example", "http://x.invalid", "http://intranet",
        "https://staging.example.com", "https://dev.example.com", "https://staging2.example.com", "https://mysite.wpengine.com",
        "https://staging-mysite.kinsta.cloud", "https://dev-mysite.pantheonsite.io", "https://client.preview.myagency.com",
        "https://wordpress-123.cloudwaysapps.com",
    ]
    static let production = [
        "https://example.com", "https://shop.example.com", "https://developer.example.com", "https://8.8.8.8",
        "https://172.32.0.1", "https://example.localhost.com", "https://mystaging.com", "https://testimonials.example.com",
    ]

    @Test(arguments: staging)
    func stagingHosts(_ url: String) {
        #expect(rules.isStaging(SiteURL(url)!))
    }

    @Test(arguments: production)
    func productionHosts(_ url: String) {
        #expect(!rules.isStaging(SiteURL(url)!))
    }
}

/// The networks the guessing limits count by.
@Suite("Client networks")
struct ClientNetworkTests {
    @Test func networksAreReadFromTheBinaryAddress() {
        #expect(ClientNetwork.of("192.0.2.77") == "192.0.2.0/24")
        #expect(ClientNetwork.of("::ffff:192.0.2.77") == "192.0.2.0/24")
        #expect(ClientNetwork.of("2001:DB8:0:1::5") == "2001:db8:0:1::/64")
        #expect(ClientNetwork.of("2001:db8::1:0:0:6") == "2001:db8:0:0::/64")
        #expect(ClientNetwork.of("2001:0db8:0000:0000:abcd::1") == ClientNetwork.of("2001:db8::abcd:0:0:2"))
        #expect(ClientNetwork.address("::FFFF:192.0.2.77") == "192.0.2.77")
        #expect(ClientNetwork.address("2001:DB8::1") == ClientNetwork.address("2001:db8:0::1"))
        #expect(ClientNetwork.of("not an address") == "not an address")
    }
}
