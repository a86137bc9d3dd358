/// The service's endpoints, as data. Paths are below the mount prefix (`/payments`).
public enum ServiceRoutes {
    public static func router() -> Router {
        Router(
            [
                Route("GET", "/healthz", handler: HealthCheck.handle),
                Route("GET", "/livez", handler: HealthCheck.live),
                Route("POST", "/stripe/webhook", accepts: ["application/json"], handler: StripeWebhook.handle),
                Route("GET", "/credits/balance", handler: CreditEndpoints.balance),
                Route("POST", "/credits/consume", accepts: ["application/json", "application/x-www-form-urlencoded"], handler: CreditEndpoints.consume),
                Route(
                    "POST", "/checkout/session", accepts: ["application/json", "application/x-www-form-urlencoded"], handler: CheckoutEndpoints.createSession),
                Route(
                    "POST", "/checkout/woocommerce", accepts: ["application/json", "application/x-www-form-urlencoded"], handler: WooCommerceCheckout.create),
                Route("GET", "/checkout/success", handler: SuccessPage.show),
                Route("POST", "/checkout/resend-key", accepts: ["application/x-www-form-urlencoded"], handler: KeyReplacement.request),
                Route("GET", "/checkout/new-key", handler: KeyReplacement.confirm),
                Route("POST", "/checkout/new-key", accepts: ["application/x-www-form-urlencoded"], handler: KeyReplacement.rotate),
                Route("POST", "/billing/portal", accepts: ["application/json", "application/x-www-form-urlencoded"], handler: PaymentEndpoints.portal),
                Route("POST", "/payments/intents", accepts: ["application/json", "application/x-www-form-urlencoded"], handler: PaymentEndpoints.createIntent),
                Route("GET", "/payments", handler: PaymentEndpoints.list),
                Route("GET", "/payments/{id}", handler: PaymentEndpoints.show),
                Route("GET", "/customers/{reference}", handler: CustomerEndpoint.show),
                Route("POST", "/refunds", accepts: ["application/json", "application/x-www-form-urlencoded"], handler: PaymentEndpoints.refund),
            ] + LicenseEndpoints.routes() + [
                Route("POST", "/edd", accepts: ["application/x-www-form-urlencoded", "application/json"], handler: EDDEndpoint.handle),
                Route("GET", "/metrics", handler: MetricsEndpoint.handle),
            ] + PackageEndpoint.routes() + AdminRoutes.routes())
    }
}
