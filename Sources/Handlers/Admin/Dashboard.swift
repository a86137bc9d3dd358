import Foundation
import MariaStore

/// `GET /admin/`: the business at a glance.
enum Dashboard {
    static func show(_ request: Request, _ context: Context) throws -> Response {
        let session = try AdminSession.require(request, context)
        let figures = try BusinessFigures.gather(context)
        var html = ""
        html += revenueSection(figures)
        html += subscriptionSection(figures)
        html += operationsSection(figures, session: session, context: context)
        html += charts(figures)
        return AdminPage.render("Dashboard", html, session: session, context: context)
    }

    static func revenueSection(_ figures: BusinessFigures) -> String {
        var html =
            "<h2>Revenue</h2><p class=\"muted\">Sales counted on the day they were made (UTC); refunds and lost disputes of those sales taken off. Each currency apart.</p>"
        let periods = [("Today", figures.today), ("This month", figures.monthStart), ("Last 12 months", figures.yearStart)]
        var rows: [[String]] = []
        for currency in figures.currencies {
            for (label, start) in periods {
                let line = figures.revenueTotals(since: start).first { $0.currency == currency }
                rows.append([
                    AdminPage.escape(currency), label, String(line?.sales ?? 0), AdminPage.money(line?.gross ?? 0, currency),
                    AdminPage.money(line?.refunds ?? 0, currency), AdminPage.money(line?.disputes ?? 0, currency),
                    AdminPage.money(line?.net ?? 0, currency),
                ])
            }
        }
        html += AdminPage.table(["Currency", "Period", "Sales", "Gross", "Refunds", "Disputes", "Net"], rows, numeric: [2, 3, 4, 5, 6])
            .replacingOccurrences(of: "<table>", with: "<table id=\"revenue\">")
        return html
    }

    static func subscriptionSection(_ figures: BusinessFigures) -> String {
        var html = "<h2>Subscriptions</h2><div class=\"cards\">"
        let mrr = SubscriptionReport.byCurrency(figures.mrrNow)
        html +=
            "<div class=\"card\" id=\"mrr\"><h3>MRR</h3>"
            + (mrr.isEmpty
                ? "<p class=\"muted\">none</p>"
                : mrr.map {
                    "<p><strong>\(AdminPage.money($0.amount, $0.currency))</strong> from \($0.subscriptions) paid period(s)</p>"
                }.joined()) + "</div>"
        html +=
            "<div class=\"card\"><h3>Active</h3><p><strong id=\"active-subscriptions\">\(figures.subscriptions.active)</strong></p>"
            + figures.subscriptions.activeByPlan.map { "<p>\(AdminPage.escape($0.plan)): \($0.count)</p>" }.joined() + "</div>"
        html +=
            "<div class=\"card\"><h3>This month</h3><p>New: <strong id=\"new-subscriptions\">\(figures.subscriptions.started)</strong></p>"
            + "<p>Churned: <strong id=\"churned-subscriptions\">\(figures.subscriptions.churned)</strong></p></div>"
        return html + "</div>"
    }

