import Synchronization

/// How many Stripe calls the request handlers of one process may have in flight at once.
/// A Stripe call can hold its worker for seconds; without a bound, anonymous checkouts or a
/// slow Stripe could occupy every worker and starve license checks and webhooks. A call over
/// the budget is refused at once (503 with `Retry-After`), never queued.
public final class StripeCallGate: Sendable {
    public let limit: Int
    private let inFlight = Atomic<Int>(0)

    public init(limit: Int) {
        self.limit = max(1, limit)
    }

    /// Takes a place; false when all are taken.
    func enter() -> Bool {
        var current = inFlight.load(ordering: .relaxed)
        while current < limit {
            let (exchanged, original) = inFlight.compareExchange(expected: current, desired: current + 1, ordering: .acquiringAndReleasing)
            if exchanged { return true }
            current = original
        }
        return false
    }

    func leave() {
        inFlight.subtract(1, ordering: .acquiringAndReleasing)
    }
}
