import Foundation

/// Messages to deliver after the transaction that caused them commits (license emails,
/// notifications to WordPress). Written here; sent by the outbox deliverer.
public struct Outbox {
    let connection: Connection
    let table: String
    let prefix: TablePrefix

    public init(_ connection: Connection, prefix: TablePrefix) {
        self.connection = connection
        self.table = prefix.table("outbox")
        self.prefix = prefix
    }

    /// Queues a message once per `dedupeKey`; `sealed` is an encrypted secret for the message.
    @discardableResult
    public func enqueue(kind: String, dedupeKey: String, recipient: String?, payload: String, sealed: [UInt8]?, now: Date) throws -> Bool {
        return try connection.execute(
            """
            INSERT INTO \(table) (kind, dedupe_key, recipient, payload, sealed, created_at, next_attempt_at)
            VALUES (?, ?, ?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE id = id
            """, [kind, dedupeKey, recipient, payload, sealed, now, now]
        ).affectedRows == 1
    }

    /// How many messages carry `dedupeKey`, or `dedupeKey#n` (repeats of one kind of news).
    public func count(dedupeKey: String) throws -> Int {
        Int(
            try connection.queryOne(
                """
                SELECT COUNT(*) AS n FROM \(table) WHERE dedupe_key = ? OR LEFT(dedupe_key, CHAR_LENGTH(?) + 1) = CONCAT(?, '#')
                """, [dedupeKey, dedupeKey, dedupeKey])?.int("n") ?? 0)
    }

    public struct Message: Sendable {
        public let id: Int64
        public let kind: String
        public let dedupeKey: String
        public let recipient: String?
        public let payload: String
        public let sealed: [UInt8]?
    }

    /// These messages (claimed by the caller).
    public func messages(ids: [Int64]) throws -> [Message] {
        guard !ids.isEmpty else { return [] }
        let marks = Array(repeating: "?", count: ids.count).joined(separator: ", ")
        return try connection.query(
            "SELECT id, kind, dedupe_key, recipient, payload, sealed FROM \(table) WHERE id IN (\(marks)) ORDER BY id",
            ids.map { $0 as any SQLBindable }
        ).map(Self.decode)
    }

    /// Claims up to `limit` due messages for `deliverer` until `until` and returns them. Rows
    /// another deliverer is claiming right now are skipped, not waited for.
    public func claimDue(limit: Int, by deliverer: String, until: Date, now: Date) throws -> [Message] {
        let ids = try connection.query(
            """
            SELECT id FROM \(table) WHERE delivered_at IS NULL AND dead_at IS NULL AND next_attempt_at <= ?
            AND (claimed_until IS NULL OR claimed_until < ?) ORDER BY id LIMIT ? FOR UPDATE SKIP LOCKED
            """, [now, now, limit]
        ).map { try $0.int("id") }
        guard !ids.isEmpty else { return [] }
        let marks = Array(repeating: "?", count: ids.count).joined(separator: ", ")
        try connection.execute(
            "UPDATE \(table) SET claimed_by = ?, claimed_until = ? WHERE id IN (\(marks))",
            [deliverer, until] + ids.map { $0 as any SQLBindable })
        return try messages(ids: ids)
    }

    /// Marks a message sent and erases its sealed secret (a license key has reached its buyer).
    public func markDelivered(_ id: Int64, by deliverer: String, note: String?, now: Date) throws {
        try connection.execute(
            """
            UPDATE \(table) SET delivered_at = ?, sealed = NULL, claimed_by = NULL, claimed_until = NULL, last_error = ?
            WHERE id = ? AND claimed_by = ?
            """, [now, note, id, deliverer])
    }

    /// Extends the claims `deliverer` still holds among `ids`; returns those ids.
    public func renewClaims(_ ids: [Int64], by deliverer: String, until: Date) throws -> Set<Int64> {
        guard !ids.isEmpty else { return [] }
        let marks = Array(repeating: "?", count: ids.count).joined(separator: ", ")
        let list = ids.map { $0 as any SQLBindable }
        try connection.execute(
            "UPDATE \(table) SET claimed_until = ? WHERE claimed_by = ? AND delivered_at IS NULL AND id IN (\(marks))",
            [until, deliverer] + list)
        return Set(
            try connection.query(
                "SELECT id FROM \(table) WHERE claimed_by = ? AND delivered_at IS NULL AND id IN (\(marks))",
                [deliverer] + list
            ).map { try $0.int("id") })
    }

