import MariaStore

/// Which order status changes are allowed. Stripe sends events in any order; an order's
/// status only ever moves forward, so a late or repeated event cannot undo a later one.
public enum OrderTransitions {
    /// The status to move to, or nil to leave `current` as it is.
    public static func next(from current: OrderRepository.Status?, to proposed: OrderRepository.Status) -> OrderRepository.Status? {
        guard let current else { return proposed }
        if current == proposed { return nil }
        switch (current, proposed) {
        case (.pending, .paid), (.pending, .failed), (.pending, .expired): return proposed
        case (.paid, .refunded): return proposed
        default: return nil
        }
    }
}
