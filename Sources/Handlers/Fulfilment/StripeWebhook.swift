import Foundation
import MariaStore

/// `POST /stripe/webhook` — Stripe's event deliveries: verify the signature over the raw
/// bytes, then apply the event exactly once (`EventProcessor`), or answer non-2xx so that
/// Stripe retries. Nothing is written for a delivery whose signature does not verify.
public enum StripeWebhook {
    public static func handle(_ request: Request, _ context: Context) throws -> Response {
        let settings = context.configuration.stripe
        guard !settings.webhookSecrets.isEmpty else {
            // Never process an unsigned event: refuse until the secret is configured.
            throw APIError.unavailable("the webhook signing secret (stripe.webhook_secret) is not configured", retryAfterSeconds: 60)
        }
        do {
            try WebhookSignature.verify(
                payload: request.body, header: request.headers["stripe-signature"],
                secrets: settings.webhookSecrets, toleranceSeconds: settings.toleranceSeconds, now: context.clock.now)
        } catch {
            context.logger.warning("webhook signature refused", metadata: ["reason": "\(error.description)"])
            ServiceMetrics.shared.signatureRefused(reason: error.metricLabel)
            throw APIError.invalidSignature(error.description)
        }
        let event: StripeEvent
        do {
            event = try StripeEvent.parse(request.body)
        } catch {
            throw APIError.invalidRequest("the event cannot be read: \(error)")
        }

        // Stripe's own deliveries are not held to the budget of browser-triggered Stripe calls:
        // they are signed, and Stripe paces them.
        var context = context
        context.stripe.gate = nil
        let result: EventProcessor.Result
        // Counted whatever becomes of it: the processor's result, or the failure answered.
        var outcome = "error"
        defer { ServiceMetrics.shared.webhookEvent(type: event.type, outcome: outcome) }
        do {
            result = try EventProcessor(context: context).process(event, rawBody: request.body)
            outcome = result.rawValue
        } catch let error as EventProcessor.Unprocessed {
            outcome = "failed"
            throw APIError.eventNotProcessed(error.reason)
        } catch let error as StripeClient.Failure {
            context.logger.error("Stripe API call failed while processing an event", metadata: ["event": "\(event.id)", "error": "\(error)"])
            throw APIError.upstream("Stripe's API could not be used to complete this event; it will be retried")
        } catch let error as FulfilmentError {
            context.logger.error("event cannot be applied until configured", metadata: ["event": "\(event.id)", "error": "\(error)"])
            throw APIError.unavailable("the service is not fully configured to apply this event", retryAfterSeconds: 60)
        }
        context.logger.info("stripe event", metadata: ["event": "\(event.id)", "type": "\(event.type)", "result": "\(result.rawValue)"])
        return .json(.object(["status": .string(result.rawValue)]))
    }
}
