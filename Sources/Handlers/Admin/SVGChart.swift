/// Charts as server-rendered SVG, readable without script and by screen readers: each has a
/// title and description (`role="img"`, `aria-labelledby`), labelled axes, a tooltip per bar,
/// and beside it a table holding the same numbers. One chart holds one currency only.
struct SVGChart {
    /// One named series (a product, say): a value per category.
    struct Series {
        let name: String
        let values: [Int64]
    }

    enum Style { case stackedBars, line }

    let id: String
    let title: String
    let description: String
    let categories: [String]
    let series: [Series]
    let xAxisLabel: String
    let yAxisLabel: String
    var style: Style = .stackedBars
    /// How a value is written (money in its currency, a count).
    let format: (Int64) -> String

    static let palette = ["#2271b1", "#d63638", "#00a32a", "#dba617", "#8c5fc4", "#e26f56", "#135e96", "#50575e"]

    static let width = 640.0
    static let height = 260.0
    static let left = 78.0
    static let right = 12.0
    static let top = 14.0
    static let bottom = 52.0

    /// The figure: caption, SVG and its data table.
    func html() -> String {
        "<figure aria-labelledby=\"\(id)-caption\"><figcaption id=\"\(id)-caption\">\(AdminPage.escape(title))</figcaption>" + svg() + dataTable() + "</figure>"
    }

    func totals() -> [Int64] {
        categories.indices.map { index in series.reduce(0) { $0 + max(0, $1.values[index]) } }
    }

    /// A round axis maximum at or above `value` (1, 2 or 5 times a power of ten).
    static func niceCeiling(_ value: Int64) -> Int64 {
        guard value > 0 else { return 1 }
        var power: Int64 = 1
        while power * 10 <= value { power *= 10 }
        for step in [1, 2, 5, 10] as [Int64] where step * power >= value { return step * power }
        return 10 * power
    }

