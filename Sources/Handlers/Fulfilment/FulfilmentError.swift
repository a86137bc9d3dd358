/// Why an event could not be applied now.
public enum FulfilmentError: Error, CustomStringConvertible {
    /// A setting needed for this event is missing (answered 503: Stripe retries, and the event
    /// is applied once the seller has set it).
    case notConfigured(String)

    public var description: String {
        switch self {
        case .notConfigured(let what): return "not configured: \(what)"
        }
    }
}
