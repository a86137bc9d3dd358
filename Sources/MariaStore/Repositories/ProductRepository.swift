import Foundation

/// The catalogue table: products by their name or by Stripe price id.
public struct ProductRepository {
    let connection: Connection
    let table: String
    let prefix: TablePrefix

    public init(_ connection: Connection, prefix: TablePrefix) {
        self.connection = connection
        self.table = prefix.table("products")
        self.prefix = prefix
    }

    private static let columns =
        "product, name, kind, stripe_price_id, tier, activation_limit, duration_days, credits, entitlement, allow_promotion_codes, edd_item_id, slug, homepage, description, banner_url, icon_url"

    /// Adds the product, or replaces the one with the same `product` name, and audits the
    /// change (naming `actor`) when there is one.
    public func save(_ product: Product, actor: String, now: Date) throws {
        let before = try connection.queryOne("SELECT \(Self.columns) FROM \(table) WHERE product = ? FOR UPDATE", [product.product]).map(Self.decode)
        if before == product { return }
        try connection.execute(
            """
            INSERT INTO \(table) (\(Self.columns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON DUPLICATE KEY UPDATE name = VALUES(name), kind = VALUES(kind), stripe_price_id = VALUES(stripe_price_id),
                tier = VALUES(tier), activation_limit = VALUES(activation_limit), duration_days = VALUES(duration_days),
                credits = VALUES(credits), entitlement = VALUES(entitlement), allow_promotion_codes = VALUES(allow_promotion_codes),
                edd_item_id = VALUES(edd_item_id), slug = VALUES(slug), homepage = VALUES(homepage), description = VALUES(description),
                banner_url = VALUES(banner_url), icon_url = VALUES(icon_url)
            """,
            [
                product.product, product.name, product.kind.rawValue, product.stripePriceID, product.tier,
                product.activationLimit, product.durationDays, product.credits, product.entitlement, product.allowPromotionCodes,
                product.eddItemID, product.slug, product.homepage, product.description, product.bannerURL, product.iconURL,
            ])
        try AuditLog(connection, prefix: prefix).record(
            subject: "product", id: product.product, action: before == nil ? "added" : "changed",
            before: before.map(Self.summary), after: Self.summary(product), actor: actor, now: now)
    }

    /// What the audit log keeps of a product's state: its kind and Stripe price.
    static func summary(_ product: Product) -> String {
        String("\(product.kind.rawValue) \(product.stripePriceID ?? "no price")".prefix(64))
    }

    /// Removes a product; returns whether it existed. Orders and licenses keep its name.
    @discardableResult
    public func remove(_ product: String, actor: String, now: Date) throws -> Bool {
        guard let before = try connection.queryOne("SELECT \(Self.columns) FROM \(table) WHERE product = ? FOR UPDATE", [product]).map(Self.decode) else {
            return false
        }
        try connection.execute("DELETE FROM \(table) WHERE product = ?", [product])
        try AuditLog(connection, prefix: prefix).record(
            subject: "product", id: product, action: "removed", before: Self.summary(before), after: nil,
            actor: actor, now: now)
        return true
    }

    public func all() throws -> [Product] {
        try connection.query("SELECT \(Self.columns) FROM \(table) ORDER BY product").map(Self.decode)
    }

    public func named(_ product: String) throws -> Product? {
        try connection.queryOne("SELECT \(Self.columns) FROM \(table) WHERE product = ?", [product]).map(Self.decode)
    }

    /// The product with this name, or else with this display name (case-insensitive).
    public func named(orDisplayName text: String) throws -> Product? {
        try connection.queryOne(
            "SELECT \(Self.columns) FROM \(table) WHERE product = ? OR name = ? ORDER BY product = ? DESC LIMIT 1",
            [text, text, text]
        ).map(Self.decode)
    }

    /// The product an Easy Digital Downloads plugin names by its numeric `item_id`.
    public func forEDDItem(_ itemID: Int64) throws -> Product? {
        try connection.queryOne("SELECT \(Self.columns) FROM \(table) WHERE edd_item_id = ?", [itemID]).map(Self.decode)
    }

    public func forPrice(_ priceID: String) throws -> Product? {
        try connection.queryOne("SELECT \(Self.columns) FROM \(table) WHERE stripe_price_id = ?", [priceID]).map(Self.decode)
    }

    static func decode(_ row: Row) throws -> Product {
        Product(
            product: try row.string("product"), name: try row.string("name"), kind: try row.value("kind", as: Product.Kind.self),
            stripePriceID: try row.optionalString("stripe_price_id"), tier: try row.optionalString("tier"),
            activationLimit: try row.optionalInt("activation_limit").map(Int.init),
            durationDays: try row.optionalInt("duration_days").map(Int.init),
            credits: try row.optionalInt("credits"), entitlement: try row.optionalString("entitlement"),
            allowPromotionCodes: try row.optionalInt("allow_promotion_codes") == 1
        )
        .withPluginDetails(
            eddItemID: try row.optionalInt("edd_item_id"), slug: try row.optionalString("slug"),
            homepage: try row.optionalString("homepage"), description: try row.optionalString("description"),
            bannerURL: try row.optionalString("banner_url"), iconURL: try row.optionalString("icon_url"))
    }
}
