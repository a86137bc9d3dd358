import Foundation
import Handlers
import MariaStore
import TestSupport
import Testing

@Suite("Operator actions: key rotation, fulfilling a flagged order")
struct OperatorActionTests {
    let harness: ServiceFixture

    init() throws { harness = try ServiceFixture() }

    func sealedKeys() throws -> [(dedupe: String, key: LicenseKey)] {
        let box = SecretBox(key: ServiceFixture.sealingKey)!
        return try harness.context.store.withConnection { try Outbox($0, prefix: .standard).pending() }
            .filter { $0.kind == "license_email" }
            .map { message in
                let id = (try JSONSerialization.jsonObject(with: Data(message.payload.utf8)) as! [String: Any])["license_id"] as! Int
                let opened = box.open(message.sealed!, context: Array("license:\(id)".utf8))!
                return (message.dedupeKey, LicenseKey(parsing: String(decoding: opened, as: UTF8.self))!)
            }
    }

    @Test func rotationRevokesTheOldKeyAndQueuesTheNewOne() throws {
        #expect(harness.status(try harness.deliver("checkout.session.completed.payment_card")) == "processed")
        let old = try #require(try sealedKeys().first?.key)
        let id = try #require(Int64(try harness.value("SELECT id AS v FROM pfc_licenses") ?? ""))

        try LicenseKeyIssuer(context: harness.context).rotate(licenseID: id, actor: "operator:test")

        let keys = try sealedKeys()
        #expect(keys.count == 2)
        let new = try #require(keys.first { $0.key != old }?.key)
        let hasher = LicenseKeyHasher(pepper: ServiceFixture.pepper)
        let stored = try harness.context.store.withConnection { try $0.queryOne("SELECT selector, verifier FROM pfc_licenses")! }
        #expect(try stored.string("selector") == new.selector)
        #expect(try stored.bytes("verifier") == (try hasher.verifier(for: new)))
        #expect(try stored.bytes("verifier") != (try hasher.verifier(for: old)))
        #expect(try harness.count("audit_log", "action = 'key_rotated' AND actor = 'operator:test'") == 1)
        #expect(try harness.count("licenses") == 1)
    }

    @Test func flaggedOrderIsFulfilledOnceTheCatalogueKnowsThePrice() throws {
        let session = "cs_test_flagged"
        harness.stripe.lineItems(session: session, [("price_1Later", 2)])
        let body = try StripeFixtures.variant("checkout.session.completed.payment_card", object: ["id": session])
        #expect(harness.status(harness.deliver(body)) == "processed")
        #expect(try harness.value("SELECT attention AS v FROM pfc_orders") == "not in the catalogue: price price_1Later")

        try harness.context.store.transaction {
            try ProductRepository($0, prefix: .standard).save(
                Product(product: "later", name: "Later", kind: .credits, stripePriceID: "price_1Later", credits: 10), actor: "test", now: Date())
        }
        let sessionObject = try JSONSerialization.jsonObject(with: Data(body)) as! [String: Any]
        let object = (sessionObject["data"] as! [String: Any])["object"]!
        let json = String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self)
        harness.stripe.on("GET", "/v1/checkout/sessions/\(session)", .json(200, json))

        let order = try CheckoutFulfilment(context: harness.context, actor: "operator:test").fulfil(sessionID: session)
        #expect(order?.attention == nil)
        #expect(try harness.value("SELECT SUM(delta) AS v FROM pfc_credit_ledger") == "20")
        // Repeating it grants nothing more.
        _ = try CheckoutFulfilment(context: harness.context, actor: "operator:test").fulfil(sessionID: session)
        #expect(try harness.value("SELECT SUM(delta) AS v FROM pfc_credit_ledger") == "20")
    }
}
