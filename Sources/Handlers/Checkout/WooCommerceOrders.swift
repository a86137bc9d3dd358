import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import MariaStore

/// Keeps a WooCommerce order in step: when `client_reference_id` names one (`wc_order_123`)
/// and WooCommerce REST credentials are configured, the order is marked paid after
/// fulfilment and refunded after a full refund — through the outbox, so an unreachable shop
/// is retried, never skipped.
struct WooCommerceOrders {
    let context: Context

    /// The WooCommerce order id in a client reference (`wc_order_123` → 123).
    static func orderID(in reference: String?) -> Int64? {
        guard let reference, reference.hasPrefix("wc_order_") else { return nil }
        return Int64(reference.dropFirst("wc_order_".count)).flatMap { $0 > 0 ? $0 : nil }
    }

    func orderPaid(clientReferenceID: String?, order: OrderRepository.Order, connection: Connection) throws {
        guard context.configuration.woocommerce.url != nil, let id = Self.orderID(in: clientReferenceID ?? order.clientReferenceID) else { return }
        try enqueue(id, change: .object(["status": "processing", "set_paid": true, "transaction_id": order.paymentIntent.map(JSONValue.string) ?? .null]),
                    dedupe: "woocommerce:\(id):paid", connection: connection)
    }

    func orderRefunded(order: OrderRepository.Order, connection: Connection) throws {
        guard context.configuration.woocommerce.url != nil, let id = Self.orderID(in: order.clientReferenceID) else { return }
        try enqueue(id, change: .object(["status": "refunded"]), dedupe: "woocommerce:\(id):refunded", connection: connection)
    }

    private func enqueue(_ id: Int64, change: JSONValue, dedupe: String, connection: Connection) throws {
        try Outbox(connection, prefix: context.store.prefix).enqueue(
            kind: "woocommerce", dedupeKey: dedupe, recipient: nil,
            payload: String(decoding: JSONValue.object(["order_id": .int(id), "change": change]).serialized(), as: UTF8.self),
            sealed: nil, now: context.clock.now)
    }

    /// Sends one queued change: `PUT /wp-json/wc/v3/orders/{id}` with the REST key pair.
    func send(_ message: Outbox.Message) throws -> OutboxDeliverer.Outcome {
        let settings = context.configuration.woocommerce
        guard let base = settings.url, let key = settings.consumerKey, let secret = settings.consumerSecret else {
            return .failed("woocommerce.url, consumer_key and consumer_secret are needed")
        }
        let payload = try JSONObject.parse(Array(message.payload.utf8))
        let id = try payload.int("order_id")
        let change = Data(JSONNode.object(try payload.object("change").storage).sendable.serialized())
        guard let url = URL(string: "\(base)/wp-json/wc/v3/orders/\(id)") else { return .failed("woocommerce.url is not a URL") }
        var request = URLRequest(url: url, timeoutInterval: 20)
        request.httpMethod = "PUT"
        request.httpBody = change
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.setValue("Basic " + Data("\(key):\(secret)".utf8).base64EncodedString(), forHTTPHeaderField: "Authorization")
        switch HTTPExchange.perform(request) {
        case .success(let status, _, _) where (200..<300).contains(status): return .sent
        case .success(let status, _, _): return .failed("WooCommerce answered \(status) for order \(id)")
        case .failure(let reason): return .failed("WooCommerce could not be reached: \(reason)")
        }
    }
}
