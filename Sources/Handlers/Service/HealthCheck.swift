import MariaStore

/// `GET /healthz` — 200 when the database answers, 503 when it does not, naming the server
/// that answered (`database_server`: `host:port` or `unix:/path`, one of `database.hosts`).
/// Load balancers and uptime monitors poll it; it never touches a table, only pings.
/// `GET /livez` — 200 whenever the process answers at all (liveness, no database).
public enum HealthCheck {
    public static func live(_ request: Request, _ context: Context) throws -> Response {
        .json(.object(["status": "ok"]))
    }

    /// The `/livez` answer for any request on the liveness socket (`server.liveness_listen`),
    /// built without a request, a context or the database.
    public static func liveness(method: String?) -> Response {
        var response = Response.json(.object(["status": "ok"]))
        response.headers.add("Cache-Control", "no-store")
        if method == "HEAD" {
            response.headers.replace("Content-Length", String(response.body.count))
            response.body = []
        }
        return response
    }

    public static func handle(_ request: Request, _ context: Context) throws -> Response {
        let server: DatabaseEndpoint
        do {
            server = try context.store.pingedEndpoint()
        } catch let error as DatabaseError {
            context.logger.warning("health check: database unreachable", metadata: ["error": "\(error)"])
            throw APIError.unavailable("the database is not reachable")
        }
        return .json(.object(["status": "ok", "database": "ok", "database_server": .string(server.description)]))
    }
}
