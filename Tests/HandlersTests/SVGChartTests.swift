import MariaStore
import Testing

@testable import Handlers

@Suite("Server-rendered charts and report arithmetic")
struct SVGChartTests {
    func chart(_ series: [SVGChart.Series], style: SVGChart.Style = .stackedBars) -> SVGChart {
        SVGChart(
            id: "t", title: "Revenue <EUR>", description: "A test & its bars", categories: ["2026-11-01", "2026-11-02", "2026-11-03"],
            series: series, xAxisLabel: "Day", yAxisLabel: "Gross", style: style, format: { Money.format($0, currency: "EUR") })
    }

    @Test func chartIsAccessibleAndCarriesItsNumbers() {
        let html = chart([.init(name: "pro", values: [4900, 0, 1900]), .init(name: "<b>credits</b>", values: [100, 200, 0])]).html()
        #expect(html.contains("role=\"img\" aria-labelledby=\"t-title t-desc\""))
        #expect(html.contains("<title id=\"t-title\">Revenue &lt;EUR&gt;</title>"))
        #expect(html.contains("<desc id=\"t-desc\">A test &amp; its bars</desc>"))
        #expect(!html.contains("<b>credits</b>"))
        // One bar part per positive value, each with its value and a tooltip.
        #expect(html.components(separatedBy: "class=\"bar\"").count - 1 == 4)
        #expect(html.contains("data-value=\"4900\""))
        #expect(html.contains("<title>2026-11-01 · pro: 49.00 EUR</title>"))
        // The axis labels, and the data table beside it with a total per day.
        #expect(html.contains(">Day</text>") && html.contains(">Gross</text>"))
        #expect(html.contains("<table id=\"t-data\">"))
        #expect(html.contains("<td>2026-11-01</td><td class=\"n\">49.00 EUR</td><td class=\"n\">1.00 EUR</td><td class=\"n\">50.00 EUR</td>"))
        #expect(!html.contains("<script"))
    }

    @Test func lineChartHasAPointPerValue() {
        let html = chart([.init(name: "MRR", values: [0, 913, 913])], style: .line).html()
        #expect(html.contains("<polyline"))
        #expect(html.components(separatedBy: "class=\"point\"").count - 1 == 3)
    }

    @Test func axisTopsAreRound() {
        #expect(SVGChart.niceCeiling(0) == 1)
        #expect(SVGChart.niceCeiling(7) == 10)
        #expect(SVGChart.niceCeiling(4900) == 5000)
        #expect(SVGChart.niceCeiling(5001) == 10000)
        #expect(SVGChart.niceCeiling(15100) == 20000)
    }

    @Test func reportTotalsNeverMixCurrencies() {
        let lines = [
            RevenueReport.Line(period: "2026-11-01", currency: "EUR", product: "a", sales: 1, gross: 1900, refunds: 0, disputes: 1900),
            RevenueReport.Line(period: "2026-11-01", currency: "USD", product: "a", sales: 2, gross: 9800, refunds: 1500, disputes: 0),
            RevenueReport.Line(period: "2026-11-01", currency: "USD", product: "b", sales: 1, gross: 900, refunds: 0, disputes: 0),
            RevenueReport.Line(period: "2026-11-02", currency: "EUR", product: "a", sales: 1, gross: 1900, refunds: 0, disputes: 0),
        ]
        let byDay = RevenueReport.byPeriodAndCurrency(lines)
        #expect(
            byDay.map { "\($0.period) \($0.currency) \($0.sales) \($0.gross) \($0.net)" } == [
                "2026-11-01 EUR 1 1900 0", "2026-11-01 USD 3 10700 9200", "2026-11-02 EUR 1 1900 1900",
            ])
        #expect(RevenueReport.byCurrency(lines).map { "\($0.currency) \($0.gross) \($0.net)" } == ["EUR 3800 1900", "USD 10700 9200"])
    }
}
