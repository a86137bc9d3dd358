/// The service's endpoints, as data. Paths are below the mount prefix (`/payments`).
public enum ServiceRoutes {
    public static func router() -> Router {
        Router([
            Route("GET", "/healthz", handler: HealthCheck.handle),
            Route("POST", "/stripe/webhook", accepts: ["application/json"], handler: StripeWebhook.handle),
            Route("GET", "/credits/balance", handler: CreditEndpoints.balance),
            Route("POST", "/credits/consume", accepts: ["application/json", "application/x-www-form-urlencoded"], handler: CreditEndpoints.consume),
        ] + LicenseEndpoints.routes() + [
            Route("POST", "/edd", accepts: ["application/x-www-form-urlencoded", "application/json"], handler: EDDEndpoint.handle),
        ])
    }
}
