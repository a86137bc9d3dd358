import Foundation

/// Applies pending migrations and records them in `{prefix}schema_migrations`.
///
/// Safe to run twice (applied versions are skipped) and from two processes at once: the run
/// holds a server-wide named lock (`GET_LOCK`), so a second process waits and then finds
/// nothing left to do.
public struct Migrator {
    public let store: Store
    public let migrations: [Migration]
    /// Seconds to wait for another process's migration run to finish.
    public var lockTimeoutSeconds = 60

    public init(store: Store, migrations: [Migration] = Schema.migrations) {
        self.store = store
        self.migrations = migrations
    }

    /// What a run did.
    public struct Report: Sendable, Equatable {
        public let applied: [Int]
        public let alreadyApplied: [Int]
    }

    /// A problem that stops migration: an edited migration, a lock that never came free.
    public struct MigrationError: Error, CustomStringConvertible {
        public let description: String
    }

    /// Applies every migration not yet recorded, in version order. `now` stamps `applied_at`.
    public func migrate(now: Date) throws -> Report {
        try store.withConnection { connection in
            let lockName = "\(store.options.database).\(store.prefix.value)migrate"
            let lock = try connection.queryOne("SELECT GET_LOCK(?, ?) AS acquired", [lockName, lockTimeoutSeconds])
            guard try lock?.optionalInt("acquired") == 1 else {
                throw MigrationError(description: "another migration run held the lock for more than \(lockTimeoutSeconds) s")
            }
            defer { _ = try? connection.query("SELECT RELEASE_LOCK(?)", [lockName]) }

            let ledger = store.prefix.table("schema_migrations")
            try connection.execute(
                """
                CREATE TABLE IF NOT EXISTS \(ledger) (
                    version INT NOT NULL PRIMARY KEY,
                    name VARCHAR(191) NOT NULL,
                    checksum CHAR(16) NOT NULL,
                    applied_at DATETIME(6) NOT NULL
                ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
                """)
            var recorded: [Int: String] = [:]
            for row in try connection.query("SELECT version, checksum FROM \(ledger)") {
                recorded[Int(try row.int("version"))] = try row.string("checksum")
            }

            var applied: [Int] = []
            var skipped: [Int] = []
            for migration in migrations.sorted(by: { $0.version < $1.version }) {
                if let checksum = recorded[migration.version] {
                    guard checksum == migration.checksum else {
                        throw MigrationError(
                            description:
                                "migration \(migration.version) (\(migration.name)) differs from the one applied to this database (checksum \(checksum), now \(migration.checksum))"
                        )
                    }
                    skipped.append(migration.version)
                    continue
                }
                for statement in migration.statements {
                    try connection.execute(store.prefix.apply(to: statement))
                }
                try connection.execute(
                    "INSERT INTO \(ledger) (version, name, checksum, applied_at) VALUES (?, ?, ?, ?)",
                    [migration.version, migration.name, migration.checksum, now])
                applied.append(migration.version)
            }
            return Report(applied: applied, alreadyApplied: skipped)
        }
    }

    /// The versions recorded as applied, in order.
    public func appliedVersions() throws -> [Int] {
        try store.withConnection { connection in
            let ledger = store.prefix.table("schema_migrations")
            let exists = try connection.queryOne(
                "SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = ?",
                [ledger])
            guard try exists?.int("n") == 1 else { return [] }
            return try connection.query("SELECT version FROM \(ledger) ORDER BY version").map { Int(try $0.int("version")) }
        }
    }
}
