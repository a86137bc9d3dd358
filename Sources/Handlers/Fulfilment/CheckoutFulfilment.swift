import Foundation
import MariaStore

/// What the four `checkout.session.*` events do: the customer, the order (keyed by session
/// id) and, once paid, one grant per line. One idempotent `apply` serves the webhook (and,
/// later, the success page and reconciliation): whichever comes first does the work, the
/// others find it done.
public struct CheckoutFulfilment {
    /// A Checkout Session as far as fulfilment needs it.
    public struct Session: Sendable {
        public let id: String
        public let mode: String
        public let paymentStatus: String
        public let amountTotal: Int64
        public let currency: String
        public let stripeCustomerID: String?
        public let email: String?
        public let clientReferenceID: String?
        public let paymentIntent: String?
        public let subscription: String?
        public let metadata: [String: String]
        public let livemode: Bool

        /// A purchase that is not a Checkout Session (a PaymentIntent from Stripe Elements).
        public init(id: String, mode: String, paymentStatus: String, amountTotal: Int64, currency: String, stripeCustomerID: String?,
                    email: String?, clientReferenceID: String?, paymentIntent: String?, subscription: String?,
                    metadata: [String: String], livemode: Bool) {
            self.id = id
            self.mode = mode
            self.paymentStatus = paymentStatus
            self.amountTotal = amountTotal
            self.currency = currency
            self.stripeCustomerID = stripeCustomerID
            self.email = email
            self.clientReferenceID = clientReferenceID
            self.paymentIntent = paymentIntent
            self.subscription = subscription
            self.metadata = metadata
            self.livemode = livemode
        }

        public init(_ object: JSONObject) throws(JSONObject.ShapeError) {
            id = try object.string("id")
            mode = try object.string("mode")
            paymentStatus = try object.string("payment_status")
            amountTotal = try object.optionalInt("amount_total") ?? 0
            let currencyCode = try object.string("currency")
            guard currencyCode.utf8.count == 3, currencyCode.allSatisfy(\.isLetter) else {
                throw JSONObject.ShapeError(path: "\(object.path).currency", problem: "expected a three-letter ISO currency code")
            }
            currency = currencyCode.uppercased()
            stripeCustomerID = try object.reference("customer")
            let detailsEmail = try object.optionalObject("customer_details")?.optionalString("email")
            let sessionEmail = try object.optionalString("customer_email")
            email = detailsEmail ?? sessionEmail
            clientReferenceID = try object.optionalString("client_reference_id")
            paymentIntent = try object.reference("payment_intent")
            subscription = try object.reference("subscription")
            metadata = try object.stringMap("metadata")
            livemode = try object.optionalBool("livemode") ?? false
        }

        /// Paid, or nothing to pay (a 100 % coupon): the grants are due.
        public var isPaid: Bool { paymentStatus == "paid" || paymentStatus == "no_payment_required" }

        /// Sessions we create name the catalogue product in metadata; others need Stripe's line items.
        public var productFromMetadata: (product: String, quantity: Int)? {
            guard let product = metadata["product"], !product.isEmpty else { return nil }
            return (product, max(1, Int(metadata["quantity"] ?? "1") ?? 1))
        }
    }

    /// A purchased line: a catalogue product by name (our sessions) or a Stripe price.
    public enum LineReference: Sendable, Equatable {
        case product(String)
        case price(String)
    }

    public struct Line: Sendable, Equatable {
        public let reference: LineReference
        public let quantity: Int
    }

    let context: Context
    let actor: String

    public init(context: Context, actor: String) {
        self.context = context
        self.actor = actor
    }

    /// The lines of a paid session: from metadata, or fetched from Stripe (before any
    /// transaction is opened, so no lock is held while waiting on the network).
    public func lines(of session: Session) throws -> [Line] {
        if let fromMetadata = session.productFromMetadata {
            return [Line(reference: .product(fromMetadata.product), quantity: fromMetadata.quantity)]
        }
        return try context.stripe.checkoutSessionLineItems(session.id).map { item throws(JSONObject.ShapeError) in
            let price = try item.object("price").string("id")
            let quantity = Int(try item.optionalInt("quantity") ?? 1)
            return Line(reference: .price(price), quantity: max(1, quantity))
        }
    }

