/// The service's endpoints, as data. Paths are below the mount prefix (`/payments`).
public enum ServiceRoutes {
    public static func router() -> Router {
        Router([
            Route("GET", "/healthz", handler: HealthCheck.handle),
            Route("POST", "/stripe/webhook", accepts: ["application/json"], handler: StripeWebhook.handle),
        ])
    }
}
