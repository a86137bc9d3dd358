import Foundation
import MariaStore

/// `POST /checkout/session` — sends a buyer to Stripe Checkout for a catalogue product.
///
/// Two callers: the WordPress/WooCommerce server with the API key and JSON (answered
/// `{"id", "url"}`), and a "Buy" form on a WordPress page (no secret possible there; answered
/// `303 See Other` to Stripe, with the cookie that later proves this browser started the
/// checkout). Prices always come from the catalogue, never from the caller; only the server
/// may attach a reference of its own; every session is recorded with what it sells.
public enum CheckoutEndpoints {
    public static func createSession(_ request: Request, _ context: Context) throws -> Response {
        if request.headers["authorization"] != nil {
            try APIKeyCheck.require(request, context)
            let session = try create(request, context: context, browserToken: nil)
            return .json(.object(["id": .string(session.id), "url": .string(session.url)]))
        }
        let token = BrowserProof.token(in: request) ?? BrowserProof.newToken(context.random)
        do {
            let session = try create(request, context: context, browserToken: token)
            return Response(
                status: .seeOther, headers: HTTPHeaders([("Location", session.url), ("Set-Cookie", BrowserProof.setCookie(token, context: context))]))
        } catch {
            // A browser gets a page, not JSON, and never another system's raw error text.
            return HTMLPage.failure(error, title: "We could not start the checkout", context: context)
        }
    }

    struct Created {
        let id: String
        let url: String
    }

    /// Creates the session; `browserToken` is nil for the server's call.
    static func create(_ request: Request, context: Context, browserToken: String?) throws -> Created {
        let settings = context.configuration.checkout
        let fields = try RequestFields(request)
        let productName = try fields.string("product", maxLength: 64)
        let quantity = fields.values["quantity"] == nil ? 1 : Int(try fields.integer("quantity", in: 1...Int64(settings.maxQuantity)))
        let email = try customerEmail(fields)
        let reference = try clientReference(fields, fromServer: browserToken == nil)
        let metadata = try Self.metadata(request: request, fields: fields)
        let (successURL, cancelURL) = try redirectURLs(fields, context: context)
        if browserToken == nil { try IdempotencyKey.requireServerKey(request, hasOwnReference: reference != nil) }

        let store = context.store
        guard let product = try store.withConnection({ try ProductRepository($0, prefix: store.prefix).named(productName) }) else {
            throw APIError.invalidRequest("product \(productName) is not in the catalogue")
        }
        guard let price = product.stripePriceID else { throw APIError.invalidRequest("product \(productName) has no Stripe price") }

        var form: [(String, String)] = [
            ("mode", product.kind == .subscription ? "subscription" : "payment"),
            ("line_items[0][price]", price), ("line_items[0][quantity]", String(quantity)),
            ("success_url", successURL), ("cancel_url", cancelURL),
            ("metadata[product]", product.product), ("metadata[quantity]", String(quantity)),
        ]
        for key in metadata.keys.sorted() { form.append(("metadata[\(key)]", metadata[key] ?? "")) }
        if let reference { form.append(("client_reference_id", reference)) }
        form += try buyer(
            email: email, stripeCustomer: browserToken == nil ? try serverNamedCustomer(fields) : nil,
            subscription: product.kind == .subscription, trusted: browserToken == nil, context: context)
        if product.allowPromotionCodes { form.append(("allow_promotion_codes", "true")) }

        let idempotencyKey =
            browserToken == nil
            ? try IdempotencyKey.forServerCall("checkout", form: form, request: request, hasOwnReference: reference != nil)
            : IdempotencyKey.fresh("checkout", random: context.random)
        return try startSession(
            form: form, idempotencyKey: idempotencyKey, context: context,
            record: CheckoutRepository.Checkout(
                stripeID: "", kind: .session, product: product.product, priceID: price, quantity: quantity,
                browserProof: browserToken.map(BrowserProof.hash)))
    }

    /// Asks Stripe for the session and records it with what it sells (`record`, whose
    /// `stripeID` is filled in here).
    static func startSession(
        form: [(String, String)], idempotencyKey: String, context: Context,
        record: CheckoutRepository.Checkout
    ) throws -> Created {
        let session = try context.stripe.post("/v1/checkout/sessions", form: form, idempotencyKey: idempotencyKey)
        let created: Created
        do {
            created = Created(id: try session.string("id"), url: try session.string("url"))
        } catch {
            throw APIError.upstream("Stripe's answer had no session id and url")
        }
        guard SuccessPage.isSessionID(created.id) else {
            throw APIError.upstream("Stripe's answer had no valid session id")
        }
        var record = record
        record.stripeID = created.id
        let store = context.store
        try store.transaction { try CheckoutRepository($0, prefix: store.prefix).record(record, now: context.clock.now) }
        return created
    }

    /// Who pays, as Stripe should know them. The shop's server (which has signed its buyer in)
    /// gets the buyer's existing Stripe customer reused, so one buyer stays one Stripe customer;
    /// a browser's word is not enough for that (Checkout would show that customer's saved
    /// payment methods to whoever typed the address). A new buyer in payment mode gets a Stripe
    /// customer too (`customer_creation=always`), so every buyer has one; subscriptions always do.
    static func buyer(email: String?, stripeCustomer named: String?, subscription: Bool, trusted: Bool, context: Context) throws -> [(String, String)] {
        if trusted {
            let store = context.store
            let known =
                try named
                ?? email.flatMap { email in
                    try store.withConnection { try CustomerRepository($0, prefix: store.prefix).latestStripeCustomer(email: email) }
                }
            if let known { return [("customer", known)] }
        }
        var form: [(String, String)] = []
        if let email { form.append(("customer_email", email)) }
        if !subscription { form.append(("customer_creation", "always")) }
        return form
    }

