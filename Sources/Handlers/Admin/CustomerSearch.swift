import Foundation
import MariaStore

/// `POST /admin/search` (form: `csrf`, `q`): from whatever a support request names to the
/// customer's page. A POST, so that an email typed here never sits in a URL, a log or the
/// browser's history; the page it leads to is named by the customer's internal number.
enum CustomerSearch {
    static func search(_ request: Request, _ context: Context) throws -> Response {
        let session = try AdminSession.require(request, context)
        let fields = try RequestFields(request).values
        try session.checkCSRF(fields)
        let query = (fields["q"] ?? "").trimmingWhitespace()
        // A license key is never a search term: keys are not stored, and one pasted here would
        // otherwise travel further than it must.
        if LicenseKey(parsing: query, prefix: context.configuration.licensing.keyPrefix) != nil {
            return AdminPage.render(
                "Search",
                AdminPage.notice(
                    "That looks like a license key. Keys are never searched or shown: search by the buyer's email, order or license id.", error: true),
                session: session, status: .badRequest, context: context)
        }
        let store = context.store
        guard !query.isEmpty, query.count <= 254,
            let customer = try store.withConnection({ try CustomerDirectory($0, prefix: store.prefix).customer(reference: query) })
        else {
            return AdminPage.render(
                "Search", AdminPage.notice("Nothing found for \(query). Try an email, cs_…, pi_…, cus_…, sub_…, in_… or a license id."),
                session: session, status: .notFound, context: context)
        }
        return AdminPage.redirect("/customers/\(customer)", context: context)
    }
}
