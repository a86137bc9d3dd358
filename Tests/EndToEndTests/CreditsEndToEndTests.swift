import Foundation
import TestSupport
import Testing

/// Spending credits through nginx as the WordPress server does: idempotency keys belong to
/// their customer and are compared byte for byte.
@Suite("Credits through nginx")
struct CreditsEndToEndTests {
    let shop: ShopStack

    init() throws {
        shop = try ShopStack()
        // 100 credits each for two buyers, bought through real checkout events.
        for (session, customer, email) in [
            ("cs_test_credits_a", "cus_TnK8pQ2vXw4LmA", "buyer@example.com"),
            ("cs_test_credits_b", "cus_OtherBuyer00001", "other@example.com"),
        ] {
            shop.stripe.lineItems(session: session, [("price_1Credits", 1)])
            let body = try ShopStack.completed(session, ["customer": customer, "customer_details": ["email": email]])
            guard try shop.deliver(body).json["status"] as? String == "processed" else { throw TestSupportError("no credits for \(email)") }
        }
    }

    func balance(_ email: String) throws -> Int? {
        try shop.api("GET", "/credits/balance?customer=\(email.replacingOccurrences(of: "@", with: "%40"))").json["balance"] as? Int
    }

    @Test func oneKeyUsedByTwoCustomersAtOnceSpendsForEach() throws {
        let replies = Simultaneously.send(2, port: shop.port) { index in
            let customer = index == 0 ? "buyer@example.com" : "other@example.com"
            return (
                "POST", "/payments/credits/consume", [("Authorization", "Bearer \(ShopStack.apiKey)"), ("Content-Type", "application/json")],
                Array(#"{"customer":"\#(customer)","amount":30,"idempotency_key":"job-7"}"#.utf8)
            )
        }
        #expect(replies.allSatisfy { $0?.status == 200 && $0?.header("Idempotent-Replayed") == nil }, "\(replies.map { $0?.text ?? "" })")
        #expect(try balance("buyer@example.com") == 70)
        #expect(try balance("other@example.com") == 70)
    }

    @Test func keysDifferingInCaseOrAccentAreDifferentSpends() throws {
        for key in ["Job-1", "job-1", "jób-1"] {
            let reply = try shop.api("POST", "/credits/consume", json: #"{"customer":"buyer@example.com","amount":10,"idempotency_key":"\#(key)"}"#)
            #expect(reply.status == 200, "\(reply.text)")
            #expect(reply.header("Idempotent-Replayed") == nil, "\(key) was taken for an earlier key")
        }
        #expect(try balance("buyer@example.com") == 70)
        let again = try shop.api("POST", "/credits/consume", json: #"{"customer":"buyer@example.com","amount":10,"idempotency_key":"jób-1"}"#)
        #expect(again.header("Idempotent-Replayed") == "true")
        #expect(try balance("buyer@example.com") == 70)
    }
}
