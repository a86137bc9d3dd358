/// Server-to-server authentication: `Authorization: Bearer <api.key>`, compared in constant time.
public enum APIKeyCheck {
    public static func require(_ request: Request, _ context: Context) throws(APIError) {
        guard let key = context.configuration.api.key else {
            throw APIError(.unauthorized, code: "unauthorized", message: "no API key is configured on the server (api.key)")
        }
        guard let header = request.headers["authorization"], header.hasPrefix("Bearer "),
              Digest.constantTimeEqual(Array(header.dropFirst(7).utf8), Array(key.utf8))
        else {
            throw APIError(.unauthorized, code: "unauthorized", message: "a valid API key is required (Authorization: Bearer …)",
                           headers: HTTPHeaders([("WWW-Authenticate", "Bearer")]))
        }
    }
}
