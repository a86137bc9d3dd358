/// Server-to-server authentication: `Authorization: Bearer <key>`, compared in constant time.
public enum APIKeyCheck {
    /// The WordPress site's key (`api.key`).
    public static func require(_ request: Request, _ context: Context) throws(APIError) {
        try require(
            request, key: context.configuration.api.key,
            unset: "no API key is configured on the server (api.key)",
            wrong: "a valid API key is required (Authorization: Bearer …)")
    }

    /// A given key; `unset` and `wrong` say what is missing in the 401.
    public static func require(_ request: Request, key: String?, unset: String, wrong: String) throws(APIError) {
        guard let key else { throw APIError.unauthorized(unset, challenge: false) }
        guard let header = request.headers["authorization"], header.hasPrefix("Bearer "),
            Digest.constantTimeEqual(Array(header.dropFirst(7).utf8), Array(key.utf8))
        else {
            throw APIError.unauthorized(wrong)
        }
    }
}
