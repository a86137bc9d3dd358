/// The envelope of a Stripe event: what every event has, whatever its type or API version.
public struct StripeEvent: Sendable {
    public let id: String
    public let type: String
    public let livemode: Bool
    public let apiVersion: String?
    /// Unix time at which Stripe created the event (the only ordering Stripe gives).
    public let created: Int64
    /// `data.object`: the object the event is about, as of the event.
    public let object: JSONObject

    /// Reads the envelope. Only what every event carries is required here; each event type's
    /// handler reads the rest of `object` and reports its own shape problems.
    public static func parse(_ body: [UInt8]) throws(JSONObject.ShapeError) -> StripeEvent {
        let root = try JSONObject.parse(body)
        if let kind = try root.optionalString("object"), kind != "event" {
            throw JSONObject.ShapeError(path: "object", problem: "expected \"event\", found \"\(kind)\"")
        }
        let id = try root.string("id")
        guard id.hasPrefix("evt_"), id.utf8.count <= 255 else { throw JSONObject.ShapeError(path: "id", problem: "is not a Stripe event id") }
        return StripeEvent(
            id: id, type: try root.string("type"), livemode: try root.bool("livemode"),
            apiVersion: try root.optionalString("api_version"), created: try root.int("created"),
            object: try root.object("data").object("object"))
    }
}
