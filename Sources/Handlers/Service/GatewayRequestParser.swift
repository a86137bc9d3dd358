import Foundation

/// Turns CGI/1.1 meta-variables (what FastCGI's params and a CGI environment carry) into a
/// `Request`. Pure: the limits come in, the decisions come out.
public struct GatewayRequestParser: Sendable {
    /// The path the service is mounted at on the site (`/payments`), or empty for the root.
    public let mountPrefix: String
    /// Bodies above this many bytes are refused with 413 before any byte is read.
    public let maxBodyBytes: Int

    public init(mountPrefix: String, maxBodyBytes: Int) {
        var prefix = mountPrefix
        while prefix.hasSuffix("/") { prefix.removeLast() }
        self.mountPrefix = prefix
        self.maxBodyBytes = maxBodyBytes
    }

    /// Everything about the request except the body.
    public func head(from params: [String: String], requestID: String) throws(APIError) -> Request {
        guard let method = params["REQUEST_METHOD"], !method.isEmpty,
            method.utf8.allSatisfy({ $0 >= 65 && $0 <= 90 || $0 == UInt8(ascii: "-") })
        else {
            throw .invalidRequest("the request method is missing or malformed")
        }
        let rawPath: Substring
        if let uri = params["REQUEST_URI"], !uri.isEmpty {
            rawPath = uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)[0]
        } else if let script = params["SCRIPT_NAME"] {
            // Plain CGI servers may omit REQUEST_URI; the path is then split in two.
            rawPath = Substring(script + (params["PATH_INFO"] ?? ""))
        } else {
            throw .invalidRequest("the web server sent no request path (REQUEST_URI)")
        }
        guard let decoded = PercentEncoding.decode(rawPath), !decoded.utf8.contains(0) else {
            throw .invalidRequest("the request path has a malformed percent-escape")
        }
        var headers = HTTPHeaders()
        for (name, value) in params where name.hasPrefix("HTTP_") {
            // HTTP_USER_AGENT → USER-AGENT, on the bytes; HTTPHeaders lower-cases names.
            let headerName = String(decoding: name.utf8.dropFirst(5).map { $0 == UInt8(ascii: "_") ? UInt8(ascii: "-") : $0 }, as: UTF8.self)
            headers.add(headerName, value)
        }
        if let type = params["CONTENT_TYPE"], !type.isEmpty { headers.add("content-type", type) }
        if let length = params["CONTENT_LENGTH"], !length.isEmpty { headers.add("content-length", length) }

        var request = Request(
            method: method, path: stripMount(decoded), query: params["QUERY_STRING"] ?? "",
            headers: headers, clientAddress: params["REMOTE_ADDR"] ?? "", requestID: requestID)
        if ["on", "1"].contains(params["HTTPS"]?.lowercased()) || params["REQUEST_SCHEME"]?.lowercased() == "https" { request.scheme = "https" }
        return request
    }

    /// The declared body length: nil when the web server sent none (then the body is read to
    /// its end, still bounded by the limit).
    public func declaredLength(of request: Request) throws(APIError) -> Int? {
        guard let text = request.headers["content-length"] else { return nil }
        guard text.utf8.count <= 18, let length = Int(text), length >= 0 else {
            throw .invalidRequest("CONTENT_LENGTH is not a non-negative number")
        }
        if length > maxBodyBytes { throw .payloadTooLarge(limit: maxBodyBytes) }
        return length
    }

    /// Reads the body: exactly the declared length, or to the end when none was declared.
    public func readBody(declaredLength: Int?, from source: inout some BodySource) throws(APIError) -> [UInt8] {
        let wanted = declaredLength ?? (maxBodyBytes + 1)
        var body: [UInt8] = []
        body.reserveCapacity(min(wanted, 16 * 1024))
        while body.count < wanted {
            guard let chunk = source.read(maxCount: min(wanted - body.count, 64 * 1024)) else {
                if source.timedOut { throw .requestTimeout(seconds: source.timeoutSeconds) }
                throw .invalidRequest("the request body could not be read (the connection failed)")
            }
            if chunk.isEmpty { break }
            body.append(contentsOf: chunk)
        }
        if let declaredLength, body.count < declaredLength {
            throw .invalidRequest("the request body ended after \(body.count) of \(declaredLength) declared bytes")
        }
        if body.count > maxBodyBytes { throw .payloadTooLarge(limit: maxBodyBytes) }
        return body
    }

    /// On UTF-8 bytes, not characters: a path starting with a combining mark would otherwise
    /// glue it to the `/` put in front, and the result would not start with `/` as a character
    /// (found by the GatewayRequest fuzz target).
    private func stripMount(_ path: String) -> String {
        var path = path
        if !mountPrefix.isEmpty, path.utf8.starts(with: mountPrefix.utf8) {
            let rest = path.utf8.dropFirst(mountPrefix.utf8.count)
            if rest.isEmpty || rest.first == UInt8(ascii: "/") { path = String(decoding: rest, as: UTF8.self) }
        }
        return path.utf8.first == UInt8(ascii: "/") ? path : "/" + path
    }
}
