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

    /// 404 for a path no route serves.
    public static func notFound(_ path: String) -> APIError {
        APIError(.notFound, code: "not_found", message: "no endpoint at \(path)")
    }

    /// 404 for a thing the request names that does not exist; the message says which.
    public static func notFound(message: String) -> APIError {
        APIError(.notFound, code: "not_found", message: message)
    }

    /// 401: the API key is missing or wrong (`WWW-Authenticate` when one was expected).
    public static func unauthorized(_ message: String, challenge: Bool = true) -> APIError {
        APIError(
            .unauthorized, code: "unauthorized", message: message,
            headers: challenge ? HTTPHeaders([("WWW-Authenticate", "Bearer")]) : HTTPHeaders())
    }

    /// 400: a Stripe-Signature that does not verify.
    public static func invalidSignature(_ message: String) -> APIError {
        APIError(.badRequest, code: "invalid_signature", message: message)
    }

    /// 400: a license key in the URL; never repeats it.
    public static let keyInURL = APIError(.badRequest, code: "key_in_url", message: "send the license key in the request body, never in the URL")

    /// 402: not enough credits (or a debt).
    public static func insufficientCredits(_ message: String) -> APIError {
        APIError(.paymentRequired, code: "insufficient_credits", message: message)
    }

    /// 409: an idempotency key used before for something else.
    public static func idempotencyKeyReused(_ message: String) -> APIError {
        APIError(.conflict, code: "idempotency_key_reused", message: message)
    }

    /// 409: a WooCommerce order that cannot be paid now.
    public static func orderNotPayable(_ message: String) -> APIError {
        APIError(.conflict, code: "order_not_payable", message: message)
    }

    /// 429 with `Retry-After`.
    public static func rateLimited(_ message: String, retryAfterSeconds: Int64) -> APIError {
        APIError(.tooManyRequests, code: "rate_limited", message: message, headers: HTTPHeaders([("Retry-After", String(retryAfterSeconds))]))
    }

    /// 500: a Stripe event recorded as failed, for Stripe to retry and the operator to replay.
    public static func eventNotProcessed(_ reason: String) -> APIError {
        APIError(.internalServerError, code: "event_not_processed", message: reason)
    }

    /// 502: another service (Stripe, WooCommerce) answered what cannot be used.
    public static func upstream(_ message: String) -> APIError {
        APIError(.badGateway, code: "upstream_error", message: message)
    }

    public static func methodNotAllowed(_ method: String, allowed: [String]) -> APIError {
        APIError(
            .methodNotAllowed, code: "method_not_allowed",
            message: "\(method) is not allowed here; use \(allowed.joined(separator: ", "))",
            headers: HTTPHeaders([("Allow", allowed.joined(separator: ", "))]))
    }

    public static func payloadTooLarge(limit: Int) -> APIError {
        APIError(
            .payloadTooLarge, code: "payload_too_large",
            message: "the request body is larger than the limit of \(limit) bytes")
    }

    /// 408: the body did not arrive within `server.request_read_timeout_seconds`.
    public static func requestTimeout(seconds: Int) -> APIError {
        APIError(
            .requestTimeout, code: "request_timeout",
            message: "the request body did not arrive within \(seconds) seconds")
    }

    public static func unsupportedMediaType(_ got: String?, accepted: [String]) -> APIError {
        APIError(
            .unsupportedMediaType, code: "unsupported_media_type",
            message: "Content-Type \(got ?? "(none)") is not accepted here; send \(accepted.joined(separator: " or "))")
    }

    /// 503: a dependency (the database) is not available now; try again later.
    public static func unavailable(_ message: String, retryAfterSeconds: Int = 5) -> APIError {
        APIError(
            .serviceUnavailable, code: "unavailable", message: message,
            headers: HTTPHeaders([("Retry-After", String(retryAfterSeconds))]))
    }

    public static let internalError = APIError(
        .internalServerError, code: "internal_error",
        message: "the server failed to handle the request; it has been logged")
}
