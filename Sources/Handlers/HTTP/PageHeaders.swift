/// The headers of an HTML page that may show what must not leak (a license key, a customer):
/// no caching, no referrer, no framing (clickjacking), no content sniffing, and the page's
/// Content-Security-Policy (none of ours allows a script).
enum PageHeaders {
    static func html(contentSecurityPolicy: String) -> HTTPHeaders {
        var headers = HTTPHeaders()
        headers.add("Content-Type", "text/html; charset=utf-8")
        headers.add("Cache-Control", "no-store")
        headers.add("Referrer-Policy", "no-referrer")
        headers.add("Content-Security-Policy", contentSecurityPolicy)
        headers.add("X-Content-Type-Options", "nosniff")
        headers.add("X-Frame-Options", "DENY")
        return headers
    }
}
