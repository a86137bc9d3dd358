import Foundation
import MariaStore

/// What the four `checkout.session.*` events do: the customer, the order (keyed by session
/// id) and, once paid, one grant per line of what was bought. One idempotent `apply` serves the
/// webhook, the success page and reconciliation: whichever comes first does the work, the
/// others find it done.
///
/// What was bought is decided by `purchase(of:)` before the transaction: from this service's
/// own record of the checkout, or from Stripe's line items — never from metadata alone, which
/// only has to agree. A purchase that does not add up flags the order and grants nothing.
public struct CheckoutFulfilment {
    public typealias Line = Purchase.Line

    let context: Context
    let actor: String

    public init(context: Context, actor: String) {
        self.context = context
        self.actor = actor
    }

    private var maxQuantity: Int { context.configuration.checkout.maxQuantity }

    /// What a paid session bought. Reads our record of the session; for a session we did not
    /// create, fetches its line items from Stripe (before any transaction is opened, so no lock
    /// is held while waiting on the network).
    public func purchase(of session: Session) throws -> Purchase {
        let store = context.store
        if let record = try store.withConnection({ try CheckoutRepository($0, prefix: store.prefix).find(session.id) }) {
            return Purchase.createdSession(session, record: record, maxQuantity: maxQuantity)
        }
        let claimed: Purchase.Claim?
        switch Purchase.claim(in: session.metadata, maxQuantity: maxQuantity) {
        case .failure(let mismatch): return .mismatch(mismatch.reason)
        case .success(let claim): claimed = claim
        }
        var lines: [Line] = []
        for item in try context.stripe.checkoutSessionLineItems(session.id) {
            let price = try item.object("price").string("id")
            let quantity = try item.optionalInt("quantity") ?? 1
            guard (1...Int64(Int32.max)).contains(quantity) else { return .mismatch("line item quantity \(quantity) is out of range") }
            lines.append(Line(reference: .price(price), quantity: Int(quantity), amount: try item.optionalInt("amount_total")))
        }
        return .lines(lines, claimed: claimed)
    }

    /// What an Elements PaymentIntent (`metadata[product]`) bought: for one we created, our
    /// record; for another, the catalogue product priced by Stripe times the quantity must be
    /// exactly the amount received.
    func purchase(ofIntent intent: String, amount: Int64, currency: String, metadata: [String: String]) throws -> Purchase {
        let store = context.store
        let (record, claimedProduct) = try store.withConnection { connection in
            (
                try CheckoutRepository(connection, prefix: store.prefix).find(intent),
                try metadata["product"].flatMap { try ProductRepository(connection, prefix: store.prefix).named($0) }
            )
        }
        if let record {
            return Purchase.createdIntent(amount: amount, currency: currency, metadata: metadata, record: record, maxQuantity: maxQuantity)
        }
        let claimed: Purchase.Claim
        switch Purchase.claim(in: metadata, maxQuantity: maxQuantity) {
        case .failure(let mismatch): return .mismatch(mismatch.reason)
        case .success(nil): return .mismatch("the PaymentIntent names no product")
        case .success(let claim?): claimed = claim
        }
        guard let product = claimedProduct, let price = product.stripePriceID else {
            return .mismatch("not in the catalogue: product \(claimed.product)")
        }
        let priceObject = try context.stripe.get("/v1/prices/\(FormEncoding.escape(price))")
        guard let unit = try priceObject.optionalInt("unit_amount"), let priceCurrency = try priceObject.optionalString("currency") else {
            return .mismatch("the price of \(product.product) has no fixed amount")
        }
        let (expected, overflow) = unit.multipliedReportingOverflow(by: Int64(claimed.quantity))
        guard !overflow, expected == amount, priceCurrency.uppercased() == currency else {
            return .mismatch(
                "received \(Money.format(amount, currency: currency)) for \(claimed.quantity) × \(product.product), "
                    + "which costs \(overflow ? "more" : Money.format(expected, currency: priceCurrency.uppercased()))")
        }
        return .lines([Line(reference: .product(product.product), quantity: claimed.quantity, amount: amount)], claimed: nil)
    }

    /// A subscription session's subscription as Stripe has it now, when no event about it has
    /// arrived yet: its license must follow what was paid for from the start, never be valid
    /// for ever while the subscription is unknown.
    public func unknownSubscription(of session: Session) throws -> SubscriptionRepository.State? {
        guard let subscription = session.subscription else { return nil }
        let store = context.store
        guard try store.withConnection({ try SubscriptionRepository($0, prefix: store.prefix).find(subscription) }) == nil else { return nil }
        return try SubscriptionEvents.state(context.stripe.get("/v1/subscriptions/\(FormEncoding.escape(subscription))"))
    }