    /// Applies `proposed` (the status the event implies) to the session's order inside the
    /// caller's transaction, granting the lines once the order is paid.
    public func apply(_ session: Session, proposed: OrderRepository.Status, lines: [Line]?, on connection: Connection) throws {
        let prefix = context.store.prefix
        let now = context.clock.now
        let orders = OrderRepository(connection, prefix: prefix)
        let audit = AuditLog(connection, prefix: prefix)
        let customerID = try CustomerRepository(connection, prefix: prefix)
            .findOrCreate(stripeCustomerID: session.stripeCustomerID, email: session.email, now: now)

        var order: OrderRepository.Order
        let created: Bool
        if let existing = try orders.lock(sessionID: session.id) {
            created = false
            order = existing
            if let next = OrderTransitions.next(from: existing.status, to: proposed) {
                try orders.setStatus(existing.id, next, now: now)
                try audit.record(subject: "order", id: session.id, action: "status", before: existing.status.rawValue, after: next.rawValue, actor: actor, now: now)
                order = try orders.lock(sessionID: session.id)!
            }
        } else {
            order = try orders.insert(.init(
                sessionID: session.id, customerID: customerID, status: proposed, mode: session.mode, paymentIntent: session.paymentIntent,
                subscription: session.subscription, amountTotal: session.amountTotal, currency: session.currency,
                clientReferenceID: session.clientReferenceID, metadata: Self.metadataJSON(session.metadata), livemode: session.livemode), now: now)
            created = true
            try audit.record(subject: "order", id: session.id, action: "created", before: nil, after: proposed.rawValue, actor: actor, now: now)
        }
        guard order.status == .paid, let lines else { return }
        try grant(lines, order: order, created: created, customerID: customerID, email: session.email, connection: connection)
        try WooCommerceOrders(context: context).orderPaid(clientReferenceID: session.clientReferenceID, order: order, connection: connection)
        // Refunds, disputes or subscription changes that arrived before the order did.
        try OrderAdjustments(context: context, connection: connection, actor: actor).catchUp(order, subscription: session.subscription)
    }

    private func grant(_ lines: [Line], order: OrderRepository.Order, created: Bool, customerID: Int64, email: String?, connection: Connection) throws {
        let prefix = context.store.prefix
        let now = context.clock.now
        let grants = GrantRepository(connection, prefix: prefix)
        let products = ProductRepository(connection, prefix: prefix)
        let audit = AuditLog(connection, prefix: prefix)
        let outbox = Outbox(connection, prefix: prefix)
        // An order created in this transaction has nothing granted yet: one round trip spared.
        let done = created ? [] : try grants.grantedLines(orderID: order.id)
        var unknown: [String] = []

        for (index, line) in lines.enumerated() where !done.contains(index) {
            let product: Product?
            switch line.reference {
            case .product(let name): product = try products.named(name)
            case .price(let price): product = try products.forPrice(price)
            }
            guard let product else {
                switch line.reference {
                case .product(let name): unknown.append("product \(name)")
                case .price(let price): unknown.append("price \(price)")
                }
                continue
            }
            var licenseID: Int64?
            var credits: Int64?
            if product.grantsLicense {
                licenseID = try issueLicense(product, quantity: line.quantity, order: order, customerID: customerID, email: email, connection: connection)
            }
            if let perUnit = product.credits, product.kind == .credits || (product.kind == .subscription && order.mode != "subscription") {
                credits = perUnit * Int64(line.quantity)
                try grants.appendCredits(customerID: customerID, delta: credits!, kind: "grant", source: "order", sourceID: "\(order.id):\(index)", now: now)
                try outbox.enqueue(kind: "credits_receipt", dedupeKey: "credits-receipt:\(order.id):\(index)", recipient: email,
                                   payload: String(decoding: JSONValue.object([
                                       "credits": .int(credits!), "product_name": .string(product.name),
                                       "amount": .string(Money.format(order.amountTotal, currency: order.currency)),
                                   ]).serialized(), as: UTF8.self), sealed: nil, now: now)
                try audit.record(subject: "credits", id: String(customerID), action: "granted", before: nil, after: String(credits!), actor: actor,
                                 detail: "order \(order.sessionID) line \(index)", now: now)
            }
            context.logger.info("granted", metadata: [
                "order": "\(order.sessionID)", "line": "\(index)", "product": "\(product.product)", "kind": "\(product.kind.rawValue)",
                "quantity": "\(line.quantity)",
            ])
            try grants.recordGrant(orderID: order.id, line: index, product: product.product, kind: product.kind.rawValue, quantity: line.quantity,
                                   licenseID: licenseID, credits: credits, entitlement: product.entitlement, now: now)
            try outbox.enqueue(kind: "notification", dedupeKey: "grant.created:\(order.id):\(index)", recipient: nil,
                               payload: String(decoding: JSONValue.object([
                                   "type": "grant.created", "order": .string(order.sessionID), "line": .int(Int64(index)),
                                   "product": .string(product.product), "kind": .string(product.kind.rawValue),
                                   "quantity": .int(Int64(line.quantity)), "customer_email": email.map(JSONValue.string) ?? .null,
                                   "license_id": licenseID.map(JSONValue.int) ?? .null, "credits": credits.map(JSONValue.int) ?? .null,
                                   "entitlement": product.entitlement.map(JSONValue.string) ?? .null,
                               ]).serialized(), as: UTF8.self), sealed: nil, now: now)
        }
        if unknown.isEmpty, order.attention != nil {
            try OrderRepository(connection, prefix: prefix).clearAttention(order.id, now: now)
            try audit.record(subject: "order", id: order.sessionID, action: "attention_cleared", before: nil, after: nil, actor: actor, now: now)
        }
        if !unknown.isEmpty {
            // Never dropped: the order is flagged for the operator, who adds the product
            // to the catalogue and replays the event.
            let reason = "not in the catalogue: " + unknown.joined(separator: ", ")
            try OrderRepository(connection, prefix: prefix).flag(order.id, attention: reason, now: now)
            try audit.record(subject: "order", id: order.sessionID, action: "needs_attention", before: nil, after: nil, actor: actor, detail: reason, now: now)
            context.logger.warning("paid order needs attention", metadata: ["order": "\(order.sessionID)", "reason": "\(reason)"])
        }
    }

