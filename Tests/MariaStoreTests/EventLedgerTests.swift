import Foundation
import Logging
import MariaStore
import TestSupport
import Testing

/// The ledger claim that makes every Stripe event count once, with the interleaving that
/// deadlocked: duplicates waiting on a first delivery's claim, all released by its commit.
@Suite("Events ledger: claiming")
struct EventLedgerTests {
    let options: ConnectionOptions

    init() throws {
        let store = try MariaDBServer.shared.makeStore(label: "ledger")
        _ = try Migrator(store: store).migrate(now: Date())
        options = store.options
        store.close()
    }

    @Test func duplicatesWaitingOnTheFirstClaimNeverDeadlock() throws {
        let claimed = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let options = self.options
        let holder = Worker {
            let first = Store(options: options, prefix: .standard, logger: Logger(label: "t"))
            defer { first.close() }
            try first.transaction { connection in
                _ = try EventLedger(connection, prefix: .standard).claim(
                    id: "evt_dup", type: "t", livemode: false, apiVersion: nil,
                    created: 1, receivedAt: Date(), outcome: .processed)
                claimed.signal()
                release.wait()
            }
        }
        claimed.wait()
        let outcomes = Statuses()
        // Four duplicates queue behind the first claim; none may be retried (one attempt).
        let duplicates = (0..<4).map { _ in
            Worker {
                let store = Store(options: options, prefix: .standard, logger: Logger(label: "t"))
                store.maxTransactionAttempts = 1
                defer { store.close() }
                let result = try store.transaction { connection -> String in
                    let ledger = EventLedger(connection, prefix: .standard)
                    if try ledger.claim(id: "evt_dup", type: "t", livemode: false, apiVersion: nil, created: 1, receivedAt: Date(), outcome: .processed) {
                        return "claimed"
                    }
                    return try ledger.lockedOutcome(of: "evt_dup")?.rawValue ?? "none"
                }
                outcomes.add(result)
            }
        }
        usleep(300_000)  // all four are waiting on the first claim's row
        release.signal()
        try holder.wait()
        for duplicate in duplicates { try duplicate.wait() }
        #expect(outcomes.all == Array(repeating: "processed", count: 4))
    }
}