    /// Applies `proposed` (the status the event implies) to the session's order inside the
    /// caller's transaction, granting the purchase once the order is paid (`purchase` is nil
    /// when every line was already granted). `subscription`: the session's subscription read
    /// from Stripe, recorded first.
    public func apply(
        _ session: Session, proposed: OrderRepository.Status, purchase: Purchase?, subscription: SubscriptionRepository.State? = nil,
        on connection: Connection
    ) throws {
        let prefix = context.store.prefix
        let now = context.clock.now
        let orders = OrderRepository(connection, prefix: prefix)
        let audit = AuditLog(connection, prefix: prefix)
        let customerID = try CustomerRepository(connection, prefix: prefix)
            .findOrCreate(stripeCustomerID: session.stripeCustomerID, email: session.email, actor: actor, now: now)

        var order: OrderRepository.Order
        let created: Bool
        if let existing = try orders.lock(sessionID: session.id) {
            created = false
            order = existing
            var changed = false
            if existing.customerID == nil, let customerID {
                // An order first seen without its buyer (a bank debit's early event) gets the
                // customer as soon as an event names one.
                try orders.setCustomer(existing.id, customerID, now: now)
                changed = true
            }
            if let next = OrderTransitions.next(from: existing.status, to: proposed) {
                try orders.setStatus(existing.id, next, now: now)
                try audit.record(
                    subject: "order", id: session.id, action: "status", before: existing.status.rawValue, after: next.rawValue, actor: actor, now: now)
                changed = true
            }
            if changed { order = try orders.lock(sessionID: session.id) ?? existing }
        } else {
            var new = OrderRepository.NewOrder(
                sessionID: session.id, customerID: customerID, status: proposed, mode: session.mode, paymentIntent: session.paymentIntent,
                subscription: session.subscription, amountTotal: session.amountTotal, currency: session.currency ?? "",
                clientReferenceID: session.clientReferenceID, metadata: Self.metadataJSON(session.metadata), livemode: session.livemode)
            new.siteURL = session.siteURL
            order = try orders.insert(new, now: now)
            created = true
            try audit.record(subject: "order", id: session.id, action: "created", before: nil, after: proposed.rawValue, actor: actor, now: now)
        }
        guard order.status == .paid, let purchase else { return }
        if let subscription {
            // Counted as of now: any event Stripe sends later is newer and wins.
            try SubscriptionEvents.apply(
                subscription, eventCreated: Int64(now.timeIntervalSince1970), actor: actor, dedupe: "read:\(subscription.subscription)",
                context: context, connection: connection)
        }
        switch purchase {
        case .mismatch(let reason):
            try flag(order, reason: reason, connection: connection)
            return
        case .wooCommerce(let orderID, let amount, let currency):
            try WooCommerceOrders(context: context).orderPaid(orderID, amount: amount, currency: currency, order: order, connection: connection)
        case .lines(let lines, let claimed):
            try grant(
                lines, claimed: claimed, order: order, created: created, customerID: order.customerID ?? customerID,
                email: session.email, site: session.siteURL, connection: connection)
        }
        // Refunds, disputes or subscription changes that arrived before the order did.
        try OrderAdjustments(context: context, connection: connection, actor: actor).catchUp(order, subscription: session.subscription)
    }

    /// A line resolved to its catalogue product.
    private struct Resolved {
        let index: Int
        let line: Line
        let product: Product
    }