    /// Issues a key: stored as selector + keyed hash; the key itself only sealed in the outbox
    /// for its email (and erased once delivered).
    private func issueLicense(_ product: Product, quantity: Int, order: OrderRepository.Order, customerID: Int64, email: String?, connection: Connection) throws -> Int64 {
        let issuer = LicenseKeyIssuer(context: context)
        let (hasher, box) = try issuer.secrets()
        let prefix = context.store.prefix
        let now = context.clock.now
        let expiresAt = product.kind == .license ? product.durationDays.map { now.addingTimeInterval(Double($0) * 86_400) } : nil
        var attempt = 0
        while true {
            attempt += 1
            let key = LicenseKey.generate(using: context.random)
            do {
                let id = try GrantRepository(connection, prefix: prefix).insertLicense(
                    selector: key.selector, verifier: hasher.verifier(for: key), product: product.product, tier: product.tier,
                    activationLimit: (product.activationLimit ?? 1) * quantity, expiresAt: expiresAt, customerID: customerID,
                    orderID: order.id, now: now)
                try issuer.queueEmail(key, licenseID: id, product: product.product, productName: product.name, order: order.sessionID,
                                      email: email, dedupeKey: "license-email:\(id)", box: box, connection: connection)
                let minutes = context.configuration.checkout.keyDisplayMinutes
                if minutes > 0 {
                    // The success page may show the key for a short while; then only the email has it.
                    let sealed = box.seal(Array(key.formatted(prefix: context.configuration.licensing.keyPrefix).utf8),
                                          context: Array("license-display:\(id)".utf8), random: context.random)
                    try LicenseRepository(connection, prefix: prefix).setDisplay(id, sealed: sealed, until: now.addingTimeInterval(Double(minutes) * 60))
                }
                try AuditLog(connection, prefix: prefix).record(subject: "license", id: String(id), action: "issued", before: nil, after: "active",
                                                                actor: actor, detail: "order \(order.sessionID), product \(product.product)", now: now)
                return id
            } catch let error as DatabaseError where error.kind == .duplicateKey && attempt < 3 {
                continue  // the selector was taken by another key: draw again
            }
        }
    }

    /// Fetches a Checkout Session from Stripe and fulfils it through the same idempotent
    /// path as the webhook (for an operator after fixing the catalogue; later also the
    /// success page and reconciliation).
    public func fulfil(sessionID: String) throws -> OrderRepository.Order? {
        let session = try Session(context.stripe.get("/v1/checkout/sessions/\(FormEncoding.escape(sessionID))"))
        let proposed: OrderRepository.Status = session.isPaid ? .paid : .pending
        let lines = proposed == .paid ? try lines(of: session) : nil
        let store = context.store
        return try store.transaction { connection in
            try apply(session, proposed: proposed, lines: lines, on: connection)
            return try OrderRepository(connection, prefix: store.prefix).find(sessionID: session.id)
        }
    }

    static func metadataJSON(_ metadata: [String: String]) -> String? {
        guard !metadata.isEmpty else { return nil }
        return String(decoding: JSONValue.object(metadata.keys.sorted().map { ($0, JSONValue.string(metadata[$0]!)) }).serialized(), as: UTF8.self)
    }
}
