import Foundation
import Logging
import MariaStore
import TestSupport
import Testing

@Suite("Migrations")
struct MigratorTests {
    let now = Date(timeIntervalSince1970: 1_795_000_000)

    func tables(_ store: Store) throws -> [String] {
        try store.withConnection { connection in
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
        let row = try store.withConnection { try $0.queryOne("SELECT applied_at, checksum FROM pfc_schema_migrations WHERE version = 1") }
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
        try store.withConnection { connection in
            try connection.execute("CREATE TABLE wp_posts (ID BIGINT PRIMARY KEY, post_title TEXT) ENGINE=InnoDB")
            try connection.execute("INSERT INTO wp_posts VALUES (1, 'Hello world!')")
        }
        _ = try Migrator(store: store).migrate(now: now)
        let names = try tables(store)
        #expect(names.filter { !$0.hasPrefix("wp_pfc_") } == ["wp_posts"])
        #expect(names.contains("wp_pfc_schema_migrations"))
        #expect(names.contains("wp_pfc_audit_log"))
        let title = try store.withConnection { try $0.queryOne("SELECT post_title FROM wp_posts WHERE ID = 1")?.string("post_title") }
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
    func add(_ report: Migrator.Report) {
        lock.lock()
        reports.append(report)
        lock.unlock()
    }
    var all: [Migrator.Report] {
        lock.lock()
        defer { lock.unlock() }
        return reports
    }
}

@Suite("Migration 8: one customer per email")
struct CustomerMergeMigrationTests {
    @Test func duplicateCustomersAreMergedKeepingEverything() throws {
        let store = try MariaDBServer.shared.makeStore(label: "merge")
        defer { store.close() }
        let now = Date(timeIntervalSince1970: 1_795_000_000)
        _ = try Migrator(store: store, migrations: Schema.migrations.filter { $0.version <= 7 }).migrate(now: now)
        // What earlier versions made of one buyer: an email-only row per payment, a row per
        // Stripe customer, spellings of one address.
        try store.withConnection { connection in
            for (id, email, stripe) in [
                (1, "buyer@example.com", nil), (2, " Buyer@Example.com", "cus_A"), (3, "buyer@example.com", "cus_B"),
                (4, "other@example.com", nil), (5, nil, "cus_C"),
            ] as [(Int, String?, String?)] {
                try connection.execute("INSERT INTO pfc_customers (id, email, stripe_customer_id, created_at) VALUES (?, ?, ?, NOW(6))", [id, email, stripe])
            }
            for (id, customer) in [(10, 1), (11, 2), (12, 3), (13, 4)] {
                try connection.execute(
                    """
                    INSERT INTO pfc_orders (id, session_id, customer_id, status, mode, amount_total, currency, livemode, created_at, updated_at)
                    VALUES (?, ?, ?, 'paid', 'payment', 100, 'USD', 0, NOW(6), NOW(6))
                    """, [id, "cs_\(id)", customer])
            }
            for (customer, delta, source, sourceID) in [
                (1, 100, "order", "10:0"), (2, 100, "order", "11:0"), (3, -30, "consume", "3:job-1"),
                (4, 50, "order", "13:0"),
            ] as [(Int, Int, String, String)] {
                try connection.execute(
                    "INSERT INTO pfc_credit_ledger (customer_id, delta, kind, source, source_id, created_at) VALUES (?, ?, 'grant', ?, ?, NOW(6))",
                    [customer, delta, source, sourceID])
            }
            try connection.execute(
                """
                INSERT INTO pfc_licenses (selector, verifier, product, activation_limit, status, customer_id, created_at, updated_at)
                VALUES ('SEL0000001', REPEAT('x', 32), 'p', 1, 'active', 3, NOW(6), NOW(6))
                """)
        }
        let report = try Migrator(store: store).migrate(now: now)
        #expect(report.applied.contains(8))
        func rows(_ sql: String) throws -> [String] { try store.withConnection { try $0.query(sql).map { try $0.string("v") } } }
        #expect(
            try rows("SELECT CONCAT(id, ' ', COALESCE(email, '-')) AS v FROM pfc_customers ORDER BY id") == [
                "1 buyer@example.com", "4 other@example.com", "5 -",
            ])
        #expect(
            try rows("SELECT CONCAT(stripe_customer_id, ' ', customer_id) AS v FROM pfc_customer_stripe_ids ORDER BY 1") == ["cus_A 1", "cus_B 1", "cus_C 5"])
        #expect(try rows("SELECT CONCAT(id, ' ', customer_id) AS v FROM pfc_orders ORDER BY id") == ["10 1", "11 1", "12 1", "13 4"])
        #expect(
            try rows("SELECT CONCAT(customer_id, ' ', SUM(delta)) AS v FROM pfc_credit_ledger GROUP BY customer_id ORDER BY customer_id") == ["1 170", "4 50"])
        #expect(try rows("SELECT source_id AS v FROM pfc_credit_ledger WHERE source = 'consume'") == ["1:job-1"])
        #expect(try rows("SELECT CAST(customer_id AS CHAR) AS v FROM pfc_licenses") == ["1"])
        // From now on one address is one row, in any spelling.
        #expect(throws: DatabaseError.self) {
            try store.withConnection { try $0.execute("INSERT INTO pfc_customers (email, created_at) VALUES ('buyer@example.com', NOW(6))") }
        }
        let found = try store.withConnection { try CustomerRepository($0, prefix: .standard).find(reference: " BUYER@example.com ") }
        #expect(found == 1)
    }
}
