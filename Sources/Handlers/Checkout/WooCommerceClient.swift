import Foundation

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The shop's WooCommerce REST API (`/wp-json/wc/v3`), with the REST key pair as Basic
/// authentication: reading an order, marking it paid, recording a refund. Blocking, like the
/// Stripe client; called from workers and the outbox deliverer.
struct WooCommerceClient {
    let settings: Configuration.WooCommerce

    /// A failed call, answered 502 (or 404 for an order the shop does not have).
    enum Failure: Error, HTTPResponseError, CustomStringConvertible {
        case notConfigured
        case noSuchOrder(Int64)
        case unreachable(String)
        case refused(status: Int, body: String)
        case invalidResponse(String)

        var description: String {
            switch self {
            case .notConfigured: return "woocommerce.url, consumer_key and consumer_secret are needed"
            case .noSuchOrder(let id): return "WooCommerce has no order \(id)"
            case .unreachable(let reason): return "WooCommerce could not be reached: \(reason)"
            case .refused(let status, let body): return "WooCommerce answered \(status): \(body)"
            case .invalidResponse(let what): return "WooCommerce's answer could not be read: \(what)"
            }
        }

        var status: HTTPStatus {
            switch self {
            case .notConfigured: return .serviceUnavailable
            case .noSuchOrder: return .notFound
            default: return .badGateway
            }
        }

        var code: String {
            switch self {
            case .notConfigured: return "unavailable"
            case .noSuchOrder: return "not_found"
            default: return "upstream_error"
            }
        }

        var message: String { description }
    }

    /// `GET /orders/{id}`.
    func order(_ id: Int64) throws(Failure) -> WooCommerceOrder {
        let body = try send("GET", "/orders/\(id)", json: nil, notFound: .noSuchOrder(id))
        do {
            return try WooCommerceOrder(JSONObject.parse(body))
        } catch {
            throw .invalidResponse("\(error)")
        }
    }

    /// `PUT /orders/{id}` with `set_paid`: WooCommerce then runs its own payment-complete
    /// steps (stock, emails, status processing or completed).
    func markPaid(_ id: Int64, transactionID: String?) throws(Failure) {
        var change: [(String, JSONValue)] = [("set_paid", .bool(true))]
        if let transactionID { change.append(("transaction_id", .string(transactionID))) }
        _ = try send("PUT", "/orders/\(id)", json: .object(change), notFound: .noSuchOrder(id))
    }

    /// `POST /orders/{id}/refunds`, recorded only (`api_refund: false`): the money already
    /// went back through Stripe; WooCommerce must not try its own gateway.
    func recordRefund(_ id: Int64, amount: String, reason: String) throws(Failure) {
        _ = try send(
            "POST", "/orders/\(id)/refunds",
            json: .object([("amount", .string(amount)), ("reason", .string(reason)), ("api_refund", .bool(false))]),
            notFound: .noSuchOrder(id))
    }

    private func send(_ method: String, _ path: String, json: JSONValue?, notFound: Failure) throws(Failure) -> [UInt8] {
        guard let base = settings.url, let key = settings.consumerKey, let secret = settings.consumerSecret else { throw .notConfigured }
        guard let url = URL(string: "\(base)/wp-json/wc/v3\(path)") else { throw .unreachable("woocommerce.url is not a URL") }
        var request = URLRequest(url: url, timeoutInterval: 20)
        request.httpMethod = method
        if let json {
            request.httpBody = Data(json.serialized())
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        request.setValue("Basic " + Data("\(key):\(secret)".utf8).base64EncodedString(), forHTTPHeaderField: "Authorization")
        switch HTTPExchange.perform(request) {
        case .success(let status, _, let body) where (200..<300).contains(status): return body
        case .success(404, _, _): throw notFound
        case .success(let status, _, let body): throw .refused(status: status, body: String(decoding: body.prefix(200), as: UTF8.self))
        case .failure(let reason): throw .unreachable(reason)
        }
    }
}