    private func grant(
        _ lines: [Line], claimed: Purchase.Claim?, order: OrderRepository.Order, created: Bool, customerID: Int64?,
        email: String?, site: String?, connection: Connection
    ) throws {
        let prefix = context.store.prefix
        let now = context.clock.now
        let grants = GrantRepository(connection, prefix: prefix)
        let ledger = CreditLedger(connection, prefix: prefix)
        let products = ProductRepository(connection, prefix: prefix)
        let audit = AuditLog(connection, prefix: prefix)
        let outbox = Outbox(connection, prefix: prefix)
        // An order created in this transaction has nothing granted yet: one round trip spared.
        let done = created ? [] : try grants.grantedLines(orderID: order.id)

        // Resolve every line first: what is granted must add up before anything is.
        var resolved: [Resolved] = []
        var unknown: [String] = []
        for (index, line) in lines.enumerated() {
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
            resolved.append(Resolved(index: index, line: line, product: product))
        }
        if let claimed {
            // A session someone else created names a product in metadata: what was paid for
            // must be exactly that, or the claim is not believed.
            guard unknown.isEmpty, resolved.count == 1, resolved[0].product.product == claimed.product,
                resolved[0].line.quantity == claimed.quantity
            else {
                let paid = resolved.map { "\($0.line.quantity) × \($0.product.product)" } + unknown
                try flag(
                    order, reason: "metadata claims \(claimed.quantity) × \(claimed.product), the paid line items are \(paid.joined(separator: ", "))",
                    connection: connection)
                return
            }
        }
        for item in resolved where !done.contains(item.index) {
            if let problem = Self.sizeProblem(item) {
                try flag(order, reason: problem, connection: connection)
                return
            }
            if customerID == nil, Self.grantsCredits(item.product, order: order) {
                try flag(order, reason: "credits need a customer, and the session names no email and no Stripe customer", connection: connection)
                return
            }
        }

        for item in resolved where !done.contains(item.index) {
            let (index, line, product) = (item.index, item.line, item.product)
            var licenseID: Int64?
            var credits: Int64?
            if product.grantsLicense {
                licenseID = try issueLicense(product, quantity: line.quantity, order: order, customerID: customerID, email: email, connection: connection)
                if let site, let licenseID { try activateTypedSite(site, licenseID: licenseID, connection: connection) }
            }
            if let perUnit = product.credits, Self.grantsCredits(product, order: order), let customerID {
                let amount = perUnit * Int64(line.quantity)  // bounded by sizeProblem
                credits = amount
                try ledger.appendCredits(customerID: customerID, delta: amount, kind: "grant", source: "order", sourceID: "\(order.id):\(index)", now: now)
                try outbox.enqueue(
                    kind: "credits_receipt", dedupeKey: "credits-receipt:\(order.id):\(index)", recipient: email,
                    payload: String(
                        decoding: JSONValue.object([
                            "credits": .int(amount), "product_name": .string(product.name),
                            // The credits' own line in a mixed cart, not the cart's total.
                            "amount": .string(Money.format(line.amount ?? order.amountTotal, currency: order.currency)),
                        ]).serialized(), as: UTF8.self), sealed: nil, now: now)
                try audit.record(
                    subject: "credits", id: String(customerID), action: "granted", before: nil, after: String(amount), actor: actor,
                    detail: "order \(order.sessionID) line \(index)", now: now)
            }
            context.logger.info(
                "granted",
                metadata: [
                    "order": "\(order.sessionID)", "line": "\(index)", "product": "\(product.product)", "kind": "\(product.kind.rawValue)",
                    "quantity": "\(line.quantity)",
                ])
            try grants.recordGrant(
                orderID: order.id, line: index, product: product.product, kind: product.kind.rawValue, quantity: line.quantity,
                licenseID: licenseID, credits: credits, entitlement: product.entitlement, now: now)
            try outbox.enqueue(
                kind: "notification", dedupeKey: "grant.created:\(order.id):\(index)", recipient: nil,
                payload: String(
                    decoding: JSONValue.object([
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
            try flag(order, reason: "not in the catalogue: " + unknown.joined(separator: ", "), connection: connection)
        }
    }

    /// Whether buying `product` in `order` adds credits now (a subscription's credits come
    /// with each paid invoice instead, except when it was bought as a one-off payment).
    private static func grantsCredits(_ product: Product, order: OrderRepository.Order) -> Bool {
        product.credits != nil && (product.kind == .credits || (product.kind == .subscription && order.mode != "subscription"))
    }

    /// Why a line's quantity cannot be granted (an activation limit or a credit total that
    /// does not fit), or nil. Checked before anything is granted: arithmetic never traps.
    private static func sizeProblem(_ item: Resolved) -> String? {
        let quantity = Int64(item.line.quantity)
        if item.product.grantsLicense {
            let (seats, overflow) = Int64(item.product.activationLimit ?? 1).multipliedReportingOverflow(by: quantity)
            if overflow || seats > Int64(Int32.max) { return "\(quantity) × \(item.product.product) is more seats than a license can hold" }
        }
        if let credits = item.product.credits, credits.multipliedReportingOverflow(by: quantity).overflow {
            return "\(quantity) × \(item.product.product) is more credits than can be counted"
        }
        return nil
    }

    /// Flags a paid order for an operator, granting nothing.
    private func flag(_ order: OrderRepository.Order, reason: String, connection: Connection) throws {
        let prefix = context.store.prefix
        let now = context.clock.now
        try OrderRepository(connection, prefix: prefix).flag(order.id, attention: reason, now: now)
        try AuditLog(connection, prefix: prefix).record(
            subject: "order", id: order.sessionID, action: "needs_attention", before: nil, after: nil,
            actor: actor, detail: reason, now: now)
        context.logger.warning("paid order needs attention", metadata: ["order": "\(order.sessionID)", "reason": "\(reason)"])
    }

    /// Issues a key: stored as selector + keyed hash; the key itself only sealed in the outbox
    /// for its email (and erased once delivered).
    private func issueLicense(
        _ product: Product, quantity: Int, order: OrderRepository.Order, customerID: Int64?, email: String?,
        connection: Connection
    ) throws -> Int64 {
        let issuer = LicenseKeyIssuer(context: context)
        let (hasher, box) = try issuer.secrets()
        let prefix = context.store.prefix
        let now = context.clock.now
        // A subscription's license is not valid until its subscription says so (right after,
        // in `catchUp`): never for ever by default.
        let expiresAt =
            product.kind == .license
            ? product.durationDays.map { now.addingTimeInterval(Double($0) * 86_400) }
            : order.mode == "subscription" ? now : nil
        var attempt = 0
        while true {
            attempt += 1
            let key = LicenseKey.generate(using: context.random)
            do {
                let id = try GrantRepository(connection, prefix: prefix).insertLicense(
                    selector: key.selector, verifier: hasher.verifier(for: key), product: product.product, tier: product.tier,
                    activationLimit: (product.activationLimit ?? 1) * quantity, expiresAt: expiresAt, customerID: customerID,
                    orderID: order.id, now: now)
                try issuer.queueEmail(
                    key, licenseID: id, product: product.product, productName: product.name, order: order.sessionID,
                    email: email, dedupeKey: "license-email:\(id)", box: box, connection: connection)
                let minutes = context.configuration.checkout.keyDisplayMinutes
                if minutes > 0 {
                    // The success page may show the key for a short while, to the browser that
                    // started the checkout; then only the email has it.
                    let sealed = box.seal(
                        Array(key.formatted(prefix: context.configuration.licensing.keyPrefix).utf8),
                        context: Array("license-display:\(id)".utf8), random: context.random)
                    try LicenseRepository(connection, prefix: prefix).setDisplay(id, sealed: sealed, until: now.addingTimeInterval(Double(minutes) * 60))
                }
                try AuditLog(connection, prefix: prefix).record(
                    subject: "license", id: String(id), action: "issued", before: nil, after: "active",
                    actor: actor, detail: "order \(order.sessionID), product \(product.product)", now: now)
                return id
            } catch let error as DatabaseError where error.kind == .duplicateKey && attempt < 3 {
                continue  // the selector was taken by another key: draw again
            }
        }
    }

    /// Activates the site the buyer typed at checkout on their new license, as the plugin's
    /// first activation would (a staging host uses no seat). A typed address that is not a
    /// site is ignored: the plugin activates the real one later.
    private func activateTypedSite(_ text: String, licenseID: Int64, connection: Connection) throws {
        guard let site = SiteURL(text) else { return }
        let staging = StagingSites(extraSuffixes: context.configuration.licensing.stagingDomains).isStaging(site)
        let prefix = context.store.prefix
        try ActivationRepository(connection, prefix: prefix).insert(
            licenseID: licenseID, activationID: "act_" + Hex.encode(context.random.bytes(10)),
            site: site.canonical, kind: staging ? .staging : .production, now: context.clock.now)
        try AuditLog(connection, prefix: prefix).record(
            subject: "license", id: String(licenseID), action: "activated", before: nil,
            after: staging ? "staging" : "production", actor: actor, detail: "site \(site.canonical), typed at checkout",
            now: context.clock.now)
    }

    /// Fetches a Checkout Session from Stripe and fulfils it through the same idempotent path
    /// as the webhook (the success page, an operator after fixing the catalogue). A session
    /// the buyer has not completed creates nothing; a setup-mode session sells nothing.
    /// Returns the order, if there is one.
    public func fulfil(sessionID: String) throws -> OrderRepository.Order? {
        let session = try Session(context.stripe.get("/v1/checkout/sessions/\(FormEncoding.escape(sessionID))"))
        let store = context.store
        guard session.sells, session.isComplete else {
            return try store.withConnection { try OrderRepository($0, prefix: store.prefix).find(sessionID: session.id) }
        }
        let proposed: OrderRepository.Status = session.isPaid ? .paid : .pending
        let purchase = proposed == .paid ? try purchase(of: session) : nil
        let subscription = proposed == .paid ? try unknownSubscription(of: session) : nil
        return try store.transaction { connection in
            try apply(session, proposed: proposed, purchase: purchase, subscription: subscription, on: connection)
            return try OrderRepository(connection, prefix: store.prefix).find(sessionID: session.id)
        }
    }

    /// Whether the order keyed `id` (a session or PaymentIntent id) is paid and granted with
    /// nothing left for an operator: then what it bought need not be worked out again.
    func isGranted(_ id: String) throws -> Bool {
        let store = context.store
        return try store.withConnection { connection in
            guard let order = try OrderRepository(connection, prefix: store.prefix).find(sessionID: id), order.status == .paid else { return false }
            return try !GrantRepository(connection, prefix: store.prefix).grants(orderID: order.id).isEmpty && order.attention == nil
        }
    }

    static func metadataJSON(_ metadata: [String: String]) -> String? {
        guard !metadata.isEmpty else { return nil }
        return String(decoding: JSONValue.object(metadata.keys.sorted().map { ($0, JSONValue.string(metadata[$0] ?? "")) }).serialized(), as: UTF8.self)
    }
}
