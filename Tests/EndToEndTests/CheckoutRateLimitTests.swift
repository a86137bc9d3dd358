import Foundation
import TestSupport
import Testing

/// nginx limits checkouts per client address before they reach the service (each one costs a
/// Stripe call), answering beyond the burst in the service's own JSON error shape.
@Suite("Checkout rate limit in nginx (nginx/payments-http.conf)")
struct CheckoutRateLimitTests {
    @Test func aBurstBeyondTheLimitGetsJSON429WhileLicenseChecksGoOn() throws {
        // Stripe's own budget in the service is not what this test is about: wide enough for a burst.
        let shop = try ShopStack(extraStripe: "concurrent_calls = 32")
        shop.stripe.on("POST", "/v1/checkout/sessions", .json(200, #"{"id":"cs_test_burst","url":"https://checkout.stripe.com/c/pay/cs_test_burst"}"#))
        let burst = 40
        let replies = Simultaneously.send(burst, port: shop.port) { index in
            (
                "POST", "/payments/checkout/session",
                [("Content-Type", "application/x-www-form-urlencoded"), ("Idempotency-Key", "burst-\(index)")], Array("product=pro-license".utf8)
            )
        }
        let answered = replies.compactMap { $0 }
        #expect(answered.count == burst)
        let limited = answered.filter { $0.status == 429 }
        let through = answered.filter { $0.status != 429 }
        // burst = 10 beyond the one the rate allows now (a second token at most, 6 s apart).
        #expect((11...12).contains(through.count), "\(answered.map(\.status))")
        #expect(
            through.allSatisfy { $0.status == 303 && $0.header("Location") == "https://checkout.stripe.com/c/pay/cs_test_burst" }, "\(through.map(\.status))")
        for reply in limited {
            #expect(reply.errorCode == "rate_limited", "\(reply.text)")
            #expect(reply.header("Content-Type") == "application/json")
            #expect(reply.header("Retry-After") == "6")
            #expect(reply.header("Cache-Control") == "no-store")
        }
        #expect(shop.stripe.requests.filter { $0.path == "/v1/checkout/sessions" }.count == through.count)

        // The limit is the checkout's alone: license checks from the same address go on.
        let checks = Simultaneously.send(15, port: shop.port) { _ in
            (
                "POST", "/payments/license/verify", [("Content-Type", "application/x-www-form-urlencoded")],
                Array("license_key=PFC-AAAAAAA-BBBBBBB-CCCCCCC-DDDDDDD&site_url=https://a.example.com".utf8)
            )
        }
        #expect(checks.allSatisfy { $0?.status == 200 && $0?.json["status"] as? String == "invalid" }, "\(checks.map { $0?.status ?? 0 })")
    }
}
