import Foundation

/// An HTTP request as a handler sees it: copied out of the gateway into Swift values.
public struct Request: Sendable {
    /// The method in upper case (`GET`, `POST`…).
    public var method: String
    /// The percent-decoded path below the mount prefix, always starting with `/`.
    public var path: String
    /// The raw query string, without `?` (may be empty).
    public var query: String
    public var headers: HTTPHeaders
    /// The client's address as the web server saw it (`REMOTE_ADDR`).
    public var clientAddress: String
    public var body: [UInt8]
    /// Identifies the request in logs and in the `X-Request-Id` response header.
    public var requestID: String
    /// `https` when the web server says the client came over TLS (`HTTPS`, `REQUEST_SCHEME`), else `http`.
    public var scheme = "http"
    /// Whether the browser reached the web server over TLS.
    public var isHTTPS: Bool { scheme == "https" }
    /// The route's `{name}` segments, decoded (`/payments/{id}` → `["id": "pi_123"]`).
    public var pathParameters: [String: String] = [:]

    public init(
        method: String, path: String, query: String = "", headers: HTTPHeaders = HTTPHeaders(),
        clientAddress: String = "", body: [UInt8] = [], requestID: String = "-"
    ) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.clientAddress = clientAddress
        self.body = body
        self.requestID = requestID
    }

    /// The media type of the body without parameters, lowercased (`application/json`).
    public var mediaType: String? {
        guard let contentType = headers["content-type"] else { return nil }
        let type = contentType.split(separator: ";", maxSplits: 1).first ?? ""
        let trimmed = type.trimmingWhitespace().lowercased()
        return trimmed.isEmpty ? nil : trimmed
    }

    /// Decoded `name=value` pairs of the query string, in order.
    public var queryItems: [(name: String, value: String)] {
        FormEncoding.decode(query)
    }
}
