/// A handler: a plain function of the request and the worker's context.
public typealias Handler = @Sendable (Request, Context) throws -> Response

/// One endpoint: a method, a path pattern (`/payments/{id}`) and the handler.
public struct Route: Sendable {
    public let method: String
    public let pattern: String
    /// Media types the body must have (empty: any, including none).
    public let accepts: [String]
    public let handler: Handler
    fileprivate let segments: [Segment]

    fileprivate enum Segment: Sendable, Equatable {
        case literal(String)
        case parameter(String)
    }

    public init(_ method: String, _ pattern: String, accepts: [String] = [], handler: @escaping Handler) {
        self.method = method
        self.pattern = pattern
        self.accepts = accepts
        self.handler = handler
        self.segments = pattern.split(separator: "/").map { part in
            part.hasPrefix("{") && part.hasSuffix("}") ? .parameter(String(part.dropFirst().dropLast())) : .literal(String(part))
        }
    }

    fileprivate func match(_ parts: [Substring]) -> [String: String]? {
        guard parts.count == segments.count else { return nil }
        var parameters: [String: String] = [:]
        for (segment, part) in zip(segments, parts) {
            switch segment {
            case .literal(let literal): if literal != part { return nil }
            case .parameter(let name): parameters[name] = String(part)
            }
        }
        return parameters
    }
}

/// Method + path → handler. Decides 404 (no such path) and 405 (path exists, method does not,
/// with `Allow`) itself, and 415 for routes that declare the body types they accept.
/// A path also matches with one trailing slash; HEAD is answered by GET routes.
public struct Router: Sendable {
    public let routes: [Route]

    /// Two routes for the same method and path shape would leave the second unreachable, and
    /// which one answers would depend on their order: that is a programming error, caught at
    /// start-up rather than found by a request.
    public init(_ routes: [Route]) {
        let clashes = Self.duplicates(in: routes)
        precondition(clashes.isEmpty, "routes registered twice: \(clashes.joined(separator: ", "))")
        self.routes = routes
    }

    /// `METHOD pattern` of every route whose method and shape (parameters named or not) an
    /// earlier route already has. A literal beside a parameter (`/payments/intents` before
    /// `/payments/{id}`) is not a duplicate: the literal answers its own path.
    public static func duplicates(in routes: [Route]) -> [String] {
        var seen = Set<String>()
        var clashes: [String] = []
        for route in routes {
            let shape =
                route.method + " /"
                + route.segments.map { segment -> String in
                    switch segment {
                    case .literal(let literal): return literal
                    case .parameter: return "{}"
                    }
                }.joined(separator: "/")
            if !seen.insert(shape).inserted { clashes.append("\(route.method) \(route.pattern)") }
        }
        return clashes
    }

    /// What the router decided for a request.
    public enum Match {
        case handler(Handler, parameters: [String: String])
        case rejected(APIError)
    }

    /// The pattern of the route that answers `method` on `path` (`/payments/{id}`), for
    /// metrics: never the raw path, whose ids would make a label per request.
    public func pattern(method: String, path: String) -> String? {
        var trimmed = Substring(path)
        if trimmed.count > 1, trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        let parts = trimmed.split(separator: "/")
        return routes.first { ($0.method == method || (method == "HEAD" && $0.method == "GET")) && $0.match(parts) != nil }?.pattern
    }

    public func match(method: String, path: String, mediaType: String?) -> Match {
        var trimmed = Substring(path)
        if trimmed.count > 1, trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        let parts = trimmed.split(separator: "/")

        var allowed: [String] = []
        for route in routes {
            guard let parameters = route.match(parts) else { continue }
            if route.method == method || (method == "HEAD" && route.method == "GET") {
                if !route.accepts.isEmpty, !route.accepts.contains(mediaType ?? "") {
                    return .rejected(.unsupportedMediaType(mediaType, accepted: route.accepts))
                }
                return .handler(route.handler, parameters: parameters)
            }
            allowed.append(route.method)
            if route.method == "GET" { allowed.append("HEAD") }
        }
        if allowed.isEmpty { return .rejected(.notFound(path)) }
        return .rejected(.methodNotAllowed(method, allowed: allowed))
    }
}
