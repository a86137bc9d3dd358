import Foundation

/// What the dashboard shows besides money: licenses, activations, credits, webhook health and
/// the outbox.
public struct OperationsReport {
    let connection: Connection
    let prefix: TablePrefix

    public init(_ connection: Connection, prefix: TablePrefix) {
        self.connection = connection
        self.prefix = prefix
    }

    /// Counts over [`from`, `to`).
    public struct Activity: Sendable, Equatable {
        public var licensesIssued: Int64 = 0
        public var activations: Int64 = 0
        public var creditsGranted: Int64 = 0
        public var creditsConsumed: Int64 = 0
        public init() {}
    }

    public func activity(from: Date, to: Date) throws -> Activity {
        let range = [from, to]
        var activity = Activity()
        activity.licensesIssued =
            try connection.queryOne(
                "SELECT COUNT(*) AS n FROM \(prefix.table("licenses")) WHERE created_at >= ? AND created_at < ?",
                range)?.int("n") ?? 0
        activity.activations =
            try connection.queryOne(
                "SELECT COUNT(*) AS n FROM \(prefix.table("activations")) WHERE first_seen >= ? AND first_seen < ?",
                range)?.int("n") ?? 0
        let credits = prefix.table("credit_ledger")
        activity.creditsGranted =
            try connection.queryOne(
                "SELECT COALESCE(SUM(delta), 0) AS n FROM \(credits) WHERE delta > 0 AND kind = 'grant' AND created_at >= ? AND created_at < ?",
                range)?.int("n") ?? 0
        activity.creditsConsumed =
            try connection.queryOne(
                "SELECT COALESCE(-SUM(delta), 0) AS n FROM \(credits) WHERE source = 'consume' AND created_at >= ? AND created_at < ?",
                range)?.int("n") ?? 0
        return activity
    }

    /// New activations per day over [`from`, `to`) (days without any are absent).
    public func activationsPerDay(from: Date, to: Date) throws -> [(day: String, count: Int64)] {
        try connection.query(
            """
            SELECT DATE_FORMAT(first_seen, '%Y-%m-%d') AS day, COUNT(*) AS n FROM \(prefix.table("activations"))
            WHERE first_seen >= ? AND first_seen < ? GROUP BY day ORDER BY day
            """, [from, to]
        ).map { (try $0.string("day"), try $0.int("n")) }
    }

    /// The webhook's state: the last processed event per mode and the failures waiting.
    public struct WebhookHealth: Sendable, Equatable {
        public var lastLive: String?
        public var lastTest: String?
        public var failed: Int64 = 0
        public init() {}
    }

    public func webhookHealth() throws -> WebhookHealth {
        let events = prefix.table("events")
        var health = WebhookHealth()
        for row in try connection.query("SELECT livemode, MAX(received_at) AS last FROM \(events) WHERE outcome <> 'failed' GROUP BY livemode") {
            if try row.int("livemode") == 1 { health.lastLive = try row.optionalString("last") } else { health.lastTest = try row.optionalString("last") }
        }
        health.failed = try connection.queryOne("SELECT COUNT(*) AS n FROM \(events) WHERE outcome = 'failed'")?.int("n") ?? 0
        return health
    }

    /// The outbox's state: messages waiting, how long the oldest has waited, and dead ones.
    public struct OutboxState: Sendable, Equatable {
        public var pending: Int64 = 0
        public var oldestPending: String?
        public var dead: Int64 = 0
        public init() {}
    }

    public func outbox() throws -> OutboxState {
        let table = prefix.table("outbox")
        var state = OutboxState()
        if let row = try connection.queryOne("SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM \(table) WHERE delivered_at IS NULL AND dead_at IS NULL") {
            state.pending = try row.int("n")
            state.oldestPending = try row.optionalString("oldest")
        }
        state.dead = try connection.queryOne("SELECT COUNT(*) AS n FROM \(table) WHERE dead_at IS NOT NULL AND delivered_at IS NULL")?.int("n") ?? 0
        return state
    }
}
