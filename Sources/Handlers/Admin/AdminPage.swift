import Foundation
import MariaStore

/// The admin page's HTML: one layout, no script at all (the Content-Security-Policy allows
/// none), forms that work in any browser. Every value shown passes through `escape`.
enum AdminPage {
    static let style = """
        body{font-family:system-ui,sans-serif;margin:0;color:#1d2327;background:#f6f7f7;line-height:1.45}
        header{background:#1d2327;color:#fff;padding:.6rem 1.2rem;display:flex;gap:1.2rem;align-items:center;flex-wrap:wrap}
        header a{color:#fff}header form{margin:0}main{padding:1rem 1.2rem;max-width:90rem}
        h1{font-size:1.5rem;margin:.4rem 0 1rem}h2{font-size:1.15rem;margin:1.6rem 0 .6rem}
        table{border-collapse:collapse;background:#fff;margin:.4rem 0 1rem}th,td{border:1px solid #dcdcde;padding:.25rem .55rem;text-align:left;vertical-align:top}
        td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
        .cards{display:flex;flex-wrap:wrap;gap:1rem}.card{background:#fff;border:1px solid #dcdcde;padding:.7rem 1rem;min-width:14rem}
        .card h3{margin:0 0 .4rem;font-size:1rem}
        figure{background:#fff;border:1px solid #dcdcde;margin:0 0 1.2rem;padding:.8rem;display:flex;flex-wrap:wrap;gap:1rem;align-items:flex-start}
        figcaption{font-weight:600;width:100%}.chart-data{max-height:270px;overflow:auto}svg text{font-size:11px;fill:#1d2327}
        details{margin:.2rem 0}form.inline{display:inline-block;margin:.15rem .3rem .15rem 0}
        input,select,button{font:inherit;padding:.2rem .4rem}button{cursor:pointer}
        .notice{background:#fff;border-left:4px solid #2271b1;padding:.5rem .8rem;margin:.5rem 0}
        .error{border-left-color:#d63638}.muted{color:#646970}
        """

    static func escape(_ text: String) -> String { MailTemplates.html(text) }

    /// The admin base path (`/payments/admin`).
    static func base(_ context: Context) -> String { context.configuration.server.mountPrefix + "/admin" }

    /// A page of the signed-in admin page.
    static func render(_ title: String, _ content: String, session: AdminSession?, status: HTTPStatus = .ok, context: Context) -> Response {
        let base = base(context)
        var header = "<header><strong>Payments admin</strong>"
        if let session {
            header += """
                <a href="\(base)/">Dashboard</a><a href="\(base)/events">Events</a>
                <form method="post" action="\(base)/search" role="search"><input type="hidden" name="csrf" value="\(session.csrfToken)">
                <label>Find <input name="q" size="34" placeholder="email, cs_…, pi_…, cus_…, sub_…, in_… or license id" required></label>
                <button>Search</button></form>
                <span class="muted">\(escape(session.email))</span>
                <form method="post" action="\(base)/sign-out"><input type="hidden" name="csrf" value="\(session.csrfToken)"><button>Sign out</button></form>
                """
        }
        header += "</header>"
        let html = """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
            <meta name="robots" content="noindex"><title>\(escape(title)) · Payments admin</title><style>\(style)</style></head>
            <body>\(header)<main><h1>\(escape(title))</h1>\(content)</main></body></html>
            """
        // No script of any kind; inline SVG and styles only; forms only to ourselves.
        let headers = PageHeaders.html(
            contentSecurityPolicy: "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
        return Response(status: status, headers: headers, body: Array(html.utf8))
    }

    /// 303 to another admin page (after a POST, so a reload does not post again).
    static func redirect(_ path: String, context: Context, cookies: [String] = []) -> Response {
        var headers = HTTPHeaders()
        headers.add("Location", base(context) + path)
        headers.add("Cache-Control", "no-store")
        for cookie in cookies { headers.add("Set-Cookie", cookie) }
        return Response(status: .seeOther, headers: headers, body: [])
    }

    /// A notice box (`error` styles it as a failure).
    static func notice(_ text: String, error: Bool = false) -> String {
        "<p class=\"notice\(error ? " error" : "")\" role=\"\(error ? "alert" : "status")\">\(escape(text))</p>"
    }

    /// A form posting to an admin action, with the CSRF token and a confirmation box the
    /// browser (and the server) insist on.
    static func actionForm(
        _ action: String, label: String, fields: [(String, String)] = [], inputs: String = "", confirm: String,
        session: AdminSession, context: Context
    ) -> String {
        var html = "<form class=\"inline\" method=\"post\" action=\"\(base(context))/actions/\(action)\">"
        html += "<input type=\"hidden\" name=\"csrf\" value=\"\(session.csrfToken)\">"
        for (name, value) in fields { html += "<input type=\"hidden\" name=\"\(escape(name))\" value=\"\(escape(value))\">" }
        html += inputs
        html += "<label><input type=\"checkbox\" name=\"confirm\" value=\"yes\" required> \(escape(confirm))</label> <button>\(escape(label))</button></form>"
        return html
    }

    /// A table from a header row and body rows (cells already HTML); `numeric` columns right-aligned.
    static func table(_ headers: [String], _ rows: [[String]], numeric: Set<Int> = [], caption: String? = nil) -> String {
        var html = "<table>"
        if let caption { html += "<caption>\(escape(caption))</caption>" }
        html +=
            "<thead><tr>"
            + headers.enumerated().map { "<th scope=\"col\"\(numeric.contains($0.offset) ? " class=\"n\"" : "")>\(escape($0.element))</th>" }.joined()
            + "</tr></thead><tbody>"
        for row in rows {
            html += "<tr>" + row.enumerated().map { "<td\(numeric.contains($0.offset) ? " class=\"n\"" : "")>\($0.element)</td>" }.joined() + "</tr>"
        }
        if rows.isEmpty { html += "<tr><td colspan=\"\(headers.count)\" class=\"muted\">none</td></tr>" }
        return html + "</tbody></table>"
    }

    /// Money in a currency's own decimals (`€12.50`); never summed across currencies.
    static func money(_ minorUnits: Int64, _ currency: String) -> String { escape(Money.format(minorUnits, currency: currency)) }
}
