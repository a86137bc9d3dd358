/// What a Stripe price grants when it is paid for: the catalogue's unit.
public struct Product: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        /// A license key of a tier, with an activation limit, lifetime or for a duration.
        case license
        /// A pack of credits (times the quantity bought).
        case credits
        /// A recurring plan: a license valid while the subscription is, and/or credits per paid period.
        case subscription
        /// A named right the WordPress site acts on (a course enrolment, a role).
        case entitlement
    }

    /// The seller's own stable name for it (`pro-license`): letters, digits, `-`, `_`, `.`.
    public var product: String
    public var name: String
    public var kind: Kind
    public var stripePriceID: String?
    public var tier: String?
    public var activationLimit: Int?
    /// Days a license stays valid; nil for lifetime (or, for subscriptions, the billing period).
    public var durationDays: Int?
    public var credits: Int64?
    public var entitlement: String?
    /// Whether Checkout offers a promotion-code field for it.
    public var allowPromotionCodes: Bool
    /// The numeric download id plugins built on Easy Digital Downloads send as `item_id`.
    public var eddItemID: Int64?
    /// What WordPress shows of the plugin in "View details": its slug, homepage, description
    /// (HTML), banner and icon addresses.
    public var slug: String?
    public var homepage: String?
    public var description: String?
    public var bannerURL: String?
    public var iconURL: String?

    public init(
        product: String, name: String, kind: Kind, stripePriceID: String? = nil, tier: String? = nil,
        activationLimit: Int? = nil, durationDays: Int? = nil, credits: Int64? = nil, entitlement: String? = nil,
        allowPromotionCodes: Bool = false
    ) {
        self.allowPromotionCodes = allowPromotionCodes
        self.product = product
        self.name = name
        self.kind = kind
        self.stripePriceID = stripePriceID
        self.tier = tier
        self.activationLimit = activationLimit
        self.durationDays = durationDays
        self.credits = credits
        self.entitlement = entitlement
    }

    /// The same product with its EDD item id and plugin details.
    public func withPluginDetails(
        eddItemID: Int64?, slug: String? = nil, homepage: String? = nil, description: String? = nil,
        bannerURL: String? = nil, iconURL: String? = nil
    ) -> Product {
        var product = self
        product.eddItemID = eddItemID
        product.slug = slug
        product.homepage = homepage
        product.description = description
        product.bannerURL = bannerURL
        product.iconURL = iconURL
        return product
    }

    /// Whether a purchase of this product issues a license key.
    public var grantsLicense: Bool { kind == .license || (kind == .subscription && activationLimit != nil) }

    /// Every rule the product breaks, each as a sentence (empty when it is valid).
    public var problems: [String] {
        var problems: [String] = []
        let allowed = product.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 | 0x20 >= 97 && $0 | 0x20 <= 122) || $0 == 45 || $0 == 95 || $0 == 46 }
        if product.isEmpty || product.utf8.count > 64 || !allowed {
            problems.append("product must be 1 to 64 letters, digits, '-', '_' or '.'")
        }
        if name.isEmpty { problems.append("name must not be empty") }
        if let price = stripePriceID, !price.hasPrefix("price_") && !price.hasPrefix("plan_") {
            problems.append("stripe_price_id must be a Stripe price id (price_…)")
        }
        if let limit = activationLimit, !(1...10_000).contains(limit) { problems.append("activation_limit must be from 1 to 10000") }
        if let days = durationDays, !(1...36_500).contains(days) { problems.append("duration_days must be from 1 to 36500") }
        if let credits, credits <= 0 { problems.append("credits must be positive") }
        if let id = eddItemID, id <= 0 { problems.append("edd_item_id must be a positive whole number") }
        if let slug,
            slug.isEmpty || slug.utf8.count > 191 || !slug.utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 122) || $0 == 45 || $0 == 95 })
        {
            problems.append("slug must be lower-case letters, digits, '-' or '_'")
        }
        for (name, url) in [("homepage", homepage), ("banner_url", bannerURL), ("icon_url", iconURL)] {
            if let url, !(url.hasPrefix("https://") || url.hasPrefix("http://")) || url.utf8.count > 2048 {
                problems.append("\(name) must be an http or https address")
            }
        }
        switch kind {
        case .license:
            if activationLimit == nil { problems.append("a license product needs activation_limit") }
        case .credits:
            if credits == nil { problems.append("a credits product needs credits") }
        case .subscription:
            if activationLimit == nil && credits == nil { problems.append("a subscription product needs activation_limit (a license) and/or credits") }
        case .entitlement:
            if entitlement?.isEmpty ?? true { problems.append("an entitlement product needs entitlement") }
        }
        return problems
    }
}
