import Foundation

/// Stripe events of a customer's life, in the current API shape, built from the vendored
/// fixtures with the ids, amounts and periods a scenario needs. Each event gets the next id and
/// a later `created` than the one before, as Stripe would send them over time.
public final class StripeEventBuilder: @unchecked Sendable {
    // Only the test's own thread uses a builder.
    private var clock: Int64
    private var counter = 0
    private let prefix: String

    /// `start`: the scenario's first moment (Unix time); ids begin with `prefix`.
    public init(start: Int64, prefix: String) {
        clock = start
        self.prefix = prefix
    }

    private func next() -> (id: String, created: Int64) {
        counter += 1
        clock += 60
        return ("evt_\(prefix)_\(counter)", clock)
    }

    private func event(_ fixture: String, type: String, _ change: (inout [String: Any]) -> Void) throws -> [UInt8] {
        var root = try JSONSerialization.jsonObject(with: Data(StripeFixtures.load(fixture))) as? [String: Any] ?? [:]
        var data = root["data"] as? [String: Any] ?? [:]
        var object = data["object"] as? [String: Any] ?? [:]
        change(&object)
        data["object"] = object
        let (id, created) = next()
        root["data"] = data
        root["id"] = id
        root["created"] = created
        root["type"] = type
        return Array(try JSONSerialization.data(withJSONObject: root, options: [.sortedKeys]))
    }

    /// `customer.subscription.created|updated|deleted`.
    public func subscription(
        _ type: String, id: String, customer: String, status: String, price: String, quantity: Int,
        period: (start: Int64, end: Int64), cancelAtPeriodEnd: Bool = false
    ) throws -> [UInt8] {
        try event("customer.subscription.created", type: type) { object in
            object["id"] = id
            object["customer"] = customer
            object["status"] = status
            object["cancel_at_period_end"] = cancelAtPeriodEnd
            var items = object["items"] as? [String: Any] ?? [:]
            var item = (items["data"] as? [[String: Any]])?.first ?? [:]
            var priceObject = item["price"] as? [String: Any] ?? [:]
            priceObject["id"] = price
            item["price"] = priceObject
            item["quantity"] = quantity
            item["subscription"] = id
            item["current_period_start"] = period.start
            item["current_period_end"] = period.end
            items["data"] = [item]
            object["items"] = items
        }
    }

    /// One line of an invoice.
    public struct InvoiceLine: Sendable {
        public let price: String
        public let quantity: Int
        public let amount: Int64
        public let proration: Bool
        public let period: (start: Int64, end: Int64)

        public init(price: String, quantity: Int, amount: Int64, proration: Bool = false, period: (start: Int64, end: Int64)) {
            self.price = price
            self.quantity = quantity
            self.amount = amount
            self.proration = proration
            self.period = period
        }
    }

    /// `invoice.paid` (or `invoice.payment_failed`) of a subscription.
    public func invoice(
        _ type: String = "invoice.paid", id: String, subscription: String, customer: String, email: String?, reason: String,
        amountPaid: Int64, lines: [InvoiceLine]
    ) throws -> [UInt8] {
        try event("invoice.paid", type: type) { object in
            object["id"] = id
            object["customer"] = customer
            object["customer_email"] = email ?? NSNull()
            object["billing_reason"] = reason
            object["amount_paid"] = amountPaid
            object["amount_due"] = amountPaid
            object["total"] = amountPaid
            object["subtotal"] = amountPaid
            object["status"] = type == "invoice.paid" ? "paid" : "open"
            var parent = object["parent"] as? [String: Any] ?? [:]
            var details = parent["subscription_details"] as? [String: Any] ?? [:]
            details["subscription"] = subscription
            parent["subscription_details"] = details
            object["parent"] = parent
            var list = object["lines"] as? [String: Any] ?? [:]
            let template = (list["data"] as? [[String: Any]])?.first ?? [:]
            list["data"] = lines.enumerated().map { index, line -> [String: Any] in
                var item = template
                item["id"] = "il_\(id)_\(index)"
                item["invoice"] = id
                item["amount"] = line.amount
                item["quantity"] = line.quantity
                item["period"] = ["start": line.period.start, "end": line.period.end]
                var pricing = item["pricing"] as? [String: Any] ?? [:]
                var priceDetails = pricing["price_details"] as? [String: Any] ?? [:]
                priceDetails["price"] = line.price
                pricing["price_details"] = priceDetails
                item["pricing"] = pricing
                var itemParent = item["parent"] as? [String: Any] ?? [:]
                var itemDetails = itemParent["subscription_item_details"] as? [String: Any] ?? [:]
                itemDetails["proration"] = line.proration
                itemDetails["subscription"] = subscription
                itemParent["subscription_item_details"] = itemDetails
                item["parent"] = itemParent
                return item
            }
            list["has_more"] = false
            object["lines"] = list
        }
    }

    /// `checkout.session.completed` of a session (subscription or one-off).
    public func checkoutCompleted(
        session: String, mode: String, customer: String, email: String, amount: Int64, subscription: String? = nil,
        paymentIntent: String? = nil
    ) throws -> [UInt8] {
        try event(
            mode == "subscription" ? "checkout.session.completed.subscription" : "checkout.session.completed.payment_card",
            type: "checkout.session.completed"
        ) { object in
            object["id"] = session
            object["customer"] = customer
            object["customer_details"] = ["email": email]
            object["amount_total"] = amount
            object["subscription"] = subscription ?? NSNull()
            object["payment_intent"] = paymentIntent ?? NSNull()
        }
    }

    /// `charge.refunded` for a PaymentIntent's charge.
    public func chargeRefunded(paymentIntent: String, amount: Int64, refunded: Int64) throws -> [UInt8] {
        try event("charge.refunded.full", type: "charge.refunded") { object in
            object["id"] = "ch_\(paymentIntent)"
            object["payment_intent"] = paymentIntent
            object["amount"] = amount
            object["amount_captured"] = amount
            object["amount_refunded"] = refunded
            object["refunded"] = refunded >= amount
        }
    }

    /// `charge.dispute.created|updated|closed`.
    public func dispute(_ type: String, id: String, paymentIntent: String, amount: Int64, status: String) throws -> [UInt8] {
        try event("charge.dispute.created", type: type) { object in
            object["id"] = id
            object["payment_intent"] = paymentIntent
            object["charge"] = "ch_\(paymentIntent)"
            object["amount"] = amount
            object["status"] = status
        }
    }

    /// `refund.created|updated|failed`.
    public func refund(_ type: String, id: String, paymentIntent: String, amount: Int64, status: String) throws -> [UInt8] {
        try event("refund.created", type: type) { object in
            object["id"] = id
            object["payment_intent"] = paymentIntent
            object["charge"] = "ch_\(paymentIntent)"
            object["amount"] = amount
            object["status"] = status
        }
    }
}
