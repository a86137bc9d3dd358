import Foundation
import MariaStore

/// `POST /checkout/woocommerce` — pays a WooCommerce order through Stripe Checkout (the
/// WordPress server, with the API key, sends `order_id`). The service reads the order from the
/// shop's REST API itself — status, total, currency, lines, billing email, never from the
/// caller — refuses anything but an order awaiting payment, and creates a session whose lines
/// add up exactly to the order's total. The session is bound to the order in our record; when
/// it is paid, the order is marked paid only if it is still pending at that total.
public enum WooCommerceCheckout {
    public static func create(_ request: Request, _ context: Context) throws -> Response {
        try APIKeyCheck.require(request, context)
        let fields = try RequestFields(request)
        let id = try fields.integer("order_id", in: 1...Int64(Int32.max))
        let shop = WooCommerceClient(settings: context.configuration.woocommerce)
        let order = try shop.order(id)
        guard order.status == "pending" else {
            throw APIError.orderNotPayable("WooCommerce order \(id) is \(order.status), not pending payment")
        }
        guard order.total > 0 else { throw APIError.orderNotPayable("WooCommerce order \(id) has nothing to pay") }
        let lines = order.checkoutLines
        // WooCommerce's own thank-you page is where its buyers expect to land.
        let received = context.configuration.woocommerce.url.flatMap { base in
            order.orderKey.map { "\(base)/checkout/order-received/\(id)/?key=\(FormEncoding.escape($0))" }
        }
        let (successURL, cancelURL) = try CheckoutEndpoints.redirectURLs(fields, context: context, defaultSuccess: received)

        var form: [(String, String)] = [("mode", "payment")]
        for (index, line) in lines.enumerated() {
            form += [
                ("line_items[\(index)][price_data][currency]", order.currency.lowercased()),
                ("line_items[\(index)][price_data][unit_amount]", String(line.amount)),
                ("line_items[\(index)][price_data][product_data][name]", line.name),
                ("line_items[\(index)][quantity]", "1"),
            ]
        }
        form += [
            ("success_url", successURL), ("cancel_url", cancelURL), ("client_reference_id", "wc_order_\(id)"),
            ("metadata[woocommerce_order]", String(id)),
        ]
        let email = order.email.flatMap { $0.utf8.count <= 254 && $0.contains("@") ? $0 : nil }
        form += try CheckoutEndpoints.buyer(email: email, stripeCustomer: nil, subscription: false, trusted: true, context: context)
        // The order id, total and lines are in the form: the same order asks for the same
        // session until it changes.
        let key = try IdempotencyKey.forServerCall("woocommerce", form: form, request: request, hasOwnReference: true)
        let session = try CheckoutEndpoints.startSession(
            form: form, idempotencyKey: key, context: context,
            record: CheckoutRepository.Checkout(
                stripeID: "", kind: .session, amount: order.total, currency: order.currency, wooCommerceOrder: id))
        return .json(
            .object([
                "id": .string(session.id), "url": .string(session.url), "order_id": .int(id),
                "amount": .int(order.total), "currency": .string(order.currency),
            ]))
    }
}
