import Foundation
import MariaStore

/// `POST /edd` — the Easy Digital Downloads Software Licensing protocol, answered as EDD's own
/// server answers it and under the same rules as `/license/…`, so a plugin built on EDD's
/// client only changes its store URL to `…/payments/edd`.
///
/// Request: `edd_action` (`activate_license`, `check_license`, `deactivate_license`,
/// `get_version`), `license`, `item_id` (EDD's numeric download id, mapped by the catalogue's
/// `edd_item_id`) or `item_name` (URL-decoded once more, as EDD does: its sample plugin sends it
/// encoded twice), `url`. Answers carry EDD's fields without the buyer's name or email; every
/// other answer of this path (400, 429, 503…) is EDD-shaped too (`EDDRefusal`).
public enum EDDEndpoint {
    public static func handle(_ request: Request, _ context: Context) throws -> Response {
        let fields = try RequestFields(request)
        let action: LicenseService.Action
        switch fields.values["edd_action"] {
        case "activate_license": action = .activate
        case "check_license": action = .verify
        case "deactivate_license": action = .deactivate
        case "get_version": return try EDDVersionInfo.answer(fields, request, context)
        default: throw APIError.invalidRequest("edd_action must be activate_license, check_license, deactivate_license or get_version")
        }
        let key = try fields.string("license", maxLength: 100)
        let url = try fields.string("url", maxLength: 2048)
        let item = try EDDItem(fields)
        let product = try item?.product(context)
        if case .id(let id)? = item, product == nil {
            // EDD answers an item id it does not know before looking at the key.
            return LicenseEndpoints.signed(body(invalidItem: action, id: id), context: context)
        }

        let verdict = try LicenseService(context: context).handle(
            action, key: key, site: url, product: product?.product ?? item?.name,
            clientAddress: request.clientAddress)
        let catalogue =
            try product
            ?? verdict.product.flatMap { name in
                try context.store.withConnection { try ProductRepository($0, prefix: context.store.prefix).named(name) }
            }
        let mismatch: String = if case .id = item { "invalid_item_id" } else { "item_name_mismatch" }
        let (success, license, error) = translate(action, verdict.status, mismatch: mismatch)
        var pairs: [(String, JSONValue)] = [("success", .bool(success)), ("license", .string(license))]
        if let error { pairs.append(("error", .string(error))) }
        let itemID: Int64? = catalogue?.eddItemID ?? item?.id
        let itemName: String? = catalogue?.name ?? item?.name
        pairs.append(("item_id", itemID.map { JSONValue.int($0) } ?? JSONValue.bool(false)))
        pairs.append(("item_name", itemName.map { JSONValue.string($0) } ?? JSONValue.bool(false)))
        // License facts only for a key that was found and is of this item: never "lifetime"
        // or a limit of 0 (unlimited, to EDD) for a key that did not match.
        if verdict.licenseID != nil, let limit = verdict.activationLimit {
            let seats = verdict.activations ?? 0
            let expires: JSONValue = verdict.expiresAt.map { JSONValue.string(eddDate($0)) } ?? JSONValue.string("lifetime")
            pairs.append(("expires", expires))
            pairs.append(("license_limit", JSONValue.int(Int64(limit))))
            pairs.append(("site_count", JSONValue.int(Int64(seats))))
            pairs.append(("activations_left", JSONValue.int(Int64(max(0, limit - seats)))))
        } else {
            pairs.append(("expires", .bool(false)))
        }
        let staging = SiteURL(url).map { StagingSites(extraSuffixes: context.configuration.licensing.stagingDomains).isStaging($0) } ?? false
        let checksum = Hex.encode(Digest.sha256(Array("\(license):\(verdict.site ?? ""):\(context.clock.now.timeIntervalSince1970)".utf8)).prefix(16))
        pairs.append(("is_local", JSONValue.bool(staging)))
        pairs.append(("checksum", JSONValue.string(checksum)))
        return LicenseEndpoints.signed(JSONValue.object(pairs).serialized(), context: context)
    }

