/// How a failed Stripe call is answered to the server that called us (the one mapping: the
/// `Responder` answers it like any other `HTTPResponseError`). Browser pages catch it first
/// and show a plain sentence instead; the webhook answers in its own words so Stripe retries.
extension StripeClient.Failure: HTTPResponseError {
    public var status: HTTPStatus {
        switch self {
        case .notConfigured, .busy: return .serviceUnavailable
        case .unreachable, .api, .invalidResponse: return .badGateway
        }
    }

    public var code: String {
        switch self {
        case .notConfigured, .busy: return "unavailable"
        case .unreachable, .api, .invalidResponse: return "upstream_error"
        }
    }

    public var message: String {
        switch self {
        case .notConfigured: return "Stripe is not configured on the server (stripe.secret_key)"
        case .busy: return "too many payment requests are being handled at once; try again in a moment"
        // Stripe's own words help the seller's developer (a missing price, say); they never
        // hold our secret key.
        case .unreachable, .api, .invalidResponse: return description
        }
    }

    public var headers: HTTPHeaders {
        switch self {
        case .notConfigured: return HTTPHeaders([("Retry-After", "60")])
        case .busy: return HTTPHeaders([("Retry-After", "2")])
        case .unreachable, .api, .invalidResponse: return HTTPHeaders()
        }
    }
}
