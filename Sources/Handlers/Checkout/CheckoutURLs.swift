import Foundation

/// Which redirect URLs a checkout may use: only those on the seller's allowed origins, so a
/// crafted request cannot send buyers to another site after paying.
public enum CheckoutURLs {
    /// `https://shop.example.com:8443/x?y` → `https://shop.example.com:8443`; nil when not http(s).
    public static func origin(of text: String) -> String? {
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
            scheme == "https" || scheme == "http", let host = components.host?.lowercased(), !host.isEmpty,
            components.user == nil, components.password == nil
        else { return nil }
        let port = components.port.map { ":\($0)" } ?? ""
        return "\(scheme)://\(host)\(port)"
    }

    /// Whether `url` is on one of `allowed` origins.
    public static func isAllowed(_ url: String, origins allowed: [String]) -> Bool {
        guard let origin = origin(of: url) else { return false }
        return allowed.contains { $0.lowercased() == origin }
    }
}
