import Foundation

/// `Idempotency-Key`s for our POSTs to Stripe, derived from what was asked, so that a retried
/// or repeated request (a double click, a caller's retry) cannot create a second object.
enum IdempotencyKey {
    /// `pfc-KIND-` and a hash of the form sent and the scope it is unique within.
    static func derive(_ kind: String, form: [(String, String)], scope: String) -> String {
        "pfc-\(kind)-" + Hex.encode(Digest.sha256(Array((FormEncoding.encode(form) + "|" + scope).utf8)).prefix(24))
    }

    /// The caller's own `Idempotency-Key` if it sent one; else, for a request that names no
    /// reference of its own, the client and the current minute; else nothing more.
    static func scope(of request: Request, context: Context, hasOwnReference: Bool) -> String {
        if let key = request.headers["idempotency-key"], !key.isEmpty { return key }
        return hasOwnReference ? "" : "\(request.clientAddress)|\(minute(context))"
    }

    /// The current minute, for keys that should only absorb near-simultaneous repeats.
    static func minute(_ context: Context) -> Int64 { Int64(context.clock.now.timeIntervalSince1970) / 60 }
}
