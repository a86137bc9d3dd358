import Foundation

/// Subscriptions as Stripe reports them, latest state by event time: status, period, the plan
/// (price, catalogue product) and quantity.
public struct SubscriptionRepository {
    let connection: Connection
    let table: String

    public init(_ connection: Connection, prefix: TablePrefix) {
        self.connection = connection
        table = prefix.table("subscriptions")
    }

    /// Statuses a subscription never leaves.
    public static let terminal: Set<String> = ["canceled", "incomplete_expired"]

    public struct Subscription: Sendable, Equatable {
        public let subscription: String
        public let status: String
        public let currentPeriodEnd: Date?
        public let cancelAtPeriodEnd: Bool
        public var currentPeriodStart: Date? = nil
        public var priceID: String? = nil
        public var product: String? = nil
        public var quantity: Int? = nil
        public var customerID: Int64? = nil
        public var stripeCustomerID: String? = nil
    }

    /// A state reported by an event (or read from Stripe's API).
    public struct State: Sendable {
        public var subscription: String
        public var stripeCustomerID: String?
        public var customerID: Int64?
        public var status: String
        public var currentPeriodStart: Date?
        public var currentPeriodEnd: Date?
        public var cancelAtPeriodEnd: Bool
        public var priceID: String?
        public var product: String?
        public var quantity: Int?

        public init(
            subscription: String, stripeCustomerID: String?, customerID: Int64? = nil, status: String, currentPeriodStart: Date? = nil,
            currentPeriodEnd: Date?, cancelAtPeriodEnd: Bool, priceID: String? = nil, product: String? = nil, quantity: Int? = nil
        ) {
            self.subscription = subscription
            self.stripeCustomerID = stripeCustomerID
            self.customerID = customerID
            self.status = status
            self.currentPeriodStart = currentPeriodStart
            self.currentPeriodEnd = currentPeriodEnd
            self.cancelAtPeriodEnd = cancelAtPeriodEnd
            self.priceID = priceID
            self.product = product
            self.quantity = quantity
        }
    }

    /// Applies a reported state if at least as new as the stored one; returns whether it did.
    @discardableResult
    public func report(_ state: State, eventCreated: Int64, now: Date) throws -> Bool {
        let periodStart = state.currentPeriodStart
        let periodEnd = state.currentPeriodEnd
        if try connection.queryOne("SELECT id FROM \(table) WHERE subscription = ? FOR UPDATE", [state.subscription]) == nil {
            try connection.insertNew(
                """
                INSERT INTO \(table) (subscription, stripe_customer_id, customer_id, status, current_period_start, current_period_end, cancel_at_period_end,
                    price_id, product, quantity, status_event_created, created_at, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
                [
                    state.subscription, state.stripeCustomerID, state.customerID, state.status, periodStart, periodEnd, state.cancelAtPeriodEnd,
                    state.priceID, state.product, state.quantity, eventCreated, now, now,
                ])
            return true
        }
        // Newer states win, except that an ended subscription never comes back (Stripe cannot
        // reactivate it), so its end applies whenever it arrives and nothing applies after it.
        let ending = Self.terminal.contains(state.status)
        return try connection.execute(
            """
            UPDATE \(table) SET status = ?, current_period_start = COALESCE(?, current_period_start), current_period_end = COALESCE(?, current_period_end),
                cancel_at_period_end = ?, price_id = COALESCE(?, price_id), product = COALESCE(?, product), quantity = COALESCE(?, quantity),
                customer_id = COALESCE(customer_id, ?), stripe_customer_id = COALESCE(stripe_customer_id, ?),
                status_event_created = GREATEST(status_event_created, ?), updated_at = ?
            WHERE subscription = ? AND status NOT IN ('canceled', 'incomplete_expired') AND (status_event_created <= ? OR ?)
            """,
            [
                state.status, periodStart, periodEnd, state.cancelAtPeriodEnd, state.priceID, state.product, state.quantity, state.customerID,
                state.stripeCustomerID, eventCreated, now, state.subscription, eventCreated, ending,
            ]
        ).affectedRows > 0
    }

    private static let columns = """
        subscription, status, current_period_start, current_period_end, cancel_at_period_end, price_id, product, quantity, customer_id, stripe_customer_id
        """

    public func find(_ subscription: String) throws -> Subscription? {
        try connection.queryOne("SELECT \(Self.columns) FROM \(table) WHERE subscription = ?", [subscription]).map(Self.decode)
    }

    /// A customer's subscriptions, newest first.
    public func subscriptions(customerID: Int64) throws -> [Subscription] {
        try connection.query("SELECT \(Self.columns) FROM \(table) WHERE customer_id = ? ORDER BY id DESC", [customerID]).map(Self.decode)
    }

    /// Every subscription this service knows (for `subscriptions check`).
    public func all() throws -> [Subscription] {
        try connection.query("SELECT \(Self.columns) FROM \(table) ORDER BY id").map(Self.decode)
    }

    static func decode(_ row: Row) throws -> Subscription {
        Subscription(
            subscription: try row.string("subscription"), status: try row.string("status"),
            currentPeriodEnd: try row.optionalDate("current_period_end"),
            cancelAtPeriodEnd: try row.int("cancel_at_period_end") == 1,
            currentPeriodStart: try row.optionalDate("current_period_start"),
            priceID: try row.optionalString("price_id"), product: try row.optionalString("product"),
            quantity: try row.optionalInt("quantity").map(Int.init), customerID: try row.optionalInt("customer_id"),
            stripeCustomerID: try row.optionalString("stripe_customer_id"))
    }
}
