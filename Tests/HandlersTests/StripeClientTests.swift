import Foundation
import Handlers
import TestSupport
import Testing

@Suite("Stripe API client against a local fake Stripe")
struct StripeClientTests {
    let stripe: FakeStripeServer
    let client: StripeClient

    init() throws {
        stripe = try FakeStripeServer()
        var settings = Configuration.Stripe()
        settings.secretKey = FakeStripeServer.secretKey
        settings.apiBase = stripe.baseURL
        settings.timeoutSeconds = 2
        var client = StripeClient(configuration: settings)
        client.backoff = { _ in 0.01 }
        self.client = client
    }

    @Test func postSendsStripesWireFormat() throws {
        stripe.on(
            "POST", "/v1/checkout/sessions", .json(200, #"{"id":"cs_test_1","object":"checkout.session","url":"https://checkout.stripe.com/c/pay/cs_test_1"}"#))
        let session = try client.post(
            "/v1/checkout/sessions",
            form: [
                ("mode", "payment"), ("line_items[0][price]", "price_123"), ("line_items[0][quantity]", "2"),
                ("metadata[product]", "pro license"), ("success_url", "https://shop.example.com/thanks?session_id={CHECKOUT_SESSION_ID}"),
            ], idempotencyKey: "checkout-abc")
        #expect(try session.string("id") == "cs_test_1")
        let request = try #require(stripe.requests.last)
        #expect(request.method == "POST")
        #expect(request.headers["authorization"] == "Bearer \(FakeStripeServer.secretKey)")
        #expect(request.headers["stripe-version"] == "2026-05-27.dahlia")
        #expect(request.headers["idempotency-key"] == "checkout-abc")
        #expect(request.headers["content-type"] == "application/x-www-form-urlencoded")
        #expect(
            request.text
                == "mode=payment&line_items%5B0%5D%5Bprice%5D=price_123&line_items%5B0%5D%5Bquantity%5D=2&metadata%5Bproduct%5D=pro%20license&success_url=https%3A%2F%2Fshop.example.com%2Fthanks%3Fsession_id%3D%7BCHECKOUT_SESSION_ID%7D"
        )
        #expect(request.form.map(\.0) == ["mode", "line_items[0][price]", "line_items[0][quantity]", "metadata[product]", "success_url"])
    }

    @Test func serverErrorsAndDroppedConnectionsAreRetriedWithTheSameIdempotencyKey() throws {
        stripe.on(
            "POST", "/v1/refunds",
            .json(500, #"{"error":{"type":"api_error","message":"boom"}}"#),
            .dropped,
            .json(200, #"{"id":"re_1","object":"refund"}"#))
        let refund = try client.post("/v1/refunds", form: [("payment_intent", "pi_1")], idempotencyKey: "refund-1")
        #expect(try refund.string("id") == "re_1")
        let attempts = stripe.requests.filter { $0.path == "/v1/refunds" }
        #expect(attempts.count == 3)
        #expect(Set(attempts.map { $0.headers["idempotency-key"] ?? "" }) == ["refund-1"])
    }

    @Test func stripesErrorObjectIsReportedWithoutRetry() throws {
        stripe.on(
            "POST", "/v1/refunds",
            .json(
                402,
                #"{"error":{"type":"card_error","code":"card_declined","decline_code":"insufficient_funds","message":"Your card has insufficient funds.","param":"source"}}"#
            ))
        let failure = #expect(throws: StripeClient.Failure.self) { try client.post("/v1/refunds", form: [], idempotencyKey: "k") }
        #expect(
            failure?.description
                == "Stripe answered 402 card_error (card_declined) for source, decline code insufficient_funds: Your card has insufficient funds.")
        #expect(stripe.requests.count == 1)
        #expect(failure?.description.contains(FakeStripeServer.secretKey) == false)
    }

    @Test func shouldRetryFalseStopsRetries() throws {
        stripe.on(
            "POST", "/v1/payment_intents",
            LoopbackHTTPServer.Response(
                status: 500, headers: [("Content-Type", "application/json"), ("Stripe-Should-Retry", "false")],
                body: Array(#"{"error":{"type":"api_error","message":"do not retry"}}"#.utf8)))
        #expect(throws: StripeClient.Failure.self) { try client.post("/v1/payment_intents", form: [], idempotencyKey: "k") }
        #expect(stripe.requests.count == 1)
    }

    @Test func wrongKeyIsAnAuthenticationError() throws {
        var settings = client.configuration
        settings.secretKey = "sk_test_wrong"
        let failure = #expect(throws: StripeClient.Failure.self) { try StripeClient(configuration: settings).get("/v1/balance") }
        #expect(failure?.description.hasPrefix("Stripe answered 401 invalid_request_error") == true)
        #expect(failure?.description.contains("sk_test_wrong") == false)
    }

    @Test func unreachableStripeIsReportedAfterRetries() throws {
        var settings = client.configuration
        settings.apiBase = "http://127.0.0.1:\(TestPaths.freePort())"
        var unreachable = StripeClient(configuration: settings)
        unreachable.backoff = { _ in 0.01 }
        let failure = #expect(throws: StripeClient.Failure.self) { try unreachable.get("/v1/balance") }
        #expect(failure?.description.hasPrefix("Stripe could not be reached") == true)
    }

    @Test func lineItemsFollowPagination() throws {
        stripe.on(
            "GET", "/v1/checkout/sessions/cs_1/line_items",
            .json(200, #"{"object":"list","data":[{"id":"li_1","quantity":1,"price":{"id":"price_a"}}],"has_more":true}"#),
            .json(200, #"{"object":"list","data":[{"id":"li_2","quantity":3,"price":{"id":"price_b"}}],"has_more":false}"#))
        let items = try client.checkoutSessionLineItems("cs_1")
        #expect(try items.map { try $0.string("id") } == ["li_1", "li_2"])
        #expect(stripe.requests.map(\.query) == ["limit=100", "limit=100&starting_after=li_1"])
    }

    @Test func noSecretKeyMeansNoCall() {
        #expect(throws: StripeClient.Failure.self) { try StripeClient(configuration: Configuration.Stripe()).get("/v1/balance") }
    }
}
