import Foundation
import MariaStore

/// `POST /license/activate`, `/license/verify`, `/license/deactivate` (trailing slash too) and
/// `GET /license/public-key`: what a seller's WordPress plugin calls, server side.
///
/// Every decided verdict is 200 with `status`; malformed requests are 400; "cannot decide now"
/// is 429 or 503 with `Retry-After`. Every answer is signed (Ed25519 over the exact body, in
/// `X-License-Signature`) and carries `issued_at`, `valid_until` (the lease) and the `nonce`.
public enum LicenseEndpoints {
    static let accepted = ["application/x-www-form-urlencoded", "application/json"]

    public static func routes() -> [Route] {
        [
            Route("POST", "/license/activate", accepts: accepted) { try answer(.activate, $0, $1) },
            Route("POST", "/license/verify", accepts: accepted) { try answer(.verify, $0, $1) },
            Route("POST", "/license/deactivate", accepts: accepted) { try answer(.deactivate, $0, $1) },
            Route("GET", "/license/public-key", handler: publicKey),
        ]
    }

    /// `GET /license/public-key` — the key plugins verify answers with (hex and base64).
    public static func publicKey(_ request: Request, _ context: Context) throws -> Response {
        guard let signer = signer(context) else {
            throw APIError.notFound(message: "license answers are not signed on this server (licensing.signing_key)")
        }
        var response = Response.json(
            .object([
                "algorithm": "Ed25519", "public_key_hex": .string(Hex.encode(signer.publicKey)),
                "public_key_base64": .string(Data(signer.publicKey).base64EncodedString()),
            ]))
        response.headers.replace("Cache-Control", "public, max-age=3600")
        return response
    }

    static func answer(_ action: LicenseService.Action, _ request: Request, _ context: Context) throws -> Response {
        let fields = try RequestFields(request)
        let key = try fields.string("license_key", maxLength: 100)
        let site = try fields.string("site_url", maxLength: 2048)
        let nonce = fields.values["nonce"]
        if let nonce, nonce.count > 128 { throw APIError.invalidRequest("nonce is longer than 128 characters") }
        let product = fields.values["product"].flatMap { $0.isEmpty ? nil : $0 }
        var verdict = try LicenseService(context: context).handle(action, key: key, site: site, product: product, clientAddress: request.clientAddress)
        // The answer names what it is about, so that it cannot be passed off for another key,
        // site or product: the key's identifier, the site as sent, the product.
        verdict.keyID = LicenseKey.identifier(of: key, prefix: context.configuration.licensing.keyPrefix)
        verdict.siteURL = site
        if verdict.product == nil { verdict.product = product }
        ServiceMetrics.shared.licenseVerdict(action: "\(action)", status: verdict.status.rawValue)
        return signed(render(verdict, nonce: nonce, context: context), context: context)
    }

    /// Keys must never reach an access log: a request with a key in its query string or path is
    /// refused (checked by the `Responder` before routing, for every path), and the refusal
    /// never repeats it.
    public static func refuseKeyInURL(_ request: Request, prefix: String) throws(APIError) {
        func isKey(_ text: Substring) -> Bool {
            // A key is at least 28 symbols; shorter text is not worth parsing.
            text.utf8.count >= 28 && (LicenseKey(parsing: String(text)) != nil || LicenseKey(parsing: String(text), prefix: prefix) != nil)
        }
        let suspicious =
            request.queryItems.contains { item in
                ["license_key", "license", "key"].contains(item.name.lowercased()) || isKey(Substring(item.value))
            } || request.path.split(separator: "/").contains(where: isKey)
        if suspicious {
            throw APIError.keyInURL
        }
    }

    /// The answer body; field order is fixed so that the signed bytes are stable.
    static func render(_ verdict: LicenseAnswer, nonce: String?, context: Context) -> [UInt8] {
        let settings = context.configuration.licensing
        let now = context.clock.now
        let good = verdict.status == .active || verdict.status == .siteInactive
        let ttl = good ? settings.cacheTTLSeconds : min(settings.cacheTTLSeconds, 3600)
        var validUntil = now.addingTimeInterval(good ? Double(settings.leaseHours) * 3600 : Double(ttl))
        if good, let expiresAt = verdict.expiresAt, expiresAt < validUntil { validUntil = max(now, expiresAt) }
        func optional(_ value: Int?) -> JSONValue { value.map { .int(Int64($0)) } ?? .null }
        return JSONValue.object([
            "status": .string(verdict.status.rawValue),
            "product": verdict.product.map(JSONValue.string) ?? .null,
            "tier": verdict.tier.map(JSONValue.string) ?? .null,
            "expires_at": verdict.expiresAt.map { .string(ISOTime.string($0)) } ?? .null,
            "activation_limit": optional(verdict.activationLimit),
            "activations": optional(verdict.activations),
            "activations_left": optional(verdict.activationsLeft),
            "site": verdict.site.map(JSONValue.string) ?? .null,
            "site_url": verdict.siteURL.map(JSONValue.string) ?? .null,
            "key_id": verdict.keyID.map(JSONValue.string) ?? .null,
            "activation_id": verdict.activationID.map(JSONValue.string) ?? .null,
            "cache_ttl": .int(Int64(ttl)),
            "issued_at": .string(ISOTime.string(now)),
            "valid_until": .string(ISOTime.string(validUntil)),
            "nonce": nonce.map(JSONValue.string) ?? .null,
        ]).serialized()
    }

    static func signed(_ body: [UInt8], context: Context) -> Response {
        var response = Response(status: .ok, headers: HTTPHeaders([("Content-Type", "application/json; charset=utf-8")]), body: body)
        if let signer = signer(context) {
            response.headers.add("X-License-Signature", Data(signer.sign(body)).base64EncodedString())
        }
        return response
    }

    /// Signers by seed, made once per process (deriving the key costs a scalar multiplication).
    private static let signers = SignerCache()

    static func signer(_ context: Context) -> Ed25519Signer? {
        guard let seed = context.configuration.licensing.signingKey else { return nil }
        return signers.signer(for: seed)
    }
}

/// Ed25519 signers shared by all workers, keyed by seed.
final class SignerCache: @unchecked Sendable {
    // Guarded by `lock`; signers themselves are safe to share (see Ed25519Signer).
    private let lock = NSLock()
    private var signers: [[UInt8]: Ed25519Signer] = [:]

    func signer(for seed: [UInt8]) -> Ed25519Signer? {
        lock.lock()
        defer { lock.unlock() }
        if let signer = signers[seed] { return signer }
        let signer = Ed25519Signer(seed: seed)
        signers[seed] = signer
        return signer
    }
}
