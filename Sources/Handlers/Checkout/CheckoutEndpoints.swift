import Foundation
import MariaStore

/// `POST /checkout/session` — sends a buyer to Stripe Checkout for a catalogue product.
///
/// Two callers: the WordPress/WooCommerce server with the API key and JSON (answered
/// `{"id", "url"}`), and a "Buy" form on a WordPress page (no secret possible there; answered
/// `303 See Other` to Stripe). Prices always come from the catalogue, never from the caller.
public enum CheckoutEndpoints {
    public static func createSession(_ request: Request, _ context: Context) throws -> Response {
        let fromServer = request.headers["authorization"] != nil
        if fromServer { try APIKeyCheck.require(request, context) }
        do {
            let session = try create(request, context: context, fromServer: fromServer)
            if fromServer { return .json(.object(["id": .string(session.id), "url": .string(session.url)])) }
            return Response(status: .seeOther, headers: HTTPHeaders([("Location", session.url)]))
        } catch let error as APIError where !fromServer {
            // A browser gets a page, not JSON.
            return HTMLPage.error(status: error.status, title: "We could not start the checkout", message: error.message, context: context)
        }
    }

    struct Created {
        let id: String
        let url: String
    }

    static func create(_ request: Request, context: Context, fromServer: Bool) throws -> Created {
        let settings = context.configuration.checkout
        let fields = try RequestFields(request)
        let productName = try fields.string("product", maxLength: 64)
        let quantity = fields.values["quantity"] == nil ? 1 : Int(try fields.integer("quantity", in: 1...Int64(settings.maxQuantity)))
        let email = fields.values["customer_email"].flatMap { $0.isEmpty ? nil : $0 }
        if let email, !email.contains("@") || email.count > 254 { throw APIError.invalidRequest("customer_email is not an email address") }
        let reference = fields.values["client_reference_id"].flatMap { $0.isEmpty ? nil : $0 }
        if let reference, reference.count > 200 || !reference.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.:".contains($0)) }) {
            throw APIError.invalidRequest("client_reference_id must be up to 200 letters, digits, '-', '_', '.' or ':'")
        }
        let metadata = try Self.metadata(request: request, fields: fields)

        var allowed = settings.allowedOrigins
        if let own = settings.publicURL.flatMap(CheckoutURLs.origin(of:)) { allowed.append(own) }
        let successURL = fields.values["success_url"].flatMap { $0.isEmpty ? nil : $0 }
            ?? settings.publicURL.map { $0 + "/checkout/success?session_id={CHECKOUT_SESSION_ID}" }
        let cancelURL = fields.values["cancel_url"].flatMap { $0.isEmpty ? nil : $0 } ?? settings.returnURL
        guard let successURL, let cancelURL else {
            throw APIError.invalidRequest("success_url and cancel_url are required (or set checkout.public_url and checkout.return_url)")
        }
        for (name, url) in [("success_url", successURL), ("cancel_url", cancelURL)] where !CheckoutURLs.isAllowed(url, origins: allowed) {
            throw APIError.invalidRequest("\(name) must be on one of the allowed origins (checkout.allowed_origins)")
        }

        let store = context.store
        guard let product = try store.unitOfWork({ try ProductRepository($0, prefix: store.prefix).named(productName) }) else {
            throw APIError.invalidRequest("product \(productName) is not in the catalogue")
        }
        guard let price = product.stripePriceID else { throw APIError.invalidRequest("product \(productName) has no Stripe price") }

        var form: [(String, String)] = [
            ("mode", product.kind == .subscription ? "subscription" : "payment"),
            ("line_items[0][price]", price), ("line_items[0][quantity]", String(quantity)),
            ("success_url", successURL), ("cancel_url", cancelURL),
            ("metadata[product]", product.product), ("metadata[quantity]", String(quantity)),
        ]
        for key in metadata.keys.sorted() { form.append(("metadata[\(key)]", metadata[key]!)) }
        if let reference { form.append(("client_reference_id", reference)) }
        if let email { form.append(("customer_email", email)) }
        if product.allowPromotionCodes { form.append(("allow_promotion_codes", "true")) }

        let idempotencyKey = IdempotencyKey.derive("checkout", form: form,
                                                   scope: IdempotencyKey.scope(of: request, context: context, hasOwnReference: reference != nil))

        do {
            let session = try context.stripe.post("/v1/checkout/sessions", form: form, idempotencyKey: idempotencyKey)
            return Created(id: try session.string("id"), url: try session.string("url"))
        } catch let failure as StripeClient.Failure {
            throw upstream(failure, context: context)
        } catch is JSONObject.ShapeError {
            throw APIError(.badGateway, code: "upstream_error", message: "Stripe's answer had no session id and url")
        }
    }

    /// Free metadata: JSON `metadata` object or form `metadata[key]` fields; bounded as Stripe
    /// bounds it, and our own keys reserved.
    static func metadata(request: Request, fields: RequestFields) throws -> [String: String] {
        var metadata: [String: String] = [:]
        if request.mediaType == "application/json" {
            if let object = try? JSONObject.parse(request.body).optionalObject("metadata") {
                for (key, value) in object.storage {
                    guard case .string(let text) = value else { throw APIError.invalidRequest("metadata.\(key) must be a string") }
                    metadata[key] = text
                }
            }
        } else {
            for (name, value) in fields.values where name.hasPrefix("metadata[") && name.hasSuffix("]") {
                metadata[String(name.dropFirst(9).dropLast())] = value
            }
        }
        guard metadata.count <= 20 else { throw APIError.invalidRequest("metadata has more than 20 keys") }
        for (key, value) in metadata {
            guard !key.isEmpty, key.count <= 40, value.count <= 500 else {
                throw APIError.invalidRequest("metadata keys must be 1 to 40 characters and values at most 500")
            }
            guard !["product", "quantity"].contains(key) else { throw APIError.invalidRequest("metadata.\(key) is reserved") }
        }
        return metadata
    }

    /// Stripe's refusal or absence, as our caller should see it (502, Stripe's message kept).
    static func upstream(_ failure: StripeClient.Failure, context: Context) -> APIError {
        context.logger.error("Stripe API call failed", metadata: ["error": "\(failure)"])
        if case .notConfigured = failure {
            return APIError.unavailable("Stripe is not configured on the server (stripe.secret_key)", retryAfterSeconds: 60)
        }
        return APIError(.badGateway, code: "upstream_error", message: failure.description)
    }
}
