import Foundation
import MariaStore

/// `GET /checkout/success?session_id=cs_…` — where Stripe sends the buyer. The order is read
/// locally first; Stripe is asked only about a session this service created and has not yet
/// seen complete (a random session id costs one indexed read, never a Stripe call), and such
/// a session is fulfilled through the same exactly-once code as the webhook. A session the
/// buyer has not completed creates nothing.
///
/// The new key is shown (within `checkout.key_display_minutes`) only to the browser that
/// started the checkout (`BrowserProof`); anyone else holding the session id sees the order's
/// state and that the key was emailed.
public enum SuccessPage {
    public static func show(_ request: Request, _ context: Context) throws -> Response {
        do {
            return try page(request, context)
        } catch {
            return HTMLPage.failure(error, title: "We could not show your purchase", context: context)
        }
    }

    private static func page(_ request: Request, _ context: Context) throws -> Response {
        guard let sessionID = request.queryItems.first(where: { $0.name == "session_id" })?.value, isSessionID(sessionID) else {
            return HTMLPage.error(
                status: .badRequest, title: "This link is not complete", message: "The address has no valid checkout session.", context: context)
        }
        let store = context.store
        // The webhook may have fulfilled the order through another Galera node a moment ago.
        let (known, record) = try store.readLatest { connection in
            (
                try OrderRepository(connection, prefix: store.prefix).find(sessionID: sessionID),
                try CheckoutRepository(connection, prefix: store.prefix).find(sessionID)
            )
        }
        var order = known
        if let record, known == nil || known?.status == .pending {
            do {
                order = try CheckoutFulfilment(context: context, actor: "success-page").fulfil(sessionID: sessionID) ?? known
            } catch StripeClient.Failure.api(status: 404, _, _, _, _, _) {
                return notFound(context)
            } catch let failure as StripeClient.Failure {
                context.logger.warning("success page: Stripe failed", metadata: ["error": "\(failure)", "session_recorded": "\(record.kind.rawValue)"])
                return HTMLPage.error(
                    status: failure.status, title: "We could not confirm your payment yet",
                    message: "Your purchase is safe. Please reload this page in a minute; the confirmation also comes by email.",
                    context: context)
            } catch is FulfilmentError {
                return HTMLPage.error(
                    status: .serviceUnavailable, title: "We could not confirm your payment yet",
                    message: "Your purchase is safe. Please reload this page in a few minutes.", context: context)
            }
            guard order != nil else {
                return HTMLPage.render(
                    title: "Checkout not completed",
                    content: """
                        <p>This checkout has not been completed. If you have just paid, reload this page in a moment.</p>
                        """, context: context)
            }
        }
        guard let order else { return notFound(context) }
        return try render(order, proved: BrowserProof.proves(request, recorded: record?.browserProof), context: context)
    }

    private static func notFound(_ context: Context) -> Response {
        HTMLPage.error(
            status: .notFound, title: "We could not find this purchase",
            message: "No checkout with this address belongs to this shop. If you have paid, your confirmation comes by email.",
            context: context)
    }

    static func render(_ order: OrderRepository.Order, proved: Bool, context: Context) throws -> Response {
        guard order.status == .paid else {
            let message =
                order.status == .pending
                ? "Your payment is being processed by your bank. We email you as soon as it has cleared."
                : "This checkout was not paid (\(order.status.rawValue))."
            return HTMLPage.render(title: order.status == .pending ? "Payment processing" : "Not paid", content: "<p>\(message)</p>", context: context)
        }
        let store = context.store
        let now = context.clock.now
        let (grants, licenses) = try store.readLatest { connection in
            (
                try GrantRepository(connection, prefix: store.prefix).grants(orderID: order.id),
                try LicenseRepository(connection, prefix: store.prefix).displays(orderID: order.id)
            )
        }
        let box = context.configuration.licensing.keyEncryptionKey.flatMap(SecretBox.init(key:))
        var content = "<p>Thank you! Your payment of \(HTMLPage.escape(Money.format(order.amountTotal, currency: order.currency))) was received.</p>"
        for license in licenses {
            if proved, license.status == .active, let sealed = license.sealed, let until = license.until, until > now,
                let key = box?.open(sealed, context: Array("license-display:\(license.id)".utf8))
            {
                let text = HTMLPage.escape(String(decoding: key, as: UTF8.self))
                content += """
                    <p>Your license key for <strong>\(HTMLPage.escape(license.product))</strong>:</p>
                    <p class="key">\(text)</p>
                    <p>In your WordPress dashboard, open the plugin's settings page, paste the key, save, and click <em>Activate</em>.
                    We also emailed it to you.</p>
                    """
            } else {
                content += """
                    <p>Your license key for <strong>\(HTMLPage.escape(license.product))</strong> was emailed to you.</p>
                    <form method="post" action="resend-key"><input type="hidden" name="session_id" value="\(HTMLPage.escape(order.sessionID))">
                    <input type="hidden" name="license" value="\(license.id)">
                    <button>I did not get it: email me a link for a new key</button></form>
                    """
            }
        }
        for grant in grants {
            if let credits = grant.credits { content += "<p>\(credits) credits were added to your account.</p>" }
            if grant.entitlement != nil { content += "<p>Your access to <strong>\(HTMLPage.escape(grant.product))</strong> is ready.</p>" }
        }
        if grants.isEmpty {
            content += "<p>We are preparing your purchase and will email you as soon as it is ready.</p>"
        }
        return HTMLPage.render(title: "Thank you for your purchase", content: content, context: context)
    }

    static func isSessionID(_ text: String) -> Bool {
        text.hasPrefix("cs_") && text.utf8.count <= 255
            && text.utf8.allSatisfy { (48...57).contains($0) || (65...90).contains($0) || (97...122).contains($0) || $0 == 95 }
    }
}
