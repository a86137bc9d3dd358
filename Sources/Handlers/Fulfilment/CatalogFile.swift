import MariaStore

/// The catalogue file `payments-fcgi catalog import` reads: INI, one section per product.
///
///     [pro-license]
///     name = Pro license
///     kind = license
///     stripe_price_id = price_1Pro
///     activation_limit = 3
///     duration_days = 365
///     edd_item_id = 123
///     slug = pro-plugin
///     homepage = https://example.com/pro-plugin
///     description = <p>What the plugin does.</p>
///     banner_url = https://example.com/banner-772x250.png
///     icon_url = https://example.com/icon-128x128.png
public enum CatalogFile {
    static let keys: Set<String> = [
        "name", "kind", "stripe_price_id", "tier", "activation_limit", "duration_days", "credits", "entitlement",
        "allow_promotion_codes", "edd_item_id", "slug", "homepage", "description", "banner_url", "icon_url",
    ]

    public static func parse(_ text: String) -> Result<[Product], ConfigurationError> {
        let file: INIFile
        switch INIFile.parse(text) {
        case .success(let parsed): file = parsed
        case .failure(let error): return .failure(error)
        }
        var problems: [String] = []
        var order: [String] = []
        for key in file.order {
            let parts = key.split(separator: ".", maxSplits: 1)
            guard parts.count == 2 else {
                problems.append("line \(file.entries[key]!.line): \(key) is outside a [product] section")
                continue
            }
            if !keys.contains(String(parts[1])) { problems.append("line \(file.entries[key]!.line): unknown key \(parts[1])") }
            if !order.contains(String(parts[0])) { order.append(String(parts[0])) }
        }
        var products: [Product] = []
        for name in order {
            func value(_ key: String) -> String? { file.entries["\(name).\(key)"]?.value }
            func number(_ key: String) -> Int64? {
                guard let text = value(key) else { return nil }
                guard let n = Int64(text) else {
                    problems.append("[\(name)] \(key) must be a whole number")
                    return nil
                }
                return n
            }
            guard let kind = value("kind").flatMap(Product.Kind.init(rawValue:)) else {
                problems.append("[\(name)] kind must be one of license, credits, subscription, entitlement")
                continue
            }
            let product = Product(
                product: name, name: value("name") ?? name, kind: kind, stripePriceID: value("stripe_price_id"),
                tier: value("tier"), activationLimit: number("activation_limit").map(Int.init),
                durationDays: number("duration_days").map(Int.init), credits: number("credits"),
                entitlement: value("entitlement"),
                allowPromotionCodes: ["yes", "true", "1", "on"].contains(value("allow_promotion_codes")?.lowercased() ?? "")
            )
            .withPluginDetails(
                eddItemID: number("edd_item_id"), slug: value("slug"), homepage: value("homepage"),
                description: value("description"), bannerURL: value("banner_url"), iconURL: value("icon_url"))
            problems += product.problems.map { "[\(name)] \($0)" }
            products.append(product)
        }
        return problems.isEmpty ? .success(products) : .failure(ConfigurationError(problems: problems))
    }
}
