import Foundation
import MariaStore

/// `GET /admin/events?type=…&outcome=…&mode=…`: the webhook ledger, failed events with their
/// reason and a replay button, and the outbox's dead letters. The filters are Stripe's event
/// types and outcomes — never personal data — so they may sit in the URL.
enum EventsPage {
    static func show(_ request: Request, _ context: Context) throws -> Response {
        let session = try AdminSession.require(request, context)
        var filters: [String: String] = [:]
        for (name, value) in request.queryItems where ["type", "outcome", "mode", "done"].contains(name) && !value.isEmpty && value.count <= 100 {
            filters[name] = value
        }
        let store = context.store
        let (events, types, dead) = try store.withConnection { connection in
            let directory = CustomerDirectory(connection, prefix: store.prefix)
            return (
                try directory.events(type: filters["type"], outcome: filters["outcome"], livemode: filters["mode"].map { $0 == "live" }),
                try directory.eventTypes(), try Outbox(connection, prefix: store.prefix).summaries(dead: true)
            )
        }
        var html = filters["done"].flatMap(AdminActions.doneMessage).map { AdminPage.notice($0) } ?? ""
        func options(_ values: [String], selected: String?) -> String {
            ([""] + values).map {
                "<option value=\"\(AdminPage.escape($0))\"\($0 == (selected ?? "") ? " selected" : "")>\($0.isEmpty ? "any" : AdminPage.escape($0))</option>"
            }.joined()
        }
        html += """
            <form method="get" action="\(AdminPage.base(context))/events">
            <label>Type <select name="type">\(options(types, selected: filters["type"]))</select></label>
            <label>Outcome <select name="outcome">\(options(["processed", "ignored", "failed", "other_mode"], selected: filters["outcome"]))</select></label>
            <label>Mode <select name="mode">\(options(["live", "test"], selected: filters["mode"]))</select></label>
            <button>Filter</button></form>
            """
        html += AdminPage.table(
            ["Received", "Event", "Type", "Mode", "Outcome", "Reason", ""],
            events.map { event in
                [
                    AdminPage.escape(event.receivedAt), AdminPage.escape(event.id), AdminPage.escape(event.type), event.livemode ? "live" : "test",
                    AdminPage.escape(event.outcome), AdminPage.escape(event.error ?? ""),
                    event.outcome == "failed" && event.replayable
                        ? AdminPage.actionForm(
                            "replay", label: "Replay", fields: [("event", event.id)], confirm: "Apply it again", session: session, context: context) : "",
                ]
            }
        ).replacingOccurrences(of: "<table>", with: "<table id=\"events\">")
        html +=
            "<h2>Dead letters</h2>"
            + AdminPage.table(
                ["Message", "Kind", "Attempts", "Last error", ""],
                dead.map { message in
                    [
                        String(message.id), AdminPage.escape(message.kind), String(message.attempts), AdminPage.escape(message.lastError ?? ""),
                        AdminPage.actionForm(
                            "retry-outbox", label: "Retry", fields: [("message", String(message.id))], confirm: "Send it again", session: session,
                            context: context),
                    ]
                }, numeric: [2])
        return AdminPage.render("Events", html, session: session, context: context)
    }
}
