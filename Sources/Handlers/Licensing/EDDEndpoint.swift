import Foundation
import MariaStore

/// `POST /edd` — the Easy Digital Downloads Software Licensing protocol, with the same rules,
/// so a plugin that already speaks it only changes its store URL to `…/payments/edd`.
///
/// Request: `edd_action` (`activate_license`, `check_license`, `deactivate_license`), `license`,
/// `item_id` or `item_name`, `url`. Answer: EDD's fields (`success`, `license`, `error`, `expires`,
/// `license_limit`, `site_count`, `activations_left`, `item_id`, `item_name`, `checksum`),
/// without the buyer's name or email.
public enum EDDEndpoint {
    public static func handle(_ request: Request, _ context: Context) throws -> Response {
        let fields = try RequestFields(request)
        let action: LicenseService.Action
        switch fields.values["edd_action"] {
        case "activate_license": action = .activate
        case "check_license": action = .verify
        case "deactivate_license": action = .deactivate
        default: throw APIError.invalidRequest("edd_action must be activate_license, check_license or deactivate_license")
        }
        let key = try fields.string("license", maxLength: 100)
        let url = try fields.string("url", maxLength: 2048)
        let item = fields.values["item_id"].flatMap { $0.isEmpty ? nil : $0 } ?? fields.values["item_name"].flatMap { $0.isEmpty ? nil : $0 }
        let product = try item.map { try catalogueProduct(named: $0, context: context) }

        let verdict = try LicenseService(context: context).handle(action, key: key, site: url, product: product, clientAddress: request.clientAddress)
        let catalogue = try verdict.product.flatMap { name in
            try context.store.unitOfWork { try ProductRepository($0, prefix: context.store.prefix).named(name) }
        }
        let (success, license, error) = translate(action, verdict.status)
        var pairs: [(String, JSONValue)] = [("success", .bool(success)), ("license", .string(license))]
        if let error { pairs.append(("error", .string(error))) }
        pairs += [
            ("item_id", verdict.product.map(JSONValue.string) ?? .bool(false)),
            ("item_name", catalogue.map { .string($0.name) } ?? item.map(JSONValue.string) ?? .bool(false)),
            ("expires", verdict.status == .invalid ? .bool(false) : verdict.expiresAt.map { .string(SQLTimestamp.string(from: $0).prefix(19).description) } ?? "lifetime"),
            ("license_limit", verdict.activationLimit.map { .int(Int64($0)) } ?? .int(0)),
            ("site_count", verdict.activations.map { .int(Int64($0)) } ?? .int(0)),
            ("activations_left", verdict.activationsLeft.map { .int(Int64($0)) } ?? .int(0)),
            ("checksum", .string(Hex.encode(Digest.sha256(Array("\(license):\(verdict.site ?? ""):\(context.clock.now.timeIntervalSince1970)".utf8)).prefix(16)))),
        ]
        return LicenseEndpoints.signed(JSONValue.object(pairs).serialized(), context: context)
    }

    /// EDD's words for our verdicts.
    static func translate(_ action: LicenseService.Action, _ status: LicenseStatus) -> (success: Bool, license: String, error: String?) {
        switch (action, status) {
        case (.deactivate, .siteInactive): return (true, "deactivated", nil)
        case (.deactivate, _): return (false, "failed", status.rawValue)
        case (.activate, .active): return (true, "valid", nil)
        case (.activate, .noActivationsLeft): return (false, "invalid", "no_activations_left")
        case (.activate, .wrongProduct): return (false, "invalid", "item_name_mismatch")
        case (.activate, .invalid): return (false, "invalid", "missing")
        case (.activate, .expired): return (false, "invalid", "expired")
        case (.activate, _): return (false, "invalid", "revoked")
        case (.verify, .active): return (true, "valid", nil)
        case (.verify, .siteInactive): return (true, "site_inactive", nil)
        case (.verify, .expired): return (true, "expired", nil)
        case (.verify, .wrongProduct): return (true, "item_name_mismatch", nil)
        case (.verify, .invalid): return (true, "invalid", nil)
        case (.verify, _): return (true, "disabled", nil)
        }
    }

    /// EDD plugins name the item by its id or name: matched against the catalogue's product
    /// names and display names; anything else stays as given (and will not match).
    static func catalogueProduct(named item: String, context: Context) throws -> String {
        try context.store.unitOfWork { connection in
            try ProductRepository(connection, prefix: context.store.prefix).named(orDisplayName: item)?.product ?? item
        }
    }
}
