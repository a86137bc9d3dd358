import Foundation

/// The Stripe events ledger: one row per event id, written in the same transaction as every
/// change the event causes. Its primary key is what makes each event count once.
public struct EventLedger {
    let connection: Connection
    let table: String

    public init(_ connection: Connection, prefix: TablePrefix) {
        self.connection = connection
        self.table = prefix.table("events")
    }

    /// What became of an event.
    public enum Outcome: String, Sendable {
        case processed, ignored, failed
        case otherMode = "other_mode"
    }

    /// One ledger row, without its payload.
    public struct Entry: Sendable {
        public let id: String
        public let type: String
        public let livemode: Bool
        public let outcome: Outcome
        public let receivedAt: String
        public let error: String?
    }

    /// The recorded outcome, locking the row (if any) until the transaction ends, so that a
    /// concurrent delivery of the same event waits and then sees it.
    public func lockedOutcome(of id: String) throws -> Outcome? {
        try connection.queryOne("SELECT outcome FROM \(table) WHERE id = ? FOR UPDATE", [id])
            .map { try $0.value("outcome", as: Outcome.self) }
    }

    /// The recorded outcome, without locking (a fast check before expensive work).
    public func outcome(of id: String) throws -> Outcome? {
        try connection.queryOne("SELECT outcome FROM \(table) WHERE id = ?", [id])
            .map { try $0.value("outcome", as: Outcome.self) }
    }

    /// Claims an event for this transaction by inserting its row; true when this call inserted
    /// it, false when the event was already there (the row is then locked by us). A concurrent
    /// transaction claiming the same id waits on this row until we commit or roll back, then
    /// finds it (we committed) or inserts it (we rolled back) — the one gate that makes
    /// simultaneous deliveries apply once.
    ///
    /// `ON DUPLICATE KEY UPDATE` makes a waiting duplicate ask for the row's exclusive lock
    /// straight away. A plain INSERT would take a shared lock on the duplicate and then ask
    /// for the exclusive one to read the outcome: two duplicates holding shared locks and
    /// each wanting the other's exclusive lock deadlock (seen with 50 simultaneous copies).
    public func claim(id: String, type: String, livemode: Bool, apiVersion: String?, created: Int64, receivedAt: Date, outcome: Outcome) throws -> Bool {
        try connection.execute(
            """
            INSERT INTO \(table) (id, type, livemode, api_version, created_at, received_at, outcome) VALUES (?, ?, ?, ?, ?, ?, ?)
            ON DUPLICATE KEY UPDATE id = id
            """, [id, type, livemode, apiVersion, created, receivedAt, outcome.rawValue]
        ).affectedRows == 1
    }

    /// Records (or re-records, after a failure) an event's outcome. The payload is kept only
    /// for failed events, so an operator can replay them after an upgrade.
    public func record(
        id: String, type: String, livemode: Bool, apiVersion: String?, created: Int64,
        receivedAt: Date, outcome: Outcome, error: String? = nil, payload: [UInt8]? = nil
    ) throws {
        try connection.execute(
            """
            INSERT INTO \(table) (id, type, livemode, api_version, created_at, received_at, outcome, error, payload)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON DUPLICATE KEY UPDATE outcome = VALUES(outcome), error = VALUES(error), payload = VALUES(payload),
                received_at = VALUES(received_at)
            """,
            [
                id, type, livemode, apiVersion, created, receivedAt, outcome.rawValue, error,
                outcome == .failed ? payload : nil,
            ])
    }

    /// Events by outcome, newest first.
    public func entries(outcome: Outcome? = nil, limit: Int = 100) throws -> [Entry] {
        let rows: [Row]
        if let outcome {
            rows = try connection.query(
                "SELECT id, type, livemode, outcome, received_at, error FROM \(table) WHERE outcome = ? ORDER BY received_at DESC LIMIT ?",
                [outcome.rawValue, limit])
        } else {
            rows = try connection.query("SELECT id, type, livemode, outcome, received_at, error FROM \(table) ORDER BY received_at DESC LIMIT ?", [limit])
        }
        return try rows.map { row in
            Entry(
                id: try row.string("id"), type: try row.string("type"), livemode: try row.int("livemode") == 1,
                outcome: try row.value("outcome", as: Outcome.self), receivedAt: try row.string("received_at"),
                error: try row.optionalString("error"))
        }
    }

    /// The payload kept for a failed event.
    public func payload(of id: String) throws -> [UInt8]? {
        try connection.queryOne("SELECT payload FROM \(table) WHERE id = ?", [id]).flatMap { row in
            try row.value("payload") == .null ? nil : try row.bytes("payload")
        }
    }
}