    func svg() -> String {
        let plotWidth = Self.width - Self.left - Self.right
        let plotHeight = Self.height - Self.top - Self.bottom
        let peak = style == .stackedBars ? (totals().max() ?? 0) : (series.flatMap(\.values).max() ?? 0)
        let ceiling = Self.niceCeiling(peak)
        func y(_ value: Int64) -> Double { Self.top + plotHeight - plotHeight * Double(max(0, value)) / Double(ceiling) }
        let slot = categories.isEmpty ? plotWidth : plotWidth / Double(categories.count)
        var out =
            "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(Int(Self.width)) \(Int(Self.height))\" width=\"\(Int(Self.width))\" height=\"\(Int(Self.height))\" role=\"img\" aria-labelledby=\"\(id)-title \(id)-desc\">"
        out += "<title id=\"\(id)-title\">\(AdminPage.escape(title))</title><desc id=\"\(id)-desc\">\(AdminPage.escape(description))</desc>"
        // Grid lines and y-axis labels at quarters of the axis.
        for quarter in 0...4 {
            let value = ceiling * Int64(quarter) / 4
            let lineY = y(value)
            out += "<line x1=\"\(Self.left)\" x2=\"\(Self.width - Self.right)\" y1=\"\(f(lineY))\" y2=\"\(f(lineY))\" stroke=\"#dcdcde\"/>"
            out += "<text x=\"\(f(Self.left - 4))\" y=\"\(f(lineY + 4))\" text-anchor=\"end\">\(AdminPage.escape(format(value)))</text>"
        }
        out += "<line x1=\"\(Self.left)\" x2=\"\(Self.left)\" y1=\"\(Self.top)\" y2=\"\(f(Self.top + plotHeight))\" stroke=\"#50575e\"/>"
        out +=
            "<line x1=\"\(Self.left)\" x2=\"\(Self.width - Self.right)\" y1=\"\(f(Self.top + plotHeight))\" y2=\"\(f(Self.top + plotHeight))\" stroke=\"#50575e\"/>"
        // Category labels, thinned so that they never overlap.
        let every = max(1, Int((Double(categories.count) * 46 / plotWidth).rounded(.up)))
        for (index, category) in categories.enumerated() where index % every == 0 {
            let x = Self.left + slot * (Double(index) + 0.5)
            out += "<text x=\"\(f(x))\" y=\"\(f(Self.top + plotHeight + 14))\" text-anchor=\"middle\">\(AdminPage.escape(Self.shortLabel(category)))</text>"
        }
        out += "<text x=\"\(f(Self.left + plotWidth / 2))\" y=\"\(f(Self.height - 20))\" text-anchor=\"middle\">\(AdminPage.escape(xAxisLabel))</text>"
        out += "<text transform=\"rotate(-90)\" x=\"\(f(-(Self.top + plotHeight / 2)))\" y=\"12\" text-anchor=\"middle\">\(AdminPage.escape(yAxisLabel))</text>"
        switch style {
        case .stackedBars:
            let barWidth = max(1, slot * 0.72)
            for (index, category) in categories.enumerated() {
                var base: Int64 = 0
                let x = Self.left + slot * Double(index) + (slot - barWidth) / 2
                for (number, one) in series.enumerated() where one.values[index] > 0 {
                    let value = one.values[index]
                    let topY = y(base + value)
                    out +=
                        "<rect class=\"bar\" data-series=\"\(AdminPage.escape(one.name))\" data-category=\"\(AdminPage.escape(category))\" data-value=\"\(value)\" "
                        + "x=\"\(f(x))\" y=\"\(f(topY))\" width=\"\(f(barWidth))\" height=\"\(f(y(base) - topY))\" fill=\"\(Self.palette[number % Self.palette.count])\">"
                        + "<title>\(AdminPage.escape("\(category) · \(one.name): \(format(value))"))</title></rect>"
                    base += value
                }
            }
        case .line:
            for (number, one) in series.enumerated() {
                let points = one.values.enumerated().map { "\(f(Self.left + slot * (Double($0.offset) + 0.5))),\(f(y($0.element)))" }.joined(separator: " ")
                let color = Self.palette[number % Self.palette.count]
                out += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\" points=\"\(points)\"/>"
                for (index, value) in one.values.enumerated() {
                    out +=
                        "<circle class=\"point\" data-series=\"\(AdminPage.escape(one.name))\" data-category=\"\(AdminPage.escape(categories[index]))\" data-value=\"\(value)\" "
                        + "cx=\"\(f(Self.left + slot * (Double(index) + 0.5)))\" cy=\"\(f(y(value)))\" r=\"3\" fill=\"\(color)\">"
                        + "<title>\(AdminPage.escape("\(categories[index]) · \(one.name): \(format(value))"))</title></circle>"
                }
            }
        }
        // The legend: which colour is which series.
        var legendX = Self.left
        for (number, one) in series.enumerated() {
            out += "<rect x=\"\(f(legendX))\" y=\"\(f(Self.height - 11))\" width=\"10\" height=\"10\" fill=\"\(Self.palette[number % Self.palette.count])\"/>"
            out += "<text x=\"\(f(legendX + 14))\" y=\"\(f(Self.height - 2))\">\(AdminPage.escape(one.name))</text>"
            legendX += 24 + Double(one.name.count) * 6.5
        }
        return out + "</svg>"
    }

    /// The same numbers as a table (what a screen reader or a copy-paste reads).
    func dataTable() -> String {
        let showTotal = style == .stackedBars && series.count > 1
        var headers = [xAxisLabel] + series.map(\.name)
        if showTotal { headers.append("Total") }
        let totals = totals()
        let rows = categories.enumerated().map { index, category -> [String] in
            var cells = [AdminPage.escape(category)] + series.map { AdminPage.escape(format($0.values[index])) }
            if showTotal { cells.append(AdminPage.escape(format(totals[index]))) }
            return cells
        }
        // Scrolls beside the chart rather than stretching the page (30 days are 30 rows).
        return "<div class=\"chart-data\" tabindex=\"0\" role=\"region\" aria-label=\"\(AdminPage.escape(title)) (data)\">"
            + AdminPage.table(headers, rows, numeric: Set(1..<headers.count), caption: title + " (data)")
            .replacingOccurrences(of: "<table>", with: "<table id=\"\(id)-data\">") + "</div>"
    }

    /// `2026-11-03` → `11-03`; months stay `2026-11`.
    static func shortLabel(_ category: String) -> String {
        category.count == 10 ? String(category.suffix(5)) : category
    }

    private func f(_ value: Double) -> String {
        let rounded = (value * 10).rounded() / 10
        return rounded == rounded.rounded() ? String(Int(rounded)) : String(rounded)
    }
}
