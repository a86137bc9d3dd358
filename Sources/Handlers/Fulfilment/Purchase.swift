import MariaStore

/// What a paid checkout bought, decided before the transaction opens (it may need Stripe's
/// API). Never taken from metadata alone: metadata only has to agree with what was paid.
public enum Purchase: Sendable, Equatable {
    /// Lines to grant. `claimed` is what the session's metadata says was bought; when
    /// present, the lines must be exactly that product and quantity.
    case lines([Line], claimed: Claim?)
    /// A WooCommerce order, paid by a session this service priced from it.
    case wooCommerce(orderID: Int64, amount: Int64, currency: String)
    /// What was paid disagrees with what the checkout claims: the order is flagged for an
    /// operator and nothing is granted.
    case mismatch(String)

    /// A purchased line: a catalogue product by name (checkouts we created) or a Stripe price.
    public enum LineReference: Sendable, Equatable {
        case product(String)
        case price(String)
    }

    public struct Line: Sendable, Equatable {
        public let reference: LineReference
        public let quantity: Int
        /// What this line cost, when known (Stripe's line items say it; a single-product
        /// checkout of ours costs the session's total).
        public let amount: Int64?

        public init(reference: LineReference, quantity: Int, amount: Int64? = nil) {
            self.reference = reference
            self.quantity = quantity
            self.amount = amount
        }
    }

    /// `metadata[product]` and `metadata[quantity]` of a checkout.
    public struct Claim: Sendable, Equatable {
        public let product: String
        public let quantity: Int
    }

    /// The claim in `metadata`: nil when it names no product; a mismatch when its quantity is
    /// not a whole number from 1 to `maxQuantity`.
    static func claim(in metadata: [String: String], maxQuantity: Int) -> Result<Claim?, PurchaseMismatch> {
        guard let product = metadata["product"], !product.isEmpty else { return .success(nil) }
        let text = metadata["quantity"] ?? "1"
        guard let quantity = Int(text), (1...maxQuantity).contains(quantity) else {
            return .failure(PurchaseMismatch("metadata quantity '\(text.prefix(20))' is not a whole number from 1 to \(maxQuantity)"))
        }
        return .success(Claim(product: product, quantity: quantity))
    }

    /// What a session we created bought, from our record of it; metadata must agree.
    static func createdSession(_ session: CheckoutFulfilment.Session, record: CheckoutRepository.Checkout, maxQuantity: Int) -> Purchase {
        if let order = record.wooCommerceOrder {
            guard let amount = record.amount, let currency = record.currency else {
                return .mismatch("the record of WooCommerce order \(order)'s session holds no amount")
            }
            guard session.amountTotal == amount, session.currency == currency else {
                return .mismatch(
                    "paid \(Money.format(session.amountTotal, currency: session.currency ?? "?")), but WooCommerce order \(order) "
                        + "was bound at \(Money.format(amount, currency: currency))")
            }
            return .wooCommerce(orderID: order, amount: amount, currency: currency)
        }
        guard let product = record.product, let quantity = record.quantity else {
            return .mismatch("the record of this checkout names no product")
        }
        switch claim(in: session.metadata, maxQuantity: maxQuantity) {
        case .failure(let mismatch): return .mismatch(mismatch.reason)
        case .success(let claimed?) where claimed.product != product || claimed.quantity != quantity:
            return .mismatch("metadata claims \(claimed.quantity) × \(claimed.product), the session was created for \(quantity) × \(product)")
        case .success:
            return .lines([Line(reference: .product(product), quantity: quantity, amount: session.amountTotal)], claimed: nil)
        }
    }

    /// What an Elements PaymentIntent we created bought: the amount and currency received must
    /// be what we asked for, and metadata must name the same product and quantity.
    static func createdIntent(
        amount: Int64, currency: String, metadata: [String: String], record: CheckoutRepository.Checkout,
        maxQuantity: Int
    ) -> Purchase {
        guard let product = record.product, let quantity = record.quantity, let expected = record.amount, let expectedCurrency = record.currency else {
            return .mismatch("the record of this PaymentIntent names no product and amount")
        }
        guard amount == expected, currency == expectedCurrency else {
            return .mismatch(
                "received \(Money.format(amount, currency: currency)), the PaymentIntent was created for "
                    + Money.format(expected, currency: expectedCurrency))
        }
        switch claim(in: metadata, maxQuantity: maxQuantity) {
        case .failure(let mismatch): return .mismatch(mismatch.reason)
        case .success(let claimed?) where claimed.product != product || claimed.quantity != quantity:
            return .mismatch("metadata claims \(claimed.quantity) × \(claimed.product), the PaymentIntent was created for \(quantity) × \(product)")
        case .success:
            return .lines([Line(reference: .product(product), quantity: quantity, amount: amount)], claimed: nil)
        }
    }
}

/// Why a purchase cannot be granted as it stands.
struct PurchaseMismatch: Error, Equatable {
    let reason: String
    init(_ reason: String) { self.reason = reason }
}
