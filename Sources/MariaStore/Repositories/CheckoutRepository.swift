import Foundation

/// The Checkout Sessions and PaymentIntents this service created, with what it asked Stripe
/// for. Stripe keeps a session's line items as created, so this record — not the session's
/// metadata, which anyone holding the secret key can shape — says what a paid session bought.
public struct CheckoutRepository {
    let connection: Connection
    let table: String

    public init(_ connection: Connection, prefix: TablePrefix) {
        self.connection = connection
        table = prefix.table("checkouts")
    }

    public enum Kind: String, Sendable {
        case session, intent
    }

    /// One created checkout.
    public struct Checkout: Sendable, Equatable {
        /// `cs_…` or `pi_…`.
        public var stripeID: String
        public var kind: Kind
        /// The catalogue product and quantity sold (nil for a WooCommerce order).
        public var product: String?
        public var priceID: String?
        public var quantity: Int?
        /// The exact amount asked for, where we priced it ourselves (WooCommerce, PaymentIntents).
        public var amount: Int64?
        public var currency: String?
        /// The WooCommerce order this session pays, bound when the session was created.
        public var wooCommerceOrder: Int64?
        /// SHA-256 of the token in the cookie of the browser that started the checkout.
        public var browserProof: [UInt8]?

        public init(
            stripeID: String, kind: Kind, product: String? = nil, priceID: String? = nil, quantity: Int? = nil, amount: Int64? = nil,
            currency: String? = nil, wooCommerceOrder: Int64? = nil, browserProof: [UInt8]? = nil
        ) {
            self.stripeID = stripeID
            self.kind = kind
            self.product = product
            self.priceID = priceID
            self.quantity = quantity
            self.amount = amount
            self.currency = currency
            self.wooCommerceOrder = wooCommerceOrder
            self.browserProof = browserProof
        }
    }

    /// Records a checkout Stripe just created. Stripe answers a repeated idempotent request
    /// with the same object, so the same id may be recorded twice: the first record stays,
    /// except that a browser proof is added to a record that had none.
    public func record(_ checkout: Checkout, now: Date) throws {
        try connection.execute(
            """
            INSERT INTO \(table) (stripe_id, kind, product, price_id, quantity, amount, currency, woocommerce_order, browser_proof, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON DUPLICATE KEY UPDATE browser_proof = COALESCE(browser_proof, VALUES(browser_proof))
            """,
            [
                checkout.stripeID, checkout.kind.rawValue, checkout.product, checkout.priceID, checkout.quantity, checkout.amount,
                checkout.currency, checkout.wooCommerceOrder, checkout.browserProof, now,
            ])
    }

    /// The record of a checkout we created, or nil for one we did not.
    public func find(_ stripeID: String) throws -> Checkout? {
        try connection.queryOne(
            """
            SELECT stripe_id, kind, product, price_id, quantity, amount, currency, woocommerce_order, browser_proof FROM \(table) WHERE stripe_id = ?
            """, [stripeID]
        ).map { row in
            Checkout(
                stripeID: try row.string("stripe_id"), kind: try row.value("kind", as: Kind.self), product: try row.optionalString("product"),
                priceID: try row.optionalString("price_id"), quantity: try row.optionalInt("quantity").map(Int.init),
                amount: try row.optionalInt("amount"), currency: try row.optionalString("currency"),
                wooCommerceOrder: try row.optionalInt("woocommerce_order"),
                browserProof: try row.isNull("browser_proof") ? nil : try row.bytes("browser_proof"))
        }
    }
}
