import Foundation
import MariaStore

/// The catalogue beside Stripe's Products and Prices: `payments-fcgi catalog sync` shows the
/// prices the catalogue does not map and the catalogue's prices Stripe no longer has (or has
/// inactive, or of another kind); `catalog push NAME` creates the Stripe Product and Price for
/// a catalogue entry that has none.
public struct CatalogSync {
    let context: Context

    public init(context: Context) {
        self.context = context
    }

    /// One line of the comparison, for the operator.
    public struct Finding: Sendable, Equatable {
        public let price: String
        public let problem: String
    }

    public func compare() throws -> [Finding] {
        let store = context.store
        let prices = try StripeList.all("/v1/prices", query: [("expand[]", "data.product")], stripe: context.stripe)
        let catalogue = try store.withConnection { try ProductRepository($0, prefix: store.prefix).all() }
        var findings: [Finding] = []
        var seen: Set<String> = []
        for price in prices {
            let id = try price.string("id")
            seen.insert(id)
            let active = try price.optionalBool("active") ?? true
            let interval = try price.optionalObject("recurring")?.optionalString("interval")
            let amount = try price.optionalInt("unit_amount").map { Money.format($0, currency: try price.string("currency")) } ?? "no fixed amount"
            let name = try price.optionalObject("product")?.optionalString("name") ?? price.reference("product") ?? "?"
            let described = "\(name), \(amount)\(interval.map { " / \($0)" } ?? "")"
            guard let product = catalogue.first(where: { $0.stripePriceID == id }) else {
                if active { findings.append(Finding(price: id, problem: "not in the catalogue: \(described)")) }
                continue
            }
            if !active { findings.append(Finding(price: id, problem: "\(product.product) uses it, but it is inactive at Stripe (\(described))")) }
            if (product.kind == .subscription) != (interval != nil) {
                findings.append(
                    Finding(
                        price: id,
                        problem:
                            "\(product.product) is a \(product.kind.rawValue) product, but the price is \(interval == nil ? "one-off" : "recurring") (\(described))"
                    ))
            }
        }
        for product in catalogue {
            if let price = product.stripePriceID, !seen.contains(price) {
                findings.append(Finding(price: price, problem: "\(product.product) names a price Stripe does not have"))
            } else if product.stripePriceID == nil {
                findings.append(Finding(price: "-", problem: "\(product.product) has no Stripe price (payments-fcgi catalog push \(product.product) …)"))
            }
        }
        return findings
    }

    /// Creates the Stripe Product and Price for a catalogue entry without one, and records the
    /// price in the catalogue. Idempotent: a repeat gets the same objects from Stripe.
    public func push(_ name: String, amount: Int64, currency: String, interval: String?) throws -> String {
        let store = context.store
        guard var product = try store.withConnection({ try ProductRepository($0, prefix: store.prefix).named(name) }) else {
            throw APIError.invalidRequest("product \(name) is not in the catalogue")
        }
        guard product.stripePriceID == nil else { throw APIError.invalidRequest("\(name) already has a Stripe price (\(product.stripePriceID ?? ""))") }
        guard (product.kind == .subscription) == (interval != nil) else {
            throw APIError.invalidRequest(product.kind == .subscription ? "a subscription needs --interval" : "only a subscription takes --interval")
        }
        let productForm = [("name", product.name), ("metadata[pfc_product]", product.product)]
        let created = try context.stripe.post("/v1/products", form: productForm, idempotencyKey: IdempotencyKey.derive("product", form: productForm, scope: ""))
        var priceForm = [("product", try created.string("id")), ("unit_amount", String(amount)), ("currency", currency.lowercased())]
        if let interval { priceForm.append(("recurring[interval]", interval)) }
        let price = try context.stripe.post("/v1/prices", form: priceForm, idempotencyKey: IdempotencyKey.derive("price", form: priceForm, scope: ""))
        product.stripePriceID = try price.string("id")
        try store.transaction { connection in
            try ProductRepository(connection, prefix: store.prefix).save(product, actor: "operator:cli", now: context.clock.now)
        }
        return product.stripePriceID ?? ""
    }
}
