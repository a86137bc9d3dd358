import Foundation

/// `Idempotency-Key`s for our POSTs to Stripe, so that a retried or repeated request cannot
/// create a second object. Never derived from network identity (an address, a minute): two
/// buyers behind one address must never share a session, a PaymentIntent or a refund.
enum IdempotencyKey {
    /// `pfc-KIND-` and a hash of the form sent and the scope it is unique within.
    static func derive(_ kind: String, form: [(String, String)], scope: String) -> String {
        "pfc-\(kind)-" + Hex.encode(Digest.sha256(Array((FormEncoding.encode(form) + "|" + scope).utf8)).prefix(24))
    }

    /// A key for a browser's submission: new each time (a double click makes two sessions,
    /// and an unpaid session simply expires).
    static func fresh(_ kind: String, random: SecureRandom) -> String {
        "pfc-\(kind)-" + Hex.encode(random.bytes(24))
    }

    /// A key for a server's call: from the caller's own `Idempotency-Key` and what it asked
    /// for; a request that carries its own reference (in the form) needs no header. Without
    /// either, nothing tells a retry from a new request: refused.
    static func forServerCall(_ kind: String, form: [(String, String)], request: Request, hasOwnReference: Bool) throws(APIError) -> String {
        let callerKey = try requireServerKey(request, hasOwnReference: hasOwnReference)
        return derive(kind, form: form, scope: callerKey ?? "")
    }

    /// Refuses a server call that carries neither an `Idempotency-Key` nor a reference of its
    /// own (checked before anything is asked of Stripe); returns the caller's key, if any.
    @discardableResult
    static func requireServerKey(_ request: Request, hasOwnReference: Bool) throws(APIError) -> String? {
        let callerKey = try callerKey(of: request)
        guard callerKey != nil || hasOwnReference else {
            throw .invalidRequest("an Idempotency-Key header is required (or a client_reference_id): it tells a retry from a new purchase")
        }
        return callerKey
    }

    /// The request's `Idempotency-Key` header: 1 to 255 visible ASCII characters, or nil.
    static func callerKey(of request: Request) throws(APIError) -> String? {
        guard let key = request.headers["idempotency-key"] else { return nil }
        guard (1...255).contains(key.utf8.count), key.utf8.allSatisfy({ (33...126).contains($0) }) else {
            throw .invalidRequest("Idempotency-Key must be 1 to 255 visible ASCII characters")
        }
        return key
    }

    /// The current minute, for keys that only absorb near-simultaneous repeats of one
    /// customer's own request (a portal session).
    static func minute(_ context: Context) -> Int64 { Int64(context.clock.now.timeIntervalSince1970) / 60 }
}