    /// A server's `customer` field naming a Stripe customer this service knows (`cus_…`).
    static func serverNamedCustomer(_ fields: RequestFields) throws -> String? {
        guard let named = fields.values["customer"].flatMap({ $0.isEmpty ? nil : $0 }) else { return nil }
        guard named.hasPrefix("cus_"), named.utf8.count <= 255,
            named.utf8.allSatisfy({ (48...57).contains($0) || (65...90).contains($0) || (97...122).contains($0) || $0 == 95 })
        else {
            throw APIError.invalidRequest("customer must be a Stripe customer id (cus_…); use customer_email for an address")
        }
        return named
    }

    /// `customer_email`: an address of at most 254 characters, or nothing.
    static func customerEmail(_ fields: RequestFields) throws(APIError) -> String? {
        guard let email = fields.values["customer_email"]?.trimmingWhitespace(), !email.isEmpty else { return nil }
        guard email.utf8.count <= 254, email.contains("@"), !email.contains(where: { $0.isWhitespace || $0.asciiValue.map { $0 < 32 } == true }) else {
            throw APIError.invalidRequest("customer_email is not an email address")
        }
        return email
    }

    /// `client_reference_id`: the shop's own reference, from its server only. A browser may
    /// not bind a checkout to anything (DESIGN §5); a WooCommerce order is bound only by
    /// `POST /checkout/woocommerce`, which reads the order's total itself.
    static func clientReference(_ fields: RequestFields, fromServer: Bool) throws(APIError) -> String? {
        guard let reference = fields.values["client_reference_id"].flatMap({ $0.isEmpty ? nil : $0 }) else { return nil }
        guard fromServer else {
            throw APIError.invalidRequest("client_reference_id can only be set by the shop's server (with the API key)")
        }
        guard reference.utf8.count <= 200, reference.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.:".contains($0)) }) else {
            throw APIError.invalidRequest("client_reference_id must be up to 200 letters, digits, '-', '_', '.' or ':'")
        }
        if reference.hasPrefix("wc_order_") {
            throw APIError.invalidRequest("a WooCommerce order is paid through POST /checkout/woocommerce, which reads its total from the shop")
        }
        return reference
    }

    /// Metadata keys this service sets itself.
    static let reservedMetadata: Set<String> = ["product", "quantity", "woocommerce_order"]

    /// Free metadata: JSON `metadata` object or form `metadata[key]` fields; bounded as Stripe
    /// bounds it, keys of plain characters only (a key such as `quantity]` would be read by
    /// Stripe as another key), and our own keys reserved.
    static func metadata(request: Request, fields: RequestFields) throws -> [String: String] {
        var metadata: [String: String] = [:]
        if request.mediaType == "application/json" {
            guard let body = try? JSONObject.parse(request.body) else { throw APIError.invalidRequest("the body is not a JSON object") }
            if body.has("metadata") {
                guard let object = try? body.object("metadata") else { throw APIError.invalidRequest("metadata must be an object of strings") }
                for (key, value) in object.storage {
                    guard case .string(let text) = value else { throw APIError.invalidRequest("metadata values must be strings") }
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
            guard (1...40).contains(key.utf8.count), key.utf8.allSatisfy(isMetadataKeyByte) else {
                throw APIError.invalidRequest("metadata keys must be 1 to 40 letters, digits, '_', '.' or '-'")
            }
            guard value.count <= 500 else { throw APIError.invalidRequest("metadata values must be at most 500 characters") }
            guard !reservedMetadata.contains(key) else { throw APIError.invalidRequest("metadata.\(key) is reserved") }
        }
        return metadata
    }

    private static func isMetadataKeyByte(_ byte: UInt8) -> Bool {
        switch byte {
        case 48...57, 65...90, 97...122, UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "-"): return true
        default: return false
        }
    }

    /// Where Stripe sends the buyer after paying or cancelling: given, or the configured
    /// defaults; always on an allowed origin.
    static func redirectURLs(_ fields: RequestFields, context: Context, defaultSuccess: String? = nil) throws(APIError) -> (success: String, cancel: String) {
        let settings = context.configuration.checkout
        var allowed = settings.allowedOrigins
        if let own = settings.publicURL.flatMap(CheckoutURLs.origin(of:)) { allowed.append(own) }
        if let shop = context.configuration.woocommerce.url.flatMap(CheckoutURLs.origin(of:)) { allowed.append(shop) }
        let successURL =
            fields.values["success_url"].flatMap { $0.isEmpty ? nil : $0 } ?? defaultSuccess
            ?? settings.publicURL.map { $0 + "/checkout/success?session_id={CHECKOUT_SESSION_ID}" }
        let cancelURL = fields.values["cancel_url"].flatMap { $0.isEmpty ? nil : $0 } ?? settings.returnURL
        guard let successURL, let cancelURL else {
            throw APIError.invalidRequest("success_url and cancel_url are required (or set checkout.public_url and checkout.return_url)")
        }
        for (name, url) in [("success_url", successURL), ("cancel_url", cancelURL)] where !CheckoutURLs.isAllowed(url, origins: allowed) {
            throw APIError.invalidRequest("\(name) must be on one of the allowed origins (checkout.allowed_origins)")
        }
        return (successURL, cancelURL)
    }
}
