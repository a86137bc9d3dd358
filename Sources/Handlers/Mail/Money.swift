/// Amounts as buyers read them, from integer minor units and an ISO currency code, following
/// Stripe's currency rules (zero-decimal currencies have no minor unit).
public enum Money {
    /// Stripe's zero-decimal currencies.
    public static let zeroDecimal: Set<String> = [
        "BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF",
    ]
    /// Currencies with three decimal places.
    public static let threeDecimal: Set<String> = ["BHD", "JOD", "KWD", "OMR", "TND"]

    /// `4900, "usd"` → `49.00 USD`; `5000, "jpy"` → `5000 JPY`.
    public static func format(_ minorUnits: Int64, currency: String) -> String {
        let code = currency.uppercased()
        let decimals = zeroDecimal.contains(code) ? 0 : threeDecimal.contains(code) ? 3 : 2
        let sign = minorUnits < 0 ? "-" : ""
        let magnitude = minorUnits.magnitude
        guard decimals > 0 else { return "\(sign)\(magnitude) \(code)" }
        var divisor: UInt64 = 1
        for _ in 0..<decimals { divisor *= 10 }
        let fraction = String(magnitude % divisor)
        return "\(sign)\(magnitude / divisor).\(String(repeating: "0", count: decimals - fraction.count) + fraction) \(code)"
    }
}
