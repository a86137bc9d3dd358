/// A WooCommerce order as the shop's REST API (`/wp-json/wc/v3/orders/{id}`) reports it:
/// only what paying it needs, amounts in minor units of its currency.
public struct WooCommerceOrder: Sendable, Equatable {
    public let id: Int64
    /// `pending` (awaiting payment), `processing`, `on-hold`, `completed`, `cancelled`, …
    public let status: String
    public let currency: String
    public let total: Int64
    public let email: String?
    public let orderKey: String?
    public let transactionID: String?
    /// The order's lines as a buyer would read them: products, shipping, fees (tax included).
    public let lines: [Line]

    public struct Line: Sendable, Equatable {
        public let name: String
        public let amount: Int64

        public init(name: String, amount: Int64) {
            self.name = name
            self.amount = amount
        }
    }

    public init(id: Int64, status: String, currency: String, total: Int64, email: String?, orderKey: String?, transactionID: String?, lines: [Line]) {
        self.id = id
        self.status = status
        self.currency = currency
        self.total = total
        self.email = email
        self.orderKey = orderKey
        self.transactionID = transactionID
        self.lines = lines
    }

    /// Reads the REST API's order object; amounts are WooCommerce's decimal strings.
    public init(_ object: JSONObject) throws(JSONObject.ShapeError) {
        let code = try object.string("currency")
        guard code.utf8.count == 3, code.allSatisfy(\.isLetter) else {
            throw JSONObject.ShapeError(path: "currency", problem: "expected a three-letter ISO currency code")
        }
        let currency = code.uppercased()
        func money(_ text: String?, _ path: String) throws(JSONObject.ShapeError) -> Int64 {
            guard let text else { return 0 }
            guard let value = Money.minorUnits(decimal: text, currency: currency) else {
                throw JSONObject.ShapeError(path: path, problem: "'\(text.prefix(24))' is not an amount in \(currency)")
            }
            return value
        }
        self.currency = currency
        id = try object.int("id")
        status = try object.string("status")
        total = try money(try object.string("total"), "total")
        email = try object.optionalObject("billing")?.optionalString("email").flatMap { $0.isEmpty ? nil : $0 }
        orderKey = try object.optionalString("order_key")
        transactionID = try object.optionalString("transaction_id").flatMap { $0.isEmpty ? nil : $0 }
        var lines: [Line] = []
        for (list, nameField) in [("line_items", "name"), ("shipping_lines", "method_title"), ("fee_lines", "name")] where object.has(list) {
            for item in try object.array(list) {
                let amount = try money(try item.optionalString("total"), "\(list).total") + money(try item.optionalString("total_tax"), "\(list).total_tax")
                var name = try item.optionalString(nameField) ?? list
                if list == "line_items", let quantity = try item.optionalInt("quantity"), quantity != 1 { name += " × \(quantity)" }
                lines.append(Line(name: String(name.prefix(200)), amount: amount))
            }
        }
        self.lines = lines
    }

    /// The lines a Checkout Session shows for this order, summing exactly to its total: each
    /// line as one item of its amount (free lines left out), or — when WooCommerce's lines do
    /// not add up to its total (rounding of taxes) or one is negative (a discount fee) — one
    /// line for the whole order. The buyer is never charged anything but the order's total.
    public var checkoutLines: [Line] {
        let charged = lines.filter { $0.amount != 0 }
        var sum: Int64 = 0
        var addsUp = !charged.isEmpty
        for line in charged {
            let (next, overflow) = sum.addingReportingOverflow(line.amount)
            if overflow || line.amount <= 0 {
                addsUp = false
                break
            }
            sum = next
        }
        if addsUp && sum == total { return charged }
        return [Line(name: "Order #\(id)", amount: total)]
    }
}
