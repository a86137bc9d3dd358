/// Amounts as buyers read them, from integer minor units and an ISO currency code, following
/// Stripe's currency rules (zero-decimal currencies have no minor unit).
public enum Money {
    /// Stripe's zero-decimal currencies.
    public static let zeroDecimal: Set<String> = [
        "BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF",
    ]
    /// Currencies with three decimal places.
    public static let threeDecimal: Set<String> = ["BHD", "JOD", "KWD", "OMR", "TND"]

    /// Decimal places of a currency's minor unit, as Stripe counts them.
    public static func decimals(of currency: String) -> Int {
        let code = currency.uppercased()
        return zeroDecimal.contains(code) ? 0 : threeDecimal.contains(code) ? 3 : 2
    }

    /// `"49.90", "usd"` → 4990; `"5000", "jpy"` → 5000. nil for anything but a plain decimal
    /// with at most the currency's decimal places, or a value that does not fit.
    public static func minorUnits(decimal text: String, currency: String) -> Int64? {
        let decimals = decimals(of: currency)
        var negative = false
        var digits = Substring(text)
        if digits.hasPrefix("-") {
            negative = true
            digits = digits.dropFirst()
        }
        let parts = digits.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard let whole = parts.first, !whole.isEmpty, whole.count <= 15, whole.utf8.allSatisfy({ (48...57).contains($0) }) else { return nil }
        var fraction = parts.count == 2 ? parts[1] : ""
        guard fraction.utf8.allSatisfy({ (48...57).contains($0) }), parts.count == 1 || !fraction.isEmpty else { return nil }
        // Trailing zeros beyond the minor unit say nothing ("49.900" is 49.90).
        while fraction.count > decimals, fraction.hasSuffix("0") { fraction = fraction.dropLast() }
        guard fraction.count <= decimals else { return nil }
        let padded = fraction + String(repeating: "0", count: decimals - fraction.count)
        guard let value = Int64(whole + padded) else { return nil }
        return negative ? -value : value
    }

    /// `4990, "usd"` → `"49.90"`: the plain decimal other systems (WooCommerce) expect.
    public static func decimal(_ minorUnits: Int64, currency: String) -> String {
        let formatted = format(minorUnits, currency: currency)
        return String(formatted.prefix(upTo: formatted.lastIndex(of: " ") ?? formatted.endIndex))
    }

    /// `4900, "usd"` → `49.00 USD`; `5000, "jpy"` → `5000 JPY`.
    public static func format(_ minorUnits: Int64, currency: String) -> String {
        let code = currency.uppercased()
        let decimals = decimals(of: code)
        let sign = minorUnits < 0 ? "-" : ""
        let magnitude = minorUnits.magnitude
        guard decimals > 0 else { return "\(sign)\(magnitude) \(code)" }
        var divisor: UInt64 = 1
        for _ in 0..<decimals { divisor *= 10 }
        let fraction = String(magnitude % divisor)
        return "\(sign)\(magnitude / divisor).\(String(repeating: "0", count: decimals - fraction.count) + fraction) \(code)"
    }
}
