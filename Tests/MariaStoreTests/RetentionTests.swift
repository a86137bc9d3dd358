import Foundation
import MariaStore
import TestSupport
import Testing

/// Pruning by the retention settings: delivered messages keep their body and address only for
/// a while, then only their kind and dates; failed events keep their payload only for a while;
/// expired admin sessions go.
@Suite("Retention")
struct RetentionTests {
    let now = Date(timeIntervalSince1970: 1_795_000_000)

    @Test func deliveredBodiesAreRedactedAndRecentOnesKept() throws {
        let store = try MariaDBServer.shared.makeStore(label: "ret")
        _ = try Migrator(store: store).migrate(now: now)
        let day: TimeInterval = 86_400
        let report = try store.transaction { connection -> Pruning.Report in
            let outbox = Outbox(connection, prefix: store.prefix)
            for (key, age, delivered) in [("old", 40.0, true), ("recent", 5.0, true), ("waiting", 40.0, false)] {
                try outbox.enqueue(
                    kind: "license_email", dedupeKey: key, recipient: "\(key)@example.com", payload: #"{"name":"Buyer \#(key)"}"#,
                    sealed: nil, now: now.addingTimeInterval(-age * day))
                if delivered {
                    try connection.execute(
                        "UPDATE pfc_outbox SET delivered_at = ? WHERE dedupe_key = ?", [SQLTimestamp.string(from: now.addingTimeInterval(-age * day)), key])
                }
            }
            try connection.execute(
                "INSERT INTO pfc_events (id, type, livemode, created_at, received_at, outcome, payload) VALUES ('evt_old', 't', 0, 0, ?, 'failed', 'x')",
                [SQLTimestamp.string(from: now.addingTimeInterval(-100 * day))])
            let admins = AdminRepository(connection, prefix: store.prefix)
            let (id, _) = try admins.save(email: "boss@example.com", passwordHash: "scrypt$x", totpSecret: nil, clearTOTP: false, now: now)
            try admins.startSession(
                tokenHash: [UInt8](repeating: 1, count: 32), adminID: id, expiresAt: now.addingTimeInterval(-60), now: now.addingTimeInterval(-3600))
            try admins.startSession(tokenHash: [UInt8](repeating: 2, count: 32), adminID: id, expiresAt: now.addingTimeInterval(3600), now: now)
            return try Pruning(connection, prefix: store.prefix).run(
                rateLimitsBefore: now.addingTimeInterval(-2 * day), outboxBefore: now.addingTimeInterval(-90 * day),
                eventPayloadsBefore: now.addingTimeInterval(-90 * day), checkoutsBefore: now.addingTimeInterval(-60 * day),
                deliveredBodiesBefore: now.addingTimeInterval(-30 * day), now: now)
        }
        #expect(report.redactedBodies == 1)
        #expect(report.eventPayloads == 1)
        #expect(report.adminSessions == 1)
        let rows = try store.withConnection { try $0.query("SELECT dedupe_key, recipient, payload FROM pfc_outbox ORDER BY id") }
        let state = try rows.map { "\(try $0.string("dedupe_key")) \(try $0.optionalString("recipient") ?? "-") \(try $0.string("payload"))" }
        #expect(
            state == [
                #"old - {"redacted":true}"#, #"recent recent@example.com {"name":"Buyer recent"}"#,
                #"waiting waiting@example.com {"name":"Buyer waiting"}"#,
            ])
        // A second run finds nothing more to redact.
        let again = try store.transaction {
            try Pruning($0, prefix: store.prefix).run(
                rateLimitsBefore: now, outboxBefore: now.addingTimeInterval(-90 * day), eventPayloadsBefore: now.addingTimeInterval(-90 * day),
                checkoutsBefore: now.addingTimeInterval(-60 * day), deliveredBodiesBefore: now.addingTimeInterval(-30 * day), now: now)
        }
        #expect(again.redactedBodies == 0)
    }
}
