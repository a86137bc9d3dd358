import Foundation

/// Messages to deliver after the transaction that caused them commits (license emails,
/// notifications to WordPress). Written here; sent by the outbox deliverer.
public struct Outbox {
    let connection: Connection
    let table: String

    public init(_ connection: Connection, prefix: TablePrefix) {
        self.connection = connection
        self.table = prefix.table("outbox")
    }

    /// Queues a message once per `dedupeKey`; `sealed` is an encrypted secret for the message.
    @discardableResult
    public func enqueue(kind: String, dedupeKey: String, recipient: String?, payload: String, sealed: [UInt8]?, now: Date) throws -> Bool {
        let stamp = SQLTimestamp.string(from: now)
        return try connection.execute("""
            INSERT INTO \(table) (kind, dedupe_key, recipient, payload, sealed, created_at, next_attempt_at)
            VALUES (?, ?, ?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE id = id
            """, [kind, dedupeKey, recipient, payload, sealed, stamp, stamp]).affectedRows == 1
    }

    public struct Message: Sendable {
        public let id: Int64
        public let kind: String
        public let dedupeKey: String
        public let recipient: String?
        public let payload: String
        public let sealed: [UInt8]?
    }

    /// Messages not yet delivered, oldest first.
    public func pending(limit: Int = 100) throws -> [Message] {
        try connection.query("SELECT id, kind, dedupe_key, recipient, payload, sealed FROM \(table) WHERE delivered_at IS NULL AND dead_at IS NULL ORDER BY id LIMIT ?", [limit]).map { row in
            Message(id: try row.int("id"), kind: try row.string("kind"), dedupeKey: try row.string("dedupe_key"),
                    recipient: try row.optionalString("recipient"), payload: try row.string("payload"),
                    sealed: try row.value("sealed") == .null ? nil : try row.bytes("sealed"))
        }
    }
}
