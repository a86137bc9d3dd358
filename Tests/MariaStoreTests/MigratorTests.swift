import Foundation
import Logging
import MariaStore
import Testing
import TestSupport

@Suite("Migrations")
struct MigratorTests {
    let now = Date(timeIntervalSince1970: 1_795_000_000)

    func tables(_ store: Store) throws -> [String] {
        try store.unitOfWork { connection in
            try connection.query("SELECT table_name AS t FROM information_schema.tables WHERE table_schema = DATABASE() ORDER BY table_name")
                .map { try $0.string("t") }
        }
    }

    @Test func appliesEveryMigrationAndRecordsIt() throws {
        let store = try MariaDBServer.shared.makeStore(label: "mig")
        let report = try Migrator(store: store).migrate(now: now)
        #expect(report.applied == Schema.migrations.map(\.version))
        #expect(try Migrator(store: store).appliedVersions() == Schema.migrations.map(\.version))
        #expect(try tables(store).contains("pfc_audit_log"))
        let row = try store.unitOfWork { try $0.queryOne("SELECT applied_at, checksum FROM pfc_schema_migrations WHERE version = 1") }
        #expect(try row?.string("applied_at") == "2026-11-18 11:06:40.000000")
        #expect(try row?.string("checksum") == Schema.migrations[0].checksum)
    }

    @Test func secondRunChangesNothing() throws {
        let store = try MariaDBServer.shared.makeStore(label: "mig")
        _ = try Migrator(store: store).migrate(now: now)
        let again = try Migrator(store: store).migrate(now: now)
        #expect(again.applied.isEmpty)
        #expect(again.alreadyApplied == Schema.migrations.map(\.version))
    }

    @Test func concurrentRunsApplyEachMigrationOnce() throws {
        let options = try MariaDBServer.shared.createDatabase("mig")
        let reports = ReportBox()
        let workers = (0..<4).map { _ in
            Worker {
                let store = Store(options: options, prefix: .standard, logger: Logger(label: "test"))
                defer { store.close() }
                reports.add(try Migrator(store: store).migrate(now: Date()))
            }
        }
        for worker in workers { try worker.wait() }
        let applied = reports.all.flatMap(\.applied)
        #expect(applied.sorted() == Schema.migrations.map(\.version))
    }

    @Test func prefixKeepsWordPressTablesUntouched() throws {
        let store = try MariaDBServer.shared.makeStore(prefix: TablePrefix("wp_pfc_")!, label: "mig")
        try store.unitOfWork { connection in
            try connection.execute("CREATE TABLE wp_posts (ID BIGINT PRIMARY KEY, post_title TEXT) ENGINE=InnoDB")
            try connection.execute("INSERT INTO wp_posts VALUES (1, 'Hello world!')")
        }
        _ = try Migrator(store: store).migrate(now: now)
        let names = try tables(store)
        #expect(names.filter { !$0.hasPrefix("wp_pfc_") } == ["wp_posts"])
        #expect(names.contains("wp_pfc_schema_migrations"))
        #expect(names.contains("wp_pfc_audit_log"))
        let title = try store.unitOfWork { try $0.queryOne("SELECT post_title FROM wp_posts WHERE ID = 1")?.string("post_title") }
        #expect(title == "Hello world!")
    }

    @Test func editedMigrationIsRefused() throws {
        let store = try MariaDBServer.shared.makeStore(label: "mig")
        let original = [Migration(version: 1, name: "t", statements: ["CREATE TABLE IF NOT EXISTS {prefix}t (id INT PRIMARY KEY)"])]
        _ = try Migrator(store: store, migrations: original).migrate(now: now)
        let edited = [Migration(version: 1, name: "t", statements: ["CREATE TABLE IF NOT EXISTS {prefix}t (id BIGINT PRIMARY KEY)"])]
        let error = #expect(throws: Migrator.MigrationError.self) { try Migrator(store: store, migrations: edited).migrate(now: now) }
        #expect(error?.description.contains("migration 1 (t) differs") == true)
    }

    @Test func checksumsAreStableAndSensitive() {
        let a = Migration(version: 1, name: "a", statements: ["CREATE TABLE x (id INT)"])
        let b = Migration(version: 1, name: "a", statements: ["CREATE TABLE x (id INT) "])
        #expect(a.checksum == Migration(version: 1, name: "a", statements: ["CREATE TABLE x (id INT)"]).checksum)
        #expect(a.checksum != b.checksum)
        #expect(a.checksum.count == 16)
    }

    @Test func versionsAreUniqueAndAscending() {
        let versions = Schema.migrations.map(\.version)
        #expect(versions == versions.sorted())
        #expect(Set(versions).count == versions.count)
    }
}

final class ReportBox: @unchecked Sendable {
    private let lock = NSLock()
    private var reports: [Migrator.Report] = []
    func add(_ report: Migrator.Report) { lock.lock(); reports.append(report); lock.unlock() }
    var all: [Migrator.Report] { lock.lock(); defer { lock.unlock() }; return reports }
}
