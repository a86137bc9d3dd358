import Foundation
import Logging
import MariaStore
import TestSupport
import Testing

/// The balance row per customer: always the ledger's sum, and the one row a spend decides on.
@Suite("Credits: the balance row a spend decides on")
struct CreditBalanceTests {
    let now = Date(timeIntervalSince1970: 1_795_000_000)
    let store: Store

    init() throws {
        store = try MariaDBServer.shared.makeStore(label: "bal")
        _ = try Migrator(store: store).migrate(now: now)
    }

    func ledgerSum(_ customer: Int64) throws -> Int64 {
        try store.withConnection { try $0.queryOne("SELECT COALESCE(SUM(delta), 0) AS s FROM pfc_credit_ledger WHERE customer_id = ?", [customer])!.int("s") }
    }

    func customer(_ email: String) throws -> Int64 {
        try store.transaction {
            try #require(try CustomerRepository($0, prefix: .standard).findOrCreate(stripeCustomerID: nil, email: email, actor: "test", now: now))
        }
    }

    @Test func everyLedgerEntryMovesTheBalanceRowOnce() throws {
        let buyer = try customer("balance@example.com")
        let appended = try store.transaction { connection in
            let grants = CreditLedger(connection, prefix: .standard)
            return [
                try grants.appendCredits(customerID: buyer, delta: 100, kind: "grant", source: "order", sourceID: "1:0", now: now),
                try grants.appendCredits(customerID: buyer, delta: 100, kind: "grant", source: "order", sourceID: "1:0", now: now),
                try grants.appendCredits(customerID: buyer, delta: -30, kind: "reversal", source: "refund", sourceID: "re_1", now: now),
            ]
        }
        #expect(appended == [true, false, true])
        let balance = try store.withConnection { try CreditLedger($0, prefix: .standard).creditBalance(customerID: buyer) }
        #expect(balance == 70)
        #expect(try ledgerSum(buyer) == 70)
    }

    @Test func aSpendIsGuardedByTheBalanceAndWritesNothingWhenRefused() throws {
        let buyer = try customer("spender@example.com")
        try store.transaction {
            try CreditLedger($0, prefix: .standard).appendCredits(customerID: buyer, delta: 10, kind: "grant", source: "order", sourceID: "2:0", now: now)
        }
        let first = try store.transaction { try CreditLedger($0, prefix: .standard).spend(customerID: buyer, amount: 7, idempotencyKey: "a", now: now) }
        #expect(first == .spent(balanceAfter: 3))
        let second = try store.transaction { try CreditLedger($0, prefix: .standard).spend(customerID: buyer, amount: 4, idempotencyKey: "b", now: now) }
        #expect(second == .refused(balance: 3))
        #expect(try ledgerSum(buyer) == 3)
        // A key already recorded is an insert race: the caller's transaction runs again and replays it.
        let error = #expect(throws: DatabaseError.self) {
            try store.withConnection { try CreditLedger($0, prefix: .standard).spend(customerID: buyer, amount: 1, idempotencyKey: "a", now: now) }
        }
        #expect(error?.kind == .insertRace)
    }

    @Test func mergedCustomersKeepTheirCombinedBalance() throws {
        let kept = try customer("kept@example.com")
        let merged = try customer("merged@example.com")
        try store.transaction { connection in
            let grants = CreditLedger(connection, prefix: .standard)
            try grants.appendCredits(customerID: kept, delta: 5, kind: "grant", source: "order", sourceID: "3:0", now: now)
            try grants.appendCredits(customerID: merged, delta: 8, kind: "grant", source: "order", sourceID: "4:0", now: now)
            try CustomerRepository(connection, prefix: .standard).merge(merged, into: kept, actor: "test", now: now)
        }
        let balances = try store.withConnection { connection in
            (
                try CreditLedger(connection, prefix: .standard).creditBalance(customerID: kept),
                try connection.queryOne("SELECT COUNT(*) AS n FROM pfc_credit_balances WHERE customer_id = ?", [merged])!.int("n")
            )
        }
        #expect(balances.0 == 13)
        #expect(balances.1 == 0)
    }

    @Test func migrationTenBackfillsEveryBalanceFromTheLedger() throws {
        let old = try MariaDBServer.shared.makeStore(label: "bal9")
        _ = try Migrator(store: old, migrations: Schema.migrations.filter { $0.version < 10 }).migrate(now: now)
        try old.withConnection { connection in
            try connection.execute("INSERT INTO pfc_customers (email, created_at) VALUES ('old@example.com', ?)", ["2026-01-01 00:00:00"])
            let id = try connection.queryOne("SELECT id FROM pfc_customers WHERE email = 'old@example.com'")!.int("id")
            for (delta, key) in [(50, "o:1"), (-20, "c:1"), (-40, "r:1")] {
                try connection.execute(
                    "INSERT INTO pfc_credit_ledger (customer_id, delta, kind, source, source_id, created_at) VALUES (?, ?, 'grant', 's', ?, ?)",
                    [id, delta, key, "2026-01-01 00:00:00"])
            }
        }
        let report = try Migrator(store: old).migrate(now: now)
        #expect(report.applied.first == 10)
        let balance = try old.withConnection { connection in
            try connection.queryOne(
                "SELECT b.balance FROM pfc_credit_balances b JOIN pfc_customers c ON c.id = b.customer_id WHERE c.email = 'old@example.com'")?.int("balance")
        }
        #expect(balance == -10)
    }
}
