import Foundation
import MariaStore
import TestSupport
import Testing

/// `payments-fcgi prune`: what only grows is kept only as long as it is needed.
@Suite("Pruning what only grows")
struct MaintenanceTests {
    @Test func pruneRemovesOnlyWhatIsNoLongerNeeded() throws {
        let stack = try Stack(workers: 1)
        let store = Store(options: stack.database, prefix: .standard, logger: .init(label: "t"))
        defer { store.close() }
        let now = Int64(Date().timeIntervalSince1970)
        try store.withConnection { connection in
            for (bucket, start) in [("lookup-ip:old", now - 5 * 86_400), ("lookup-ip:new", now - 60)] {
                try connection.execute("INSERT INTO pfc_rate_limits (bucket, window_start, hits) VALUES (?, ?, 3)", [bucket, start])
            }
            for (key, delivered) in [("old", "DATE_SUB(UTC_TIMESTAMP(6), INTERVAL 100 DAY)"), ("recent", "UTC_TIMESTAMP(6)"), ("pending", "NULL")] {
                try connection.execute(
                    """
                    INSERT INTO pfc_outbox (kind, dedupe_key, recipient, payload, created_at, next_attempt_at, delivered_at)
                    VALUES ('notification', ?, 'a@example.com', '{}', UTC_TIMESTAMP(6), UTC_TIMESTAMP(6), \(delivered))
                    """, [key])
            }
            for (id, age) in [("evt_old", 100), ("evt_new", 1)] {
                try connection.execute(
                    """
                    INSERT INTO pfc_events (id, type, livemode, created_at, received_at, outcome, error, payload)
                    VALUES (?, 't', 0, 1, DATE_SUB(UTC_TIMESTAMP(6), INTERVAL ? DAY), 'failed', 'x', 'payload')
                    """, [id, age])
            }
            for (session, age) in [("cs_old_unpaid", 90), ("cs_new_unpaid", 1), ("cs_old_paid", 90)] {
                try connection.execute(
                    "INSERT INTO pfc_checkouts (stripe_id, kind, created_at) VALUES (?, 'session', DATE_SUB(UTC_TIMESTAMP(6), INTERVAL ? DAY))",
                    [session, age])
            }
            try connection.execute(
                """
                INSERT INTO pfc_orders (session_id, status, mode, amount_total, currency, livemode, created_at, updated_at)
                VALUES ('cs_old_paid', 'paid', 'payment', 100, 'USD', 0, UTC_TIMESTAMP(6), UTC_TIMESTAMP(6))
                """)
        }
        let run = try ChildProcess.run(TestPaths.binary, ["prune", "--config", stack.service.configPath])
        #expect(run.status == 0, "\(run.output)")
        #expect(run.output.contains("removed 1 rate-limit windows"))
        func rows(_ sql: String) throws -> [String] { try store.withConnection { try $0.query(sql).map { try $0.string("v") } } }
        #expect(try rows("SELECT bucket AS v FROM pfc_rate_limits") == ["lookup-ip:new"])
        #expect(try rows("SELECT dedupe_key AS v FROM pfc_outbox ORDER BY id") == ["recent", "pending"])
        #expect(try rows("SELECT id AS v FROM pfc_events WHERE payload IS NOT NULL") == ["evt_new"])
        #expect(try rows("SELECT stripe_id AS v FROM pfc_checkouts ORDER BY id") == ["cs_new_unpaid", "cs_old_paid"])
    }
}
