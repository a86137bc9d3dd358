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
            guard let known = try store.withConnection({ try CustomerRepository($0, prefix: store.prefix).latestStripeCustomer(email: reference) }) else {
                throw APIError.notFound(message: "no Stripe customer is known for this email")
            }
            customer = known
        }
        let form = [("customer", customer), ("return_url", returnURL)]
        // One customer's repeated request within a minute gets the same portal session.
        let key = IdempotencyKey.derive("portal", form: form, scope: String(IdempotencyKey.minute(context)))
        let session = try context.stripe.post("/v1/billing_portal/sessions", form: form, idempotencyKey: key)
        guard let url = try? session.string("url") else {
            throw APIError.upstream("Stripe's answer was not a portal session")
        }
        return .json(.object(["url": .string(url)]))
    }

    /// `POST /payments/intents` — a PaymentIntent for a catalogue product (Stripe Elements);
    /// its metadata names the product, so `payment_intent.succeeded` fulfils it.
    public static func createIntent(_ request: Request, _ context: Context) throws -> Response {
        try APIKeyCheck.require(request, context)
        let fields = try RequestFields(request)
        let name = try fields.string("product", maxLength: 64)
        let quantity = fields.values["quantity"] == nil ? 1 : try fields.integer("quantity", in: 1...Int64(context.configuration.checkout.maxQuantity))
        let email = try CheckoutEndpoints.customerEmail(fields)
        let reference = try CheckoutEndpoints.clientReference(fields, fromServer: true)
        try IdempotencyKey.requireServerKey(request, hasOwnReference: reference != nil)
        let store = context.store
        guard let product = try store.withConnection({ try ProductRepository($0, prefix: store.prefix).named(name) }), let price = product.stripePriceID else {
            throw APIError.invalidRequest("product \(name) is not in the catalogue with a Stripe price")
        }
        guard product.kind != .subscription else { throw APIError.invalidRequest("subscriptions are sold through /checkout/session") }
        // The amount comes from Stripe's price, never from the caller.
        let priceObject = try context.stripe.get("/v1/prices/\(FormEncoding.escape(price))")
        guard let unit = try? priceObject.int("unit_amount"), let currency = try? priceObject.string("currency"), currency.utf8.count == 3 else {
            throw APIError.upstream("the Stripe price has no fixed unit amount")
        }
        let (amount, overflow) = unit.multipliedReportingOverflow(by: quantity)
        guard !overflow, amount > 0 else { throw APIError.invalidRequest("the amount for \(quantity) × \(name) is out of range") }
        var form: [(String, String)] = [
            ("amount", String(amount)), ("currency", currency), ("automatic_payment_methods[enabled]", "true"),
            ("metadata[product]", product.product), ("metadata[quantity]", String(quantity)),
        ]
        if let reference { form.append(("metadata[client_reference_id]", reference)) }
        if let email { form.append(("receipt_email", email)) }
        // The buyer's existing Stripe customer, so their payments stay together.
        if let customer = try CheckoutEndpoints.serverNamedCustomer(fields)
            ?? email.flatMap({ email in
                try store.withConnection { try CustomerRepository($0, prefix: store.prefix).latestStripeCustomer(email: email) }
            })
        {
            form.append(("customer", customer))
        }
        let key = try IdempotencyKey.forServerCall("intent", form: form, request: request, hasOwnReference: reference != nil)
        let intent = try context.stripe.post("/v1/payment_intents", form: form, idempotencyKey: key)
        guard let id = try? intent.string("id"), id.hasPrefix("pi_"), let secret = try? intent.string("client_secret") else {
            throw APIError.upstream("Stripe's answer was not a PaymentIntent")
        }
        // What this PaymentIntent sells, so that its payment is checked against it.
        try store.transaction {
            try CheckoutRepository($0, prefix: store.prefix).record(
                CheckoutRepository.Checkout(
                    stripeID: id, kind: .intent, product: product.product, priceID: price, quantity: Int(quantity), amount: amount,
                    currency: currency.uppercased()), now: context.clock.now)
        }
        return .json(
            .object([
                "id": .string(id), "client_secret": .string(secret), "amount": .int(amount), "currency": .string(currency.uppercased()),
            ]))
    }

    /// `GET /payments?customer=EMAIL|cus_…` — a customer's orders, newest first.
    public static func list(_ request: Request, _ context: Context) throws -> Response {
        try APIKeyCheck.require(request, context)
        guard let reference = request.queryItems.first(where: { $0.name == "customer" })?.value, !reference.isEmpty else {
            throw APIError.invalidRequest("customer is required (an email address or a Stripe customer id)")
        }
        let store = context.store
        let items = try store.withConnection { connection -> [JSONValue] in
            guard let customer = try CustomerRepository(connection, prefix: store.prefix).find(reference: reference) else { return [] }
            let grants = GrantRepository(connection, prefix: store.prefix)
            return try OrderRepository(connection, prefix: store.prefix).orders(customerID: customer).map { order in
                try describe(order, grants: grants.grants(orderID: order.id), payment: nil, history: nil)
            }
        }
        return .json(.object(["customer": .string(reference), "payments": .array(items)]))
    }

    /// `GET /payments/{id}` — one payment (PaymentIntent or Checkout Session id): status and history.
    public static func show(_ request: Request, _ context: Context) throws -> Response {
        try APIKeyCheck.require(request, context)
        let id = request.pathParameters["id"] ?? ""
        let store = context.store
        let found = try store.withConnection { connection -> JSONValue? in
            let orders = OrderRepository(connection, prefix: store.prefix)
            let payments = PaymentRepository(connection, prefix: store.prefix)
            let order = id.hasPrefix("cs_") ? try orders.find(sessionID: id) : try orders.lock(paymentIntent: id) ?? orders.find(sessionID: id)
            let intent = order?.paymentIntent ?? (id.hasPrefix("pi_") ? id : nil)
            let payment = try intent.flatMap { try payments.find($0) }
            guard order != nil || payment != nil else { return nil }
            let grants = try order.map { try GrantRepository(connection, prefix: store.prefix).grants(orderID: $0.id) } ?? []
            return try describe(order, grants: grants, payment: payment, history: intent.map { try payments.statusHistory($0) })
        }
        guard let found else { throw APIError.notFound(message: "no payment \(id)") }
        return .json(found)
    }

    static func describe(
        _ order: OrderRepository.Order?, grants: [GrantRepository.Grant], payment: PaymentRepository.Payment?,
        history: [String]?
    ) throws -> JSONValue {
        var pairs: [(String, JSONValue)] = []
        if let order {
            pairs += [
                ("order", .string(order.sessionID)), ("status", .string(order.status.rawValue)), ("amount", .int(order.amountTotal)),
                ("amount_refunded", .int(order.amountRefunded)), ("currency", .string(order.currency)),
                ("payment_intent", order.paymentIntent.map(JSONValue.string) ?? .null),
                ("client_reference_id", order.clientReferenceID.map(JSONValue.string) ?? .null),
                ("created_at", order.createdAt.map { .string(ISOTime.string($0)) } ?? .null),
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

    /// `POST /refunds` — admin key and `Idempotency-Key`; refunds a payment fully or partly
    /// through Stripe. The request is recorded (and audited) before Stripe is called, under the
    /// caller's key: a retry after a timeout or a 5xx — even one that came after Stripe had
    /// refunded — is the same request with the same Stripe idempotency key, so never a second
    /// refund. The change of state itself arrives by webhook (`charge.refunded`).
    public static func refund(_ request: Request, _ context: Context) throws -> Response {
        try APIKeyCheck.require(
            request, key: context.configuration.api.adminKey,
            unset: "refunds through the API are not enabled (api.admin_key)",
            wrong: "the admin API key is required for refunds")
        guard let callerKey = try IdempotencyKey.callerKey(of: request), callerKey.utf8.count <= 191 else {
            throw APIError.invalidRequest("refunds need an Idempotency-Key header (1 to 191 characters), so that a retry can never refund twice")
        }
        let fields = try RequestFields(request)
        let intent = try fields.string("payment_intent", maxLength: 255)
        guard intent.hasPrefix("pi_") else { throw APIError.invalidRequest("payment_intent must be a PaymentIntent id (pi_…)") }
        let amount = fields.values["amount"] == nil ? nil : try fields.integer("amount", in: 1...100_000_000_000)
        let reason = fields.values["reason"].flatMap { $0.isEmpty ? nil : $0 }
        if let reason {
            guard ["duplicate", "fraudulent", "requested_by_customer"].contains(reason) else {
                throw APIError.invalidRequest("reason must be duplicate, fraudulent or requested_by_customer")
            }
        }

        let outcome = try Refunding(context: context).refund(
            paymentIntent: intent, amount: amount, reason: reason, callerKey: callerKey,
            actor: "api-admin")
        var response = Response.json(.object(["id": .string(outcome.refund), "status": .string(outcome.status), "amount": .int(outcome.amount)]))
        if outcome.replayed { response.headers.add("Idempotent-Replayed", "true") }
        return response
    }
}
