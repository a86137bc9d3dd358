import MariaStore

/// `GET /healthz` — 200 when the database answers, 503 when it does not. Load balancers and
/// uptime monitors poll it; it never touches a table, only pings the connection.
/// `GET /livez` — 200 whenever the process answers at all (liveness, no database).
public enum HealthCheck {
    public static func live(_ request: Request, _ context: Context) throws -> Response {
        .json(.object(["status": "ok"]))
    }

    public static func handle(_ request: Request, _ context: Context) throws -> Response {
        do {
            try context.store.ping()
        } catch let error as DatabaseError {
            context.logger.warning("health check: database unreachable", metadata: ["error": "\(error)"])
            throw APIError.unavailable("the database is not reachable")
        }
        return .json(.object(["status": "ok", "database": "ok"]))
    }
}
