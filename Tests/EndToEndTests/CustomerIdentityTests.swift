import Foundation
import Handlers
import MariaStore
import TestSupport
import Testing

/// One buyer is one customer, whatever Stripe customers and spellings of their email their
/// purchases arrive with — through nginx, with real events.
@Suite("One customer per buyer")
struct CustomerIdentityTests {
    let shop: ShopStack

    init() throws {
        shop = try ShopStack()
    }

    func balance(_ reference: String) throws -> Int? {
        try shop.api("GET", "/credits/balance?customer=\(reference.replacingOccurrences(of: "@", with: "%40"))").json["balance"] as? Int
    }

    @Test func twoFirstCheckoutsOfOneNewEmailAtOnceMakeOneCustomer() throws {
        var bodies: [[UInt8]] = []
        for round in 0..<6 {
            for copy in 0..<4 {
                let session = "cs_test_guest\(round)x\(copy)"
                shop.stripe.lineItems(session: session, [("price_1Credits", 1)])
                bodies.append(try ShopStack.completed(session, ["customer": NSNull(), "customer_details": ["email": "guest\(round)@example.com"]]))
            }
        }
        let events = bodies
        let replies = Simultaneously.send(events.count, port: shop.port) { index in
            (
                "POST", "/payments/stripe/webhook",
                [
                    ("Content-Type", "application/json"),
                    ("Stripe-Signature", StripeFixtures.signature(events[index], secret: WebhookEndToEndTests.secret)),
                ],
                events[index]
            )
        }
        #expect(replies.allSatisfy { $0?.json["status"] as? String == "processed" }, "\(replies.map { $0?.text ?? "" })")
        for round in 0..<6 {
            #expect(try shop.count("customers", "email = 'guest\(round)@example.com'") == 1)
            #expect(try balance("guest\(round)@example.com") == 400)
        }
        // All of it can be spent, under any spelling of the address.
        let spent = try shop.api("POST", "/credits/consume", json: #"{"customer":"Guest0@Example.com ","amount":150,"idempotency_key":"k1"}"#)
        #expect(spent.status == 200, "\(spent.text)")
        #expect(spent.json["balance"] as? Int == 250)
    }

    @Test func creditsThenASubscriptionWithTheSameEmailAreOneCustomer() throws {
        // Credits bought as a guest (Stripe made cus_TnK8pQ2vXw4LmA)…
        shop.stripe.lineItems(session: "cs_test_pack", [("price_1Credits", 1)])
        #expect(try shop.deliver(try ShopStack.completed("cs_test_pack")).json["status"] as? String == "processed")
        // …then a subscription, for which Stripe made another customer, with the email typed differently.
        let subscription = try ShopStack.completed(
            ShopStack.subscriptionSession,
            ["customer": "cus_SecondForSub0001", "customer_details": ["email": "Buyer@Example.com"]],
            fixture: "checkout.session.completed.subscription")
        #expect(try shop.deliver(subscription).json["status"] as? String == "processed")
        let invoice = try StripeFixtures.variant("invoice.paid", object: ["customer": "cus_SecondForSub0001", "customer_email": "BUYER@example.com"])
        #expect(try shop.deliver(invoice).json["status"] as? String == "processed")
        #expect(try shop.count("customers") == 1)
        for reference in ["buyer@example.com", "cus_TnK8pQ2vXw4LmA", "cus_SecondForSub0001"] {
            #expect(try balance(reference) == 150, "\(reference)")
        }
        let history = try shop.api("GET", "/payments?customer=cus_SecondForSub0001")
        #expect((history.json["payments"] as? [Any])?.count == 2)
        // The shop's server starting a checkout for this buyer reuses their Stripe customer.
        shop.stripe.createsSessions()
        _ = try shop.api(
            "POST", "/checkout/session", json: #"{"product":"credit-pack","customer_email":"buyer@example.com"}"#,
            headers: [("Idempotency-Key", "again-1")])
        let sent = try #require(shop.stripe.requests("POST", "/v1/checkout/sessions").last)
        #expect(sent.form.contains { $0.0 == "customer" && ["cus_TnK8pQ2vXw4LmA", "cus_SecondForSub0001"].contains($0.1) })
        #expect(!sent.form.contains { $0.0 == "customer_email" || $0.0 == "customer_creation" })
        // A browser typing that address does not get it: Checkout would show the buyer's saved cards.
        _ = try shop.form("/checkout/session", [("product", "credit-pack"), ("customer_email", "buyer@example.com")])
        let anonymous = try #require(shop.stripe.requests("POST", "/v1/checkout/sessions").last)
        #expect(!anonymous.form.contains { $0.0 == "customer" })
        #expect(anonymous.form.contains { $0.0 == "customer_creation" && $0.1 == "always" })
    }
}
