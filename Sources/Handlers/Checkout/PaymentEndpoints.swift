import Foundation
import MariaStore

/// The other calls the WordPress server makes (API key): the Customer Portal, PaymentIntents
/// for Stripe Elements, payment history, and refunds (admin key).
public enum PaymentEndpoints {
    /// `POST /billing/portal` — a Customer Portal session for a customer (email or `cus_…`).
    public static func portal(_ request: Request, _ context: Context) throws -> Response {
        try APIKeyCheck.require(request, context)
        let fields = try RequestFields(request)
        let reference = try fields.string("customer", maxLength: 254)
        let returnURL = fields.values["return_url"].flatMap { $0.isEmpty ? nil : $0 } ?? context.configuration.checkout.returnURL
        guard let returnURL, CheckoutURLs.isAllowed(returnURL, origins: context.configuration.checkout.allowedOrigins) else {
            throw APIError.invalidRequest("return_url must be on one of the allowed origins (checkout.allowed_origins)")
        }
        let customer: String
        if reference.hasPrefix("cus_") {
            customer = reference
        } else {
            let store = context.store
            guard let known = try store.unitOfWork({ connection in
                try connection.queryOne("SELECT stripe_customer_id FROM \(store.prefix.table("customers")) WHERE email = ? AND stripe_customer_id IS NOT NULL ORDER BY id DESC LIMIT 1",
                                        [reference])?.string("stripe_customer_id")
            }) else {
                throw APIError(.notFound, code: "not_found", message: "no Stripe customer is known for this email")
            }
            customer = known
        }
        let form = [("customer", customer), ("return_url", returnURL)]
        let key = IdempotencyKey.derive("portal", form: form, scope: String(IdempotencyKey.minute(context)))
        do {
            let session = try context.stripe.post("/v1/billing_portal/sessions", form: form, idempotencyKey: key)
            return .json(.object(["url": .string(try session.string("url"))]))
        } catch let failure as StripeClient.Failure {
            throw CheckoutEndpoints.upstream(failure, context: context)
        }
    }

    /// `POST /payments/intents` — a PaymentIntent for a catalogue product (Stripe Elements);
    /// its metadata names the product, so `payment_intent.succeeded` fulfils it.
    public static func createIntent(_ request: Request, _ context: Context) throws -> Response {
        try APIKeyCheck.require(request, context)
        let fields = try RequestFields(request)
        let name = try fields.string("product", maxLength: 64)
        let quantity = fields.values["quantity"] == nil ? 1 : try fields.integer("quantity", in: 1...Int64(context.configuration.checkout.maxQuantity))
        let email = fields.values["customer_email"].flatMap { $0.isEmpty ? nil : $0 }
        let reference = fields.values["client_reference_id"].flatMap { $0.isEmpty ? nil : $0 }
        let store = context.store
        guard let product = try store.unitOfWork({ try ProductRepository($0, prefix: store.prefix).named(name) }), let price = product.stripePriceID else {
            throw APIError.invalidRequest("product \(name) is not in the catalogue with a Stripe price")
        }
        guard product.kind != .subscription else { throw APIError.invalidRequest("subscriptions are sold through /checkout/session") }
        do {
            // The amount comes from Stripe's price, never from the caller.
            let priceObject = try context.stripe.get("/v1/prices/\(FormEncoding.escape(price))")
            guard let unit = try? priceObject.int("unit_amount"), let currency = try? priceObject.string("currency") else {
                throw APIError(.badGateway, code: "upstream_error", message: "the Stripe price has no fixed unit amount")
            }
            var form: [(String, String)] = [
                ("amount", String(unit * quantity)), ("currency", currency), ("automatic_payment_methods[enabled]", "true"),
                ("metadata[product]", product.product), ("metadata[quantity]", String(quantity)),
            ]
            if let reference { form.append(("metadata[client_reference_id]", reference)) }
            if let email { form.append(("receipt_email", email)) }
            let key = IdempotencyKey.derive("intent", form: form,
                                            scope: IdempotencyKey.scope(of: request, context: context, hasOwnReference: reference != nil))
            let intent = try context.stripe.post("/v1/payment_intents", form: form, idempotencyKey: key)
            return .json(.object([
                "id": .string(try intent.string("id")), "client_secret": .string(try intent.string("client_secret")),
                "amount": .int(unit * quantity), "currency": .string(currency.uppercased()),
            ]))
        } catch let failure as StripeClient.Failure {
            throw CheckoutEndpoints.upstream(failure, context: context)
        } catch is JSONObject.ShapeError {
            throw APIError(.badGateway, code: "upstream_error", message: "Stripe's answer was not a PaymentIntent")
        }
    }

    /// `GET /payments?customer=EMAIL|cus_…` — a customer's orders, newest first.
    public static func list(_ request: Request, _ context: Context) throws -> Response {
        try APIKeyCheck.require(request, context)
        guard let reference = request.queryItems.first(where: { $0.name == "customer" })?.value, !reference.isEmpty else {
            throw APIError.invalidRequest("customer is required (an email address or a Stripe customer id)")
        }
        let store = context.store
        let items = try store.unitOfWork { connection -> [JSONValue] in
            guard let customer = try CustomerRepository(connection, prefix: store.prefix).find(reference: reference) else { return [] }
            let grants = GrantRepository(connection, prefix: store.prefix)
            return try OrderRepository(connection, prefix: store.prefix).orders(customerID: customer).map { order in
                try describe(order, grants: grants.grants(orderID: order.id), payment: nil, history: nil)
            }
        }
        return .json(.object(["customer": .string(reference), "payments": .array(items)]))
    }

