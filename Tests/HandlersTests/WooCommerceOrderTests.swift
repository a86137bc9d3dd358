import Handlers
import Testing

/// Reading a WooCommerce order and turning it into Checkout lines: pure rules.
@Suite("WooCommerce orders and amounts")
struct WooCommerceOrderTests {
    static func order(total: String, currency: String = "USD", lines: String, shipping: String = "[]", fees: String = "[]") throws -> WooCommerceOrder {
        try WooCommerceOrder(
            JSONObject.parse(
                Array(
                    """
                    {"id":5,"status":"pending","currency":"\(currency)","total":"\(total)","order_key":"wc_order_k","billing":{"email":"a@b.example"},
                     "line_items":\(lines),"shipping_lines":\(shipping),"fee_lines":\(fees)}
                    """.utf8)))
    }

    @Test func decimalAmountsFollowTheCurrency() {
        #expect(Money.minorUnits(decimal: "49.90", currency: "USD") == 4990)
        #expect(Money.minorUnits(decimal: "49.9", currency: "usd") == 4990)
        #expect(Money.minorUnits(decimal: "49", currency: "EUR") == 4900)
        #expect(Money.minorUnits(decimal: "49.900", currency: "USD") == 4990)
        #expect(Money.minorUnits(decimal: "5000", currency: "JPY") == 5000)
        #expect(Money.minorUnits(decimal: "1.234", currency: "KWD") == 1234)
        #expect(Money.minorUnits(decimal: "-2.50", currency: "USD") == -250)
        for bad in ["49.999", "4,90", "", ".5", "5.", "1e3", "12345678901234567890", " 5", "5000.5"] {
            #expect(Money.minorUnits(decimal: bad, currency: bad == "5000.5" ? "JPY" : "USD") == nil, "\(bad)")
        }
        #expect(Money.decimal(4990, currency: "USD") == "49.90")
        #expect(Money.decimal(5000, currency: "JPY") == "5000")
    }

    @Test func linesThatAddUpAreKeptWithTaxIncluded() throws {
        let order = try Self.order(
            total: "49.00", lines: #"[{"name":"Hoodie","quantity":2,"total":"40.00","total_tax":"4.00"}]"#,
            shipping: #"[{"method_title":"Flat rate","total":"4.55","total_tax":"0.45"}]"#)
        #expect(order.total == 4900)
        #expect(order.email == "a@b.example")
        #expect(order.checkoutLines == [.init(name: "Hoodie × 2", amount: 4400), .init(name: "Flat rate", amount: 500)])
    }

    @Test func linesThatDoNotAddUpBecomeOneLineOfTheTotal() throws {
        let rounding = try Self.order(total: "10.01", lines: #"[{"name":"A","quantity":1,"total":"10.00","total_tax":"0.00"}]"#)
        #expect(rounding.checkoutLines == [.init(name: "Order #5", amount: 1001)])
        let discount = try Self.order(
            total: "8.00", lines: #"[{"name":"A","quantity":1,"total":"10.00","total_tax":"0"}]"#,
            fees: #"[{"name":"Loyalty","total":"-2.00","total_tax":"0"}]"#)
        #expect(discount.checkoutLines == [.init(name: "Order #5", amount: 800)])
        let free = try Self.order(
            total: "3.00", lines: #"[{"name":"Gift","quantity":1,"total":"0.00","total_tax":"0"},{"name":"B","quantity":1,"total":"3.00","total_tax":"0"}]"#)
        #expect(free.checkoutLines == [.init(name: "B", amount: 300)])
        #expect(free.checkoutLines.map(\.amount).reduce(0, +) == free.total)
    }

    @Test func malformedAmountsAreRefused() {
        #expect(throws: JSONObject.ShapeError.self) { try Self.order(total: "49,00", lines: "[]") }
        #expect(throws: JSONObject.ShapeError.self) { try Self.order(total: "1.00", currency: "US", lines: "[]") }
    }
}