    static func operationsSection(_ figures: BusinessFigures, session: AdminSession, context: Context) -> String {
        let activity = figures.activity
        var html = "<h2>This month</h2><div class=\"cards\">"
        html +=
            "<div class=\"card\"><h3>Licenses</h3><p>Issued: <strong id=\"licenses-issued\">\(activity.licensesIssued)</strong></p>"
            + "<p>New activations: <strong id=\"activations\">\(activity.activations)</strong></p></div>"
        html +=
            "<div class=\"card\"><h3>Credits</h3><p>Granted: <strong id=\"credits-granted\">\(activity.creditsGranted)</strong></p>"
            + "<p>Consumed: <strong id=\"credits-consumed\">\(activity.creditsConsumed)</strong></p></div>"
        let webhook = figures.webhook
        html +=
            "<div class=\"card\"><h3>Webhook</h3><p>Last live event: \(AdminPage.escape(webhook.lastLive ?? "never"))</p>"
            + "<p>Last test event: \(AdminPage.escape(webhook.lastTest ?? "never"))</p>"
            + "<p>Failed events: <a href=\"\(AdminPage.base(context))/events?outcome=failed\"><strong id=\"failed-events\">\(webhook.failed)</strong></a></p></div>"
        let outbox = figures.outbox
        html +=
            "<div class=\"card\"><h3>Outbox</h3><p>Waiting: <strong id=\"outbox-pending\">\(outbox.pending)</strong>"
            + (outbox.oldestPending.map { " (oldest since \(AdminPage.escape($0)))" } ?? "") + "</p>"
            + "<p>Dead letters: <strong id=\"outbox-dead\">\(outbox.dead)</strong></p>"
            + (outbox.dead > 0
                ? AdminPage.actionForm(
                    "retry-outbox", label: "Retry all dead messages", confirm: "Send them again",
                    session: session, context: context) : "") + "</div>"
        html += "</div>"
        if !figures.attention.isEmpty {
            html +=
                "<h2>Orders that need you</h2>"
                + AdminPage.table(
                    ["Order", "Amount", "Why", ""],
                    figures.attention.map { order in
                        [
                            AdminPage.escape(order.sessionID), AdminPage.money(order.amountTotal, order.currency), AdminPage.escape(order.attention ?? ""),
                            AdminPage.actionForm(
                                "fulfil", label: "Fulfil now", fields: [("session", order.sessionID)], confirm: "Grant what is due",
                                session: session, context: context),
                        ]
                    }, numeric: [1])
        }
        return html
    }

    static func charts(_ figures: BusinessFigures) -> String {
        var html = "<h2>Charts</h2>"
        let days = (0..<30).map { BusinessCalendar.dayLabel(BusinessCalendar.adding(days: $0 - 29, to: figures.today)) }
        let months = figures.mrrByMonth.map(\.month)
        for currency in figures.currencies {
            let format: (Int64) -> String = { Money.format($0, currency: currency) }
            let slug = currency.lowercased()
            html += SVGChart(
                id: "revenue-daily-\(slug)", title: "Revenue per day, last 30 days (\(currency), gross, by product)",
                description: "Stacked bars: each day's sales in \(currency), one colour per product.", categories: days,
                series: figures.revenueSeries(currency: currency, categories: days, monthly: false),
                xAxisLabel: "Day", yAxisLabel: "Gross (\(currency))", format: format
            ).html()
            html += SVGChart(
                id: "revenue-monthly-\(slug)", title: "Revenue per month, last 12 months (\(currency), gross, by product)",
                description: "Stacked bars: each month's sales in \(currency), one colour per product.", categories: months,
                series: figures.revenueSeries(currency: currency, categories: months, monthly: true),
                xAxisLabel: "Month", yAxisLabel: "Gross (\(currency))", format: format
            ).html()
            let mrr = figures.mrrByMonth.map { month in month.amounts.first { $0.currency == currency }?.amount ?? 0 }
            if mrr.contains(where: { $0 != 0 }) {
                html += SVGChart(
                    id: "mrr-\(slug)", title: "MRR at each month's end (\(currency))",
                    description: "Monthly recurring revenue in \(currency) at the end of each of the last twelve months.",
                    categories: months, series: [SVGChart.Series(name: "MRR", values: mrr)], xAxisLabel: "Month",
                    yAxisLabel: "MRR (\(currency))", style: .line, format: format
                ).html()
            }
        }
        let activations = days.map { day in figures.activationsPerDay.first { $0.day == day }?.count ?? 0 }
        html += SVGChart(
            id: "activations", title: "New activations per day, last 30 days",
            description: "Sites activated for the first time each day.", categories: days,
            series: [SVGChart.Series(name: "Activations", values: activations)], xAxisLabel: "Day", yAxisLabel: "Sites",
            format: { String($0) }
        ).html()
        return html
    }
}
