import Foundation
import Handlers

/// The real Stripe event payloads vendored in `Tests/Fixtures/stripe/`, and signing as Stripe does.
public enum StripeFixtures {
    public static let directory = TestPaths.repositoryRoot.appendingPathComponent("Tests/Fixtures/stripe")

    /// The raw bytes of a fixture (`checkout.session.completed.payment_card`).
    public static func load(_ name: String) throws -> [UInt8] {
        let url = directory.appendingPathComponent(name + ".json")
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw TestSupportError("fixture \(url.path) is missing")
        }
        return Array(data)
    }

    /// A fixture with some top-level or `data.object` fields replaced (a new event id, say),
    /// re-serialised: still a real Stripe shape.
    public static func variant(_ name: String, event: [String: Any] = [:], object: [String: Any] = [:]) throws -> [UInt8] {
        var root = try JSONSerialization.jsonObject(with: Data(load(name))) as! [String: Any]
        for (key, value) in event { root[key] = value }
        var data = root["data"] as! [String: Any]
        var inner = data["object"] as! [String: Any]
        for (key, value) in object { inner[key] = value }
        data["object"] = inner
        root["data"] = data
        return Array(try JSONSerialization.data(withJSONObject: root, options: [.sortedKeys]))
    }

    /// A fixture's `data.object`, as Stripe's API answers for that object.
    public static func object(_ name: String) throws -> String {
        let event = try JSONSerialization.jsonObject(with: Data(load(name))) as? [String: Any] ?? [:]
        let object = (event["data"] as? [String: Any])?["object"] ?? [:]
        return String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
    }

    /// The `Stripe-Signature` header Stripe would send for `body`.
    public static func signature(_ body: [UInt8], secret: String, at date: Date = Date()) -> String {
        // HMAC-SHA256 with EVP_sha256 fails only when libcrypto is broken: the harness itself cannot go on.
        try! WebhookSignature.header(payload: body, secret: secret, timestamp: Int64(date.timeIntervalSince1970))
    }
}