    /// `GET /payments/{id}` — one payment (PaymentIntent or Checkout Session id): status and history.
    public static func show(_ request: Request, _ context: Context, id: String) throws -> Response {
        try APIKeyCheck.require(request, context)
        let store = context.store
        let found = try store.unitOfWork { connection -> JSONValue? in
            let orders = OrderRepository(connection, prefix: store.prefix)
            let payments = PaymentRepository(connection, prefix: store.prefix)
            let order = id.hasPrefix("cs_") ? try orders.find(sessionID: id) : try orders.lock(paymentIntent: id) ?? orders.find(sessionID: id)
            let intent = order?.paymentIntent ?? (id.hasPrefix("pi_") ? id : nil)
            let payment = try intent.flatMap { try payments.find($0) }
            guard order != nil || payment != nil else { return nil }
            let grants = try order.map { try GrantRepository(connection, prefix: store.prefix).grants(orderID: $0.id) } ?? []
            return try describe(order, grants: grants, payment: payment, history: intent.map { try payments.statusHistory($0) })
        }
        guard let found else { throw APIError(.notFound, code: "not_found", message: "no payment \(id)") }
        return .json(found)
    }

    static func describe(_ order: OrderRepository.Order?, grants: [GrantRepository.Grant], payment: PaymentRepository.Payment?,
                         history: [String]?) throws -> JSONValue {
        var pairs: [(String, JSONValue)] = []
        if let order {
            pairs += [
                ("order", .string(order.sessionID)), ("status", .string(order.status.rawValue)), ("amount", .int(order.amountTotal)),
                ("amount_refunded", .int(order.amountRefunded)), ("currency", .string(order.currency)),
                ("payment_intent", order.paymentIntent.map(JSONValue.string) ?? .null),
                ("client_reference_id", order.clientReferenceID.map(JSONValue.string) ?? .null),
                ("created_at", order.createdAt.flatMap(SQLTimestamp.date(from:)).map { .string(ISOTime.string($0)) } ?? .null),
                ("items", .array(grants.map { .object(["product": .string($0.product), "kind": .string($0.kind), "quantity": .int(Int64($0.quantity))]) })),
            ]
        }
        if let payment {
            pairs += [
                ("payment_status", .string(payment.status)),
                ("failure_code", payment.failureCode.map(JSONValue.string) ?? .null),
                ("failure_message", payment.failureMessage.map(JSONValue.string) ?? .null),
                ("receipt_url", payment.receiptURL.map(JSONValue.string) ?? .null),
            ]
            if order == nil {
                pairs += [("amount", .int(payment.amount)), ("amount_refunded", .int(payment.amountRefunded)), ("currency", .string(payment.currency))]
            }
        }
        if let history { pairs.append(("history", .array(history.map(JSONValue.string)))) }
        return .object(pairs)
    }

    /// `POST /refunds` — admin key; refunds a payment fully or partly through Stripe. The
    /// change of state itself arrives by webhook (`charge.refunded`).
    public static func refund(_ request: Request, _ context: Context) throws -> Response {
        try APIKeyCheck.require(request, key: context.configuration.api.adminKey,
                                unset: "refunds through the API are not enabled (api.admin_key)",
                                wrong: "the admin API key is required for refunds")
        let fields = try RequestFields(request)
        let intent = try fields.string("payment_intent", maxLength: 255)
        guard intent.hasPrefix("pi_") else { throw APIError.invalidRequest("payment_intent must be a PaymentIntent id (pi_…)") }
        var form = [("payment_intent", intent)]
        if fields.values["amount"] != nil { form.append(("amount", String(try fields.integer("amount", in: 1...100_000_000_000)))) }
        if let reason = fields.values["reason"], !reason.isEmpty {
            guard ["duplicate", "fraudulent", "requested_by_customer"].contains(reason) else {
                throw APIError.invalidRequest("reason must be duplicate, fraudulent or requested_by_customer")
            }
            form.append(("reason", reason))
        }
        let key = IdempotencyKey.derive("refund", form: form,
                                        scope: request.headers["idempotency-key"] ?? String(IdempotencyKey.minute(context)))
        do {
            let refund = try context.stripe.post("/v1/refunds", form: form, idempotencyKey: key)
            try context.store.transaction { connection in
                try AuditLog(connection, prefix: context.store.prefix).record(subject: "payment", id: intent, action: "refund_requested", before: nil,
                                                                              after: try refund.optionalString("status"), actor: "api-admin", now: context.clock.now)
            }
            return .json(.object(["id": .string(try refund.string("id")), "status": .string(try refund.string("status")),
                                  "amount": .int(try refund.int("amount"))]))
        } catch let failure as StripeClient.Failure {
            throw CheckoutEndpoints.upstream(failure, context: context)
        } catch is JSONObject.ShapeError {
            throw APIError(.badGateway, code: "upstream_error", message: "Stripe's answer was not a refund")
        }
    }
}
