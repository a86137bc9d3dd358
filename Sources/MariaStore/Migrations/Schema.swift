/// Every migration the binary knows, in order. Append only: a shipped migration never changes.
public enum Schema {
    public static let migrations: [Migration] = [
        Migration(version: 1, name: "audit log", statements: [
            // Append-only record of every state change: what, before → after, who, when.
            """
            CREATE TABLE IF NOT EXISTS {prefix}audit_log (
                id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
                occurred_at DATETIME(6) NOT NULL,
                subject_type VARCHAR(32) NOT NULL,
                subject_id VARCHAR(191) NOT NULL,
                action VARCHAR(64) NOT NULL,
                before_state VARCHAR(64) NULL,
                after_state VARCHAR(64) NULL,
                actor VARCHAR(191) NOT NULL,
                detail TEXT NULL,
                KEY {prefix}audit_subject (subject_type, subject_id),
                KEY {prefix}audit_time (occurred_at)
            ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
            """,
        ]),
    ]
}
