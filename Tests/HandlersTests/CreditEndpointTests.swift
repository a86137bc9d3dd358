import Foundation
import Handlers
import Logging
import MariaStore
import TestSupport
import Testing

@Suite("Credits: balance and consume")
struct CreditEndpointTests {
    static let apiKey = "api-key-for-tests-0123456789abcdef"
    let harness: ServiceFixture
    let context: Context

    init() throws {
        harness = try ServiceFixture()
        var configuration = harness.context.configuration
        configuration.api.key = Self.apiKey
        context = Context(store: harness.context.store, clock: harness.context.clock, configuration: configuration, logger: Logger(label: "test"))
        // 300 credits for the fixture's customer, bought through a real checkout event.
        try harness.created(ServiceFixture.cardSession, product: "credit-pack", quantity: 3)
        let body = try StripeFixtures.variant("checkout.session.completed.payment_card", object: ["metadata": ["product": "credit-pack", "quantity": "3"]])
        #expect(harness.status(harness.deliver(body)) == "processed")
    }

    func call(_ method: String, _ path: String, query: String = "", json: String? = nil, key: String? = apiKey, context: Context? = nil) -> Response {
        Self.call(method, path, query: query, json: json, key: key, context: context ?? self.context)
    }

    static func call(_ method: String, _ path: String, query: String = "", json: String? = nil, key: String? = apiKey, context: Context) -> Response {
        var headers: [(String, String)] = []
        if let key { headers.append(("Authorization", "Bearer \(key)")) }
        if json != nil { headers.append(("Content-Type", "application/json")) }
        return InProcessClient().send(method, path + (query.isEmpty ? "" : "?" + query), headers: headers, body: Array((json ?? "").utf8), context: context)
    }

    func json(_ response: Response) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]) ?? [:]
    }

    func errorCode(_ response: Response) -> String? { (json(response)["error"] as? [String: Any])?["code"] as? String }

    @Test func balanceByEmailOrCustomerID() {
        #expect(json(call("GET", "/credits/balance", query: "customer=buyer%40example.com"))["balance"] as? Int == 300)
        #expect(json(call("GET", "/credits/balance", query: "customer=cus_TnK8pQ2vXw4LmA"))["balance"] as? Int == 300)
        #expect(json(call("GET", "/credits/balance", query: "customer=stranger%40example.com"))["balance"] as? Int == 0)
        #expect(call("GET", "/credits/balance").status.code == 400)
    }

    @Test func consumeSpendsOnceAndRepeatsTheFirstAnswer() {
        let first = call("POST", "/credits/consume", json: #"{"customer":"buyer@example.com","amount":120,"idempotency_key":"order-77"}"#)
        #expect(first.status.code == 200)
        #expect(json(first)["balance"] as? Int == 180)
        let again = call("POST", "/credits/consume", json: #"{"customer":"buyer@example.com","amount":120,"idempotency_key":"order-77"}"#)
        #expect(again.status.code == 200)
        #expect(json(again)["balance"] as? Int == 180)
        #expect(again.headers["idempotent-replayed"] == "true")
        #expect(json(call("GET", "/credits/balance", query: "customer=buyer%40example.com"))["balance"] as? Int == 180)
        let reused = call("POST", "/credits/consume", json: #"{"customer":"buyer@example.com","amount":5,"idempotency_key":"order-77"}"#)
        #expect(reused.status.code == 409)
        #expect(errorCode(reused) == "idempotency_key_reused")
    }

    @Test func neverBelowZero() {
        let response = call("POST", "/credits/consume", json: #"{"customer":"buyer@example.com","amount":301,"idempotency_key":"too-much"}"#)
        #expect(response.status.code == 402)
        #expect(errorCode(response) == "insufficient_credits")
        #expect(json(call("GET", "/credits/balance", query: "customer=buyer%40example.com"))["balance"] as? Int == 300)
    }

    @Test func simultaneousSpendsNeverOverdraw() throws {
        let options = context.store.options
        let clock = context.clock
        let configuration = context.configuration
        let results = Statuses()
        Simultaneously.run(20) { index in
            // Each thread its own connection, as each worker has.
            let store = Store(options: options, prefix: .standard, logger: Logger(label: "t"))
            defer { store.close() }
            let own = Context(store: store, clock: clock, configuration: configuration, logger: Logger(label: "t"))
            let response = Self.call(
                "POST", "/credits/consume", json: #"{"customer":"buyer@example.com","amount":50,"idempotency_key":"spend-\#(index)"}"#, context: own)
            results.add(String(response.status.code))
        }
        #expect(results.all.filter { $0 == "200" }.count == 6)
        #expect(results.all.filter { $0 == "402" }.count == 14)
        #expect(json(call("GET", "/credits/balance", query: "customer=buyer%40example.com"))["balance"] as? Int == 0)
    }

    @Test func apiKeyIsRequired() {
        #expect(call("GET", "/credits/balance", query: "customer=x", key: nil).status.code == 401)
        let wrong = call("GET", "/credits/balance", query: "customer=x", key: "api-key-for-tests-0123456789abcdeX")
        #expect(wrong.status.code == 401)
        #expect(errorCode(wrong) == "unauthorized")
        #expect(call("POST", "/credits/consume", json: #"{"customer":"buyer@example.com","amount":1,"idempotency_key":"k"}"#, key: "nope").status.code == 401)
    }

    @Test func badBodiesAreNamed() {
        let missing = call("POST", "/credits/consume", json: #"{"customer":"buyer@example.com","idempotency_key":"k"}"#)
        #expect(missing.status.code == 400)
        #expect(String(decoding: missing.body, as: UTF8.self).contains("amount is required"))
        #expect(call("POST", "/credits/consume", json: #"{"customer":"buyer@example.com","amount":-4,"idempotency_key":"k"}"#).status.code == 400)
        #expect(call("POST", "/credits/consume", json: "not json").status.code == 400)
    }
}
