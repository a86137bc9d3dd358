import Foundation
import MariaStore

/// `GET /checkout/success?session_id=cs_…` — where Stripe sends the buyer. The session is
/// fetched from Stripe and fulfilled through the same exactly-once code as the webhook
/// (whichever comes first does the work; the other finds it done), then the page shows what
/// was bought: the key (only within `checkout.key_display_minutes`), credits, or "processing".
/// `POST /checkout/resend-key` issues a new key to the buyer's email after that window.
public enum SuccessPage {
    public static func show(_ request: Request, _ context: Context) throws -> Response {
        guard let sessionID = request.queryItems.first(where: { $0.name == "session_id" })?.value, isSessionID(sessionID) else {
            return HTMLPage.error(status: .badRequest, title: "This link is not complete", message: "The address has no valid checkout session.", context: context)
        }
        let order: OrderRepository.Order?
        do {
            order = try CheckoutFulfilment(context: context, actor: "success-page").fulfil(sessionID: sessionID)
        } catch StripeClient.Failure.api(status: 404, _, _, _, _, _) {
            return HTMLPage.error(status: .notFound, title: "We could not find this purchase",
                                  message: "No checkout with this address belongs to this shop.", context: context)
        } catch let failure as StripeClient.Failure {
            context.logger.error("success page: Stripe failed", metadata: ["error": "\(failure)"])
            return HTMLPage.error(status: .badGateway, title: "We could not confirm your payment yet",
                                  message: "Your purchase is safe. Please reload this page in a minute; the confirmation also comes by email.",
                                  context: context)
        } catch is FulfilmentError {
            return HTMLPage.error(status: .serviceUnavailable, title: "We could not confirm your payment yet",
                                  message: "Your purchase is safe. Please reload this page in a few minutes.", context: context)
        }
        guard let order else { return HTMLPage.error(status: .notFound, title: "We could not find this purchase", message: "", context: context) }
        return try render(order, context: context)
    }

    static func render(_ order: OrderRepository.Order, context: Context) throws -> Response {
        guard order.status == .paid else {
            let message = order.status == .pending
                ? "Your payment is being processed by your bank. We email you as soon as it has cleared."
                : "This checkout was not paid (\(order.status.rawValue))."
            return HTMLPage.render(title: order.status == .pending ? "Payment processing" : "Not paid", content: "<p>\(message)</p>", context: context)
        }
        let store = context.store
        let now = context.clock.now
        let (grants, licenses) = try store.unitOfWork { connection in
            (try GrantRepository(connection, prefix: store.prefix).grants(orderID: order.id),
             try LicenseRepository(connection, prefix: store.prefix).displays(orderID: order.id))
        }
        let box = context.configuration.licensing.keyEncryptionKey.flatMap(SecretBox.init(key:))
        var content = "<p>Thank you! Your payment of \(HTMLPage.escape(Money.format(order.amountTotal, currency: order.currency))) was received.</p>"
        for license in licenses {
            if let sealed = license.sealed, let until = license.until, until > now,
               let key = box?.open(sealed, context: Array("license-display:\(license.id)".utf8)) {
                let text = HTMLPage.escape(String(decoding: key, as: UTF8.self))
                content += """
                    <p>Your license key for <strong>\(HTMLPage.escape(license.product))</strong>:</p>
                    <p class="key" id="key-\(license.id)">\(text)</p>
                    <p><button onclick="navigator.clipboard.writeText(document.getElementById('key-\(license.id)').textContent)">Copy</button></p>
                    <p>In your WordPress dashboard, open the plugin's settings page, paste the key, save, and click <em>Activate</em>.
                    We also emailed it to you.</p>
                    """
            } else {
                content += """
                    <p>Your license key for <strong>\(HTMLPage.escape(license.product))</strong> was emailed to you.</p>
                    <form method="post" action="resend-key"><input type="hidden" name="session_id" value="\(HTMLPage.escape(order.sessionID))">
                    <input type="hidden" name="license" value="\(license.id)">
                    <button>Email me a new key</button> (the old key stops working)</form>
                    """
            }
        }
        for grant in grants where grant.credits != nil {
            content += "<p>\(grant.credits!) credits were added to your account.</p>"
        }
        for grant in grants where grant.entitlement != nil {
            content += "<p>Your access to <strong>\(HTMLPage.escape(grant.product))</strong> is ready.</p>"
        }
        if grants.isEmpty {
            content += "<p>We are preparing your purchase and will email you as soon as it is ready.</p>"
        }
        return HTMLPage.render(title: "Thank you for your purchase", content: content, context: context)
    }

    /// `POST /checkout/resend-key` (form: `session_id`, `license`).
    public static func resendKey(_ request: Request, _ context: Context) throws -> Response {
        let fields = try RequestFields(request)
        let sessionID = try fields.string("session_id", maxLength: 255)
        let licenseID = try fields.integer("license", in: 1...Int64.max)
        let store = context.store
        let belongs = try store.unitOfWork { connection -> Bool in
            guard let order = try OrderRepository(connection, prefix: store.prefix).find(sessionID: sessionID), order.status == .paid else { return false }
            return try LicenseRepository(connection, prefix: store.prefix).licenses(orderID: order.id).contains { $0.id == licenseID }
        }
        guard belongs else {
            return HTMLPage.error(status: .notFound, title: "We could not find this license", message: "", context: context)
        }
        let now = context.clock.now
        let limited = try store.transaction { connection -> Bool in
            let limiter = RateLimiter(connection, prefix: store.prefix)
            if try limiter.hits("resend:\(licenseID)", window: 86_400, now: now) >= 3 { return true }
            try limiter.hit("resend:\(licenseID)", window: 86_400, now: now)
            return false
        }
        if limited {
            return HTMLPage.error(status: .tooManyRequests, title: "Please wait", message: "A new key was sent several times today; check your inbox.",
                                  context: context)
        }
        try LicenseKeyIssuer(context: context).rotate(licenseID: licenseID, actor: "buyer:success-page")
        return HTMLPage.render(title: "A new key is on its way", content: "<p>Check your inbox. Your previous key no longer works.</p>", context: context)
    }

    static func isSessionID(_ text: String) -> Bool {
        text.hasPrefix("cs_") && text.count <= 255 && text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }
    }
}
