/// What a handler answers: status, headers and body bytes.
public struct Response: Sendable {
    public var status: HTTPStatus
    public var headers: HTTPHeaders
    public var body: [UInt8]
    /// Sent after the head instead of `body`, when set (a release package streamed by the service).
    public var file: ResponseFile?

    public init(status: HTTPStatus = .ok, headers: HTTPHeaders = HTTPHeaders(), body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A JSON response (`application/json; charset=utf-8`).
    public static func json(_ value: JSONValue, status: HTTPStatus = .ok) -> Response {
        var headers = HTTPHeaders()
        headers.add("Content-Type", "application/json; charset=utf-8")
        return Response(status: status, headers: headers, body: value.serialized())
    }
}
