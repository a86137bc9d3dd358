import Foundation
import MariaStore

/// The few HTML pages a buyer sees (the success page and its errors), from templates the
/// seller can replace: `checkout.templates_dir/page.html` with `{{title}}`, `{{content}}`,
/// `{{return_url}}`.
enum HTMLPage {
    static let builtIn = """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
        <title>{{title}}</title>
        <style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;line-height:1.5}
        .key{font-family:monospace;font-size:1.2rem;padding:.6rem;background:#f3f3f3;border-radius:4px;user-select:all}
        button{padding:.4rem .8rem}</style></head>
        <body><h1>{{title}}</h1>{{content}}<p><a href="{{return_url}}">Back to the shop</a></p></body></html>
        """

    static func render(status: HTTPStatus = .ok, title: String, content: String, context: Context) -> Response {
        var template = builtIn
        if let directory = context.configuration.checkout.templatesDir,
            let custom = try? String(contentsOfFile: directory + "/page.html", encoding: .utf8)
        {
            template = custom
        }
        let html =
            template
            .replacingOccurrences(of: "{{title}}", with: escape(title))
            .replacingOccurrences(of: "{{return_url}}", with: escape(context.configuration.checkout.returnURL ?? "/"))
            .replacingOccurrences(of: "{{content}}", with: content)
        // The page may show a license key: no script at all.
        let headers = PageHeaders.html(
            contentSecurityPolicy: "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
        return Response(status: status, headers: headers, body: Array(html.utf8))
    }

    static func error(status: HTTPStatus, title: String, message: String, context: Context) -> Response {
        render(status: status, title: title, content: "<p>\(escape(message))</p>", context: context)
    }

    /// A failure as a buyer's browser should see it: our own refusals (4xx) in their words,
    /// anything else as a plain sentence — the details go to the log, never to the page.
    static func failure(_ error: any Error, title: String, context: Context) -> Response {
        if let refusal = error as? APIError, refusal.status.code < 500 {
            return Self.error(status: refusal.status, title: title, message: refusal.message, context: context)
        }
        let status: HTTPStatus
        switch error {
        case let error as any HTTPResponseError: status = error.status
        case let error as DatabaseError where error.isUnavailable || error.isTransient: status = .serviceUnavailable
        default: status = .internalServerError
        }
        context.logger.error("page failed", metadata: ["title": "\(title)", "error": "\(error)"])
        var page = Self.error(status: status, title: title, message: "Something went wrong on our side. Please try again in a moment.", context: context)
        if status == .serviceUnavailable || status == .badGateway { page.headers.add("Retry-After", "30") }
        return page
    }

    static func escape(_ text: String) -> String { MailTemplates.html(text) }
}
