import Foundation
import Synchronization

/// A local server that speaks the WooCommerce REST API's wire format (`/wp-json/wc/v3`): Basic
/// authentication with a consumer key pair, order objects with decimal-string amounts,
/// `PUT /orders/{id}` with `set_paid`, `POST /orders/{id}/refunds`, and WooCommerce's error
/// shape. It keeps its orders and records every request, so tests see what the shop was asked.
public final class FakeWooCommerceServer: Sendable {
    public static let consumerKey = "ck_test_0123456789abcdef"
    public static let consumerSecret = "cs_test_fedcba9876543210"

    /// One order as the shop holds it.
    public struct Order: Sendable {
        public var id: Int64
        public var status: String
        public var currency: String
        public var total: String
        public var email: String
        public var orderKey: String
        public var transactionID = ""
        /// name, quantity, total, total_tax
        public var items: [(String, Int, String, String)]
        /// method title, total, total_tax
        public var shipping: [(String, String, String)] = []
        /// Amounts of the refunds recorded, as WooCommerce's decimal strings.
        public var refunds: [String] = []

        public init(
            id: Int64, status: String = "pending", currency: String = "USD", total: String, email: String = "buyer@example.com",
            items: [(String, Int, String, String)], shipping: [(String, String, String)] = []
        ) {
            self.id = id
            self.status = status
            self.currency = currency
            self.total = total
            self.email = email
            self.orderKey = "wc_order_key\(id)"
            self.items = items
            self.shipping = shipping
        }

        var json: String {
            func string(_ text: String) -> String {
                String(decoding: try! JSONSerialization.data(withJSONObject: text, options: .fragmentsAllowed), as: UTF8.self)
            }
            let lines = items.enumerated().map { index, item in
                #"{"id":\#(index + 1),"name":\#(string(item.0)),"quantity":\#(item.1),"total":"\#(item.2)","total_tax":"\#(item.3)"}"#
            }.joined(separator: ",")
            let shippingLines = shipping.enumerated().map { index, line in
                #"{"id":\#(index + 100),"method_title":\#(string(line.0)),"total":"\#(line.1)","total_tax":"\#(line.2)"}"#
            }.joined(separator: ",")
            return """
                {"id":\(id),"status":"\(status)","currency":"\(currency)","total":"\(total)","order_key":"\(orderKey)",
                 "transaction_id":"\(transactionID)","billing":{"first_name":"Ada","email":\(string(email))},
                 "line_items":[\(lines)],"shipping_lines":[\(shippingLines)],"fee_lines":[],
                 "refunds":[\(refunds.enumerated().map { #"{"id":\#($0.offset + 500),"total":"-\#($0.element)"}"# }.joined(separator: ","))]}
                """
        }
    }

    /// The shop's orders, shared with the server's connection threads.
    private final class Orders: Sendable {
        let table = Mutex<[Int64: Order]>([:])
    }

    private let orders = Orders()
    private let server: LoopbackHTTPServer

    public init() throws {
        let orders = self.orders
        server = try LoopbackHTTPServer { request in
            let expected = "Basic " + Data("\(FakeWooCommerceServer.consumerKey):\(FakeWooCommerceServer.consumerSecret)".utf8).base64EncodedString()
            guard request.headers["authorization"] == expected else {
                return .json(401, #"{"code":"woocommerce_rest_cannot_view","message":"Sorry, you cannot view this resource.","data":{"status":401}}"#)
            }
            let parts = request.path.split(separator: "/").map(String.init)  // wp-json wc v3 orders ID [refunds]
            guard parts.count >= 5, parts[0...3] == ["wp-json", "wc", "v3", "orders"], let id = Int64(parts[4]) else {
                return .json(404, #"{"code":"rest_no_route","message":"No route was found matching the URL and request method.","data":{"status":404}}"#)
            }
            return orders.table.withLock { table -> LoopbackHTTPServer.Response in
                guard var order = table[id] else {
                    return .json(404, #"{"code":"woocommerce_rest_shop_order_invalid_id","message":"Invalid ID.","data":{"status":404}}"#)
                }
                let body = (try? JSONSerialization.jsonObject(with: Data(request.body))) as? [String: Any] ?? [:]
                switch (request.method, parts.count) {
                case ("GET", 5):
                    return .json(200, order.json)
                case ("PUT", 5):
                    if body["set_paid"] as? Bool == true { order.status = "processing" }
                    if let transaction = body["transaction_id"] as? String { order.transactionID = transaction }
                    if let status = body["status"] as? String { order.status = status }
                    table[id] = order
                    return .json(200, order.json)
                case ("POST", 6) where parts[5] == "refunds":
                    guard let amount = body["amount"] as? String, body["api_refund"] as? Bool == false else {
                        return .json(400, #"{"code":"woocommerce_rest_invalid_refund","message":"Refund failed.","data":{"status":400}}"#)
                    }
                    order.refunds.append(amount)
                    let cents = { (text: String) in Int(((Double(text) ?? 0) * 100).rounded()) }
                    if order.refunds.map(cents).reduce(0, +) >= cents(order.total) { order.status = "refunded" }
                    table[id] = order
                    return .json(201, #"{"id":\#(order.refunds.count + 500),"amount":"\#(amount)","refunded_payment":false}"#)
                default:
                    return .json(404, #"{"code":"rest_no_route","message":"No route was found matching the URL and request method.","data":{"status":404}}"#)
                }
            }
        }
    }

    public var baseURL: String { server.baseURL }
    public var requests: [LoopbackHTTPServer.Request] { server.requests }

    /// Adds or replaces an order.
    public func put(_ order: Order) { orders.table.withLock { $0[order.id] = order } }

    /// Changes an order as the shop would (a buyer editing the cart, an admin cancelling it).
    public func change(_ id: Int64, _ body: (inout Order) -> Void) {
        orders.table.withLock {
            if var order = $0[id] {
                body(&order)
                $0[id] = order
            }
        }
    }

    public func order(_ id: Int64) -> Order? { orders.table.withLock { $0[id] } }
}
