/// An error that knows how it is answered over HTTP. The one catch site (`Responder`) turns
/// it into `{"error": {"code": ..., "message": ...}}` with its status; any other error is a 500
/// with a generic message, its detail going to the log only.
public protocol HTTPResponseError: Error {
    var status: HTTPStatus { get }
    /// A stable machine-readable code (`invalid_request`, `payload_too_large`…).
    var code: String { get }
    /// A sentence for the developer calling us. Never holds secrets, keys or bodies.
    var message: String { get }
    /// Extra response headers (`Allow`, `Retry-After`).
    var headers: HTTPHeaders { get }
}

extension HTTPResponseError {
    public var headers: HTTPHeaders { HTTPHeaders() }

    /// The JSON error response.
    public var response: Response {
        var response = Response.json(
            .object(["error": .object(["code": .string(code), "message": .string(message)])]),
            status: status)
        for (name, value) in headers { response.headers.add(name, value) }
        return response
    }
}

/// The errors the service itself answers with.
public struct APIError: HTTPResponseError, Equatable, CustomStringConvertible {
    public let status: HTTPStatus
    public let code: String
    public let message: String
    public let headers: HTTPHeaders

    public init(_ status: HTTPStatus, code: String, message: String, headers: HTTPHeaders = HTTPHeaders()) {
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers
    }

    public var description: String { "\(status.code) \(code): \(message)" }

    /// 400: the request is malformed; the message names what is wrong.
    public static func invalidRequest(_ message: String) -> APIError {
        APIError(.badRequest, code: "invalid_request", message: message)
    }

    public static func notFound(_ path: String) -> APIError {
        APIError(.notFound, code: "not_found", message: "no endpoint at \(path)")
    }

    public static func methodNotAllowed(_ method: String, allowed: [String]) -> APIError {
        APIError(.methodNotAllowed, code: "method_not_allowed",
                 message: "\(method) is not allowed here; use \(allowed.joined(separator: ", "))",
                 headers: HTTPHeaders([("Allow", allowed.joined(separator: ", "))]))
    }

    public static func payloadTooLarge(limit: Int) -> APIError {
        APIError(.payloadTooLarge, code: "payload_too_large",
                 message: "the request body is larger than the limit of \(limit) bytes")
    }

    /// 408: the body did not arrive within `server.request_read_timeout_seconds`.
    public static func requestTimeout(seconds: Int) -> APIError {
        APIError(.requestTimeout, code: "request_timeout",
                 message: "the request body did not arrive within \(seconds) seconds")
    }

    public static func unsupportedMediaType(_ got: String?, accepted: [String]) -> APIError {
        APIError(.unsupportedMediaType, code: "unsupported_media_type",
                 message: "Content-Type \(got ?? "(none)") is not accepted here; send \(accepted.joined(separator: " or "))")
    }

    /// 503: a dependency (the database) is not available now; try again later.
    public static func unavailable(_ message: String, retryAfterSeconds: Int = 5) -> APIError {
        APIError(.serviceUnavailable, code: "unavailable", message: message,
                 headers: HTTPHeaders([("Retry-After", String(retryAfterSeconds))]))
    }

    public static let internalError = APIError(
        .internalServerError, code: "internal_error",
        message: "the server failed to handle the request; it has been logged")
}
