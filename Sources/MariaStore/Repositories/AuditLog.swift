import Foundation

/// The append-only record of every state change: what, before → after, who or what caused it.
public struct AuditLog {
    let connection: Connection
    let table: String

    public init(_ connection: Connection, prefix: TablePrefix) {
        self.connection = connection
        self.table = prefix.table("audit_log")
    }

    /// Records a change. `actor` names the cause (`stripe:evt_…`, `operator:cli`); `detail`
    /// never holds a license key, a secret or personal data beyond ids.
    public func record(subject: String, id: String, action: String, before: String?, after: String?, actor: String, detail: String? = nil, now: Date) throws {
        try connection.execute(
            """
            INSERT INTO \(table) (occurred_at, subject_type, subject_id, action, before_state, after_state, actor, detail)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """, [now, subject, id, action, before, after, actor, detail])
    }

    public struct Entry: Sendable, Equatable {
        public let subject: String
        public let id: String
        public let action: String
        public let before: String?
        public let after: String?
        public let actor: String
    }

    public func entries(subject: String, id: String) throws -> [Entry] {
        try connection.query(
            "SELECT subject_type, subject_id, action, before_state, after_state, actor FROM \(table) WHERE subject_type = ? AND subject_id = ? ORDER BY id",
            [subject, id]
        ).map { row in
            Entry(
                subject: try row.string("subject_type"), id: try row.string("subject_id"), action: try row.string("action"),
                before: try row.optionalString("before_state"), after: try row.optionalString("after_state"), actor: try row.string("actor"))
        }
    }
}