    /// The answer to an `item_id` the catalogue does not have.
    static func body(invalidItem action: LicenseService.Action, id: Int64) -> [UInt8] {
        let license =
            switch action {
            case .activate: "invalid"
            case .verify: "invalid_item_id"
            case .deactivate: "failed"
            }
        return JSONValue.object([
            "success": false, "license": .string(license), "error": "invalid_item_id", "item_id": .int(id), "item_name": false, "expires": false,
        ]).serialized()
    }

    /// EDD's dates: `2027-01-01 12:01:40`, UTC.
    static func eddDate(_ date: Date) -> String {
        String(SQLTimestamp.string(from: date).prefix(19))
    }

    /// EDD's words for our verdicts. `check_license` succeeds for every verdict about a known
    /// key; an unknown key is `success: false`, as EDD answers.
    static func translate(_ action: LicenseService.Action, _ status: LicenseStatus, mismatch: String = "item_name_mismatch")
        -> (success: Bool, license: String, error: String?)
    {
        switch (action, status) {
        case (.deactivate, .siteInactive): return (true, "deactivated", nil)
        case (.deactivate, .wrongProduct): return (false, "failed", mismatch)
        case (.deactivate, _): return (false, "failed", status.rawValue)
        case (.activate, .active): return (true, "valid", nil)
        case (.activate, .noActivationsLeft): return (false, "invalid", "no_activations_left")
        case (.activate, .wrongProduct): return (false, "invalid", mismatch)
        case (.activate, .invalid): return (false, "invalid", "missing")
        case (.activate, .expired): return (false, "invalid", "expired")
        case (.activate, .disabled): return (false, "invalid", "disabled")
        case (.activate, _): return (false, "invalid", "revoked")
        case (.verify, .active): return (true, "valid", nil)
        case (.verify, .siteInactive): return (true, "site_inactive", nil)
        case (.verify, .expired): return (true, "expired", nil)
        case (.verify, .wrongProduct): return (true, mismatch, nil)
        case (.verify, .invalid): return (false, "invalid", nil)
        case (.verify, _): return (true, "disabled", nil)
        }
    }
}

/// How an EDD client names the item: its numeric download id, or its name.
enum EDDItem: Equatable {
    case id(Int64)
    case name(String)

    /// `item_id` when given (a non-numeric one is taken as a name), else `item_name`; nil when
    /// neither is. EDD's updater sends `false` for the one it lacks, which a form carries as
    /// `0` or an empty value.
    init?(_ fields: RequestFields) throws(APIError) {
        func given(_ name: String) -> String? {
            guard let value = fields.values[name]?.trimmingWhitespace(), !value.isEmpty, value != "0", value != "false" else { return nil }
            return value
        }
        if let id = given("item_id") {
            guard id.utf8.count <= 191 else { throw .invalidRequest("item_id is longer than 191 characters") }
            if let number = Int64(id), number > 0 { self = .id(number) } else { self = .name(id) }
        } else if let name = given("item_name") {
            // Room for a 191-character name with every byte percent-encoded.
            guard name.utf8.count <= 573 else { throw .invalidRequest("item_name is too long") }
            // EDD's server URL-decodes item_name (PHP's urldecode: '+' is a space) after the
            // form was decoded: its sample plugin sends rawurlencode(name), encoded again.
            self = .name(PercentEncoding.decode(name, plusIsSpace: true) ?? name)
        } else {
            return nil
        }
    }

    var id: Int64? { if case .id(let id) = self { id } else { nil } }
    var name: String? { if case .name(let name) = self { name } else { nil } }

    /// The catalogue product it names, if any.
    func product(_ context: Context) throws -> Product? {
        try context.store.withConnection { connection in
            let products = ProductRepository(connection, prefix: context.store.prefix)
            switch self {
            case .id(let id): return try products.forEDDItem(id)
            case .name(let name): return try products.named(orDisplayName: name)
            }
        }
    }
}