    /// Puts a message back, untried, to be looked at again at `until` (it waits for configuration).
    public func `defer`(_ id: Int64, by deliverer: String, reason: String, until: Date) throws {
        try connection.execute(
            """
            UPDATE \(table) SET next_attempt_at = ?, last_error = ?, claimed_by = NULL, claimed_until = NULL WHERE id = ? AND claimed_by = ?
            """, [until, "waiting: \(reason)", id, deliverer])
    }

    /// Records a failed attempt: retried at `retryAt(attempts)`, or dead after `maxAttempts`.
    public func markFailed(_ id: Int64, by deliverer: String, error: String, maxAttempts: Int, retryAt: (Int) -> Date, now: Date) throws {
        guard let row = try connection.queryOne("SELECT attempts FROM \(table) WHERE id = ? AND claimed_by = ? FOR UPDATE", [id, deliverer]) else { return }
        let attempts = Int(try row.int("attempts")) + 1
        let dead = attempts >= maxAttempts
        try connection.execute(
            """
            UPDATE \(table) SET attempts = ?, last_error = ?, next_attempt_at = ?, dead_at = ?, claimed_by = NULL, claimed_until = NULL WHERE id = ?
            """, [attempts, String(error.prefix(1000)), retryAt(attempts), dead ? now : nil, id])
        if dead {
            try AuditLog(connection, prefix: prefix).record(
                subject: "outbox", id: String(id), action: "dead", before: "waiting", after: "dead",
                actor: "deliverer:\(deliverer)", detail: "after \(attempts) attempts", now: now)
        }
    }

    /// Puts dead (or failing) messages back in line now, writing an audit row per message
    /// naming `actor`.
    @discardableResult
    public func retry(_ id: Int64?, actor: String = "operator:cli", now: Date) throws -> Int {
        let rows =
            id == nil
            ? try connection.query("SELECT id, dead_at FROM \(table) WHERE dead_at IS NOT NULL AND delivered_at IS NULL FOR UPDATE")
            : try connection.query("SELECT id, dead_at FROM \(table) WHERE id = ? AND delivered_at IS NULL FOR UPDATE", [id!])
        let audit = AuditLog(connection, prefix: prefix)
        for row in rows {
            let message = try row.int("id")
            try connection.execute("UPDATE \(table) SET dead_at = NULL, attempts = 0, next_attempt_at = ? WHERE id = ?", [now, message])
            try audit.record(
                subject: "outbox", id: String(message), action: "retried", before: try row.isNull("dead_at") ? "waiting" : "dead",
                after: "waiting", actor: actor, now: now)
        }
        return rows.count
    }

    /// A summary row for operators (never the sealed secret).
    public struct Summary: Sendable {
        public let id: Int64
        public let kind: String
        public let recipient: String?
        public let attempts: Int
        public let state: String
        public let lastError: String?
        public let nextAttemptAt: String
    }

    public func summaries(dead: Bool, limit: Int = 100) throws -> [Summary] {
        let condition = dead ? "dead_at IS NOT NULL" : "delivered_at IS NULL"
        return try connection.query(
            """
            SELECT id, kind, recipient, attempts, delivered_at, dead_at, last_error, next_attempt_at FROM \(table)
            WHERE \(condition) ORDER BY id LIMIT ?
            """, [limit]
        ).map(Self.summary)
    }

    public func summary(_ id: Int64) throws -> Summary? {
        try connection.queryOne("SELECT id, kind, recipient, attempts, delivered_at, dead_at, last_error, next_attempt_at FROM \(table) WHERE id = ?", [id])
            .map(Self.summary)
    }

    static func summary(_ row: Row) throws -> Summary {
        let state = try row.optionalString("delivered_at") != nil ? "delivered" : try row.optionalString("dead_at") != nil ? "dead" : "pending"
        return Summary(
            id: try row.int("id"), kind: try row.string("kind"), recipient: try row.optionalString("recipient"),
            attempts: Int(try row.int("attempts")), state: state, lastError: try row.optionalString("last_error"),
            nextAttemptAt: try row.string("next_attempt_at"))
    }

    static func decode(_ row: Row) throws -> Message {
        Message(
            id: try row.int("id"), kind: try row.string("kind"), dedupeKey: try row.string("dedupe_key"),
            recipient: try row.optionalString("recipient"), payload: try row.string("payload"),
            sealed: try row.value("sealed") == .null ? nil : try row.bytes("sealed"))
    }

    /// Messages not yet delivered, oldest first.
    public func pending(limit: Int = 100) throws -> [Message] {
        try connection.query(
            "SELECT id, kind, dedupe_key, recipient, payload, sealed FROM \(table) WHERE delivered_at IS NULL AND dead_at IS NULL ORDER BY id LIMIT ?", [limit]
        )
        .map(Self.decode)
    }
}
