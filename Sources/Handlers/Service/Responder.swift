import Logging
import MariaStore

/// The whole request pipeline, independent of FastCGI: parse the gateway's variables, bound
/// and read the body, route, run the handler, and turn every error into its answer in this
/// one place. The executable only adapts libfcgi (or CGI) to it; tests call it directly.
public struct Responder: Sendable {
    public let router: Router
    public let parser: GatewayRequestParser

    public init(router: Router, parser: GatewayRequestParser) {
        self.router = router
        self.parser = parser
    }

    /// Answers one request. Never throws: every failure becomes an error response, and one
    /// log line records the outcome.
    public func respond(params: [String: String], body: inout some BodySource, context: Context) -> Response {
        let started = ContinuousClock.now
        // The web server's id (nginx $request_id, Apache mod_unique_id) lines our log up
        // with its access log; a caller's X-Request-Id is next; otherwise we make one.
        let requestID =
            RequestID.accept(params["REQUEST_ID"]) ?? RequestID.accept(params["UNIQUE_ID"])
            ?? RequestID.accept(params["HTTP_X_REQUEST_ID"]) ?? RequestID.generate(using: context.random)
        var logger = context.logger
        logger[metadataKey: "request_id"] = "\(requestID)"
        var context = context
        context.logger = logger

        var method = params["REQUEST_METHOD"] ?? "-"
        var path: String?
        var response: Response
        do {
            var request = try parser.head(from: params, requestID: requestID)
            method = request.method
            path = request.path
            // Before routing: a key in the URL is refused whatever the path or method (and a
            // 404 or 405 would repeat the path).
            try LicenseEndpoints.refuseKeyInURL(request, prefix: context.configuration.licensing.keyPrefix)
            let length = try parser.declaredLength(of: request)
            switch router.match(method: request.method, path: request.path, mediaType: request.mediaType) {
            case .rejected(let error):
                // Routing failed: the body is never needed, so it is never read.
                throw error
            case .handler(let handler, let parameters):
                request.pathParameters = parameters
                request.body = try parser.readBody(declaredLength: length, from: &body)
                response = try handler(request, context)
            }
            if request.method == "HEAD" {
                response.headers.replace("Content-Length", String(response.file?.size ?? Int64(response.body.count)))
                response.body = []
                response.file = nil
            }
        } catch let error as any HTTPResponseError {
            if error.status.code >= 500 {
                logger.error("request failed", metadata: ["code": "\(error.code)", "error": "\(error.message)"])
            }
            response = error.response
        } catch let error as DatabaseError where error.isUnavailable {
            ServiceMetrics.shared.databaseError(kind: "unavailable")
            logger.error("database unavailable", metadata: ["error": "\(error)"])
            response = APIError.unavailable("the database is not available; try again shortly").response
        } catch let error as DatabaseError where error.isTransient {
            // Contention, not an outage: the transaction kept losing to others.
            ServiceMetrics.shared.databaseError(kind: "busy")
            logger.warning("database busy: still conflicting after retries", metadata: ["error": "\(error)"])
            response = APIError.unavailable("the database is busy; try again shortly", retryAfterSeconds: 1).response
        } catch {
            logger.error("unhandled error", metadata: ["error": "\(String(describing: error))"])
            response = APIError.internalError.response
        }

        // EDD clients read any answer of their endpoint as EDD's JSON.
        if response.status.code != 200, let path, EDDRefusal.applies(to: path) { response = EDDRefusal.reshape(response, method: method) }
        response.headers.replace("X-Request-Id", requestID)
        if response.headers["cache-control"] == nil { response.headers.add("Cache-Control", "no-store") }
        let elapsed = ContinuousClock.now - started
        let micros = elapsed.components.seconds * 1_000_000 + elapsed.components.attoseconds / 1_000_000_000_000
        let route = path.flatMap { router.pattern(method: method, path: $0) } ?? "other"
        ServiceMetrics.shared.requestAnswered(route: route, status: response.status.code, seconds: Double(micros) / 1_000_000)
        logger.info(
            "request",
            metadata: [
                // Built only when the line is logged (info and below).
                "method": "\(method)", "path": "\(path.map(LogRedaction.path) ?? "-")", "status": "\(response.status.code)",
                "duration_ms": "\(Double(micros) / 1000)",
            ])
        return response
    }
}

/// Request ids: the web server's (nginx's `$request_id`) when it sent a sane one, else ours.
public enum RequestID {
    /// Accepts 8 to 64 characters of `A-Z a-z 0-9 - _ .`, so a client cannot inject into logs.
    public static func accept(_ candidate: String?) -> String? {
        guard let candidate, (8...64).contains(candidate.utf8.count),
            candidate.utf8.allSatisfy({ isAllowed($0) })
        else { return nil }
        return candidate
    }

    /// 16 random bytes as 32 hex characters.
    public static func generate(using random: SecureRandom) -> String {
        Hex.encode(random.bytes(16))
    }

    private static func isAllowed(_ byte: UInt8) -> Bool {
        switch byte {
        case 48...57, 65...90, 97...122, UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."): return true
        default: return false
        }
    }
}

/// What of a request may appear in a log line.
public enum LogRedaction {
    /// Keeps path segments that are plain words; any segment with digits or other characters
    /// (ids, tokens, a license key pasted into a URL) becomes `*`.
    public static func path(_ path: String) -> String {
        let segments = path.split(separator: "/", omittingEmptySubsequences: false).map { segment -> Substring in
            let plain =
                segment.count <= 32
                && segment.utf8.allSatisfy {
                    ($0 >= 97 && $0 <= 122) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".")
                }
            return plain ? segment : "*"
        }
        return segments.joined(separator: "/")
    }
}
