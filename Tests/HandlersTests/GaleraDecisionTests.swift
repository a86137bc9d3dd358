import Foundation
import Handlers
import Logging
import MariaStore
import TestSupport
import Testing

/// Every decision that depends on a read, taken at the same moment on two nodes of a real
/// Galera cluster: the decisions conflict at certification (1213), the losers run again, and
/// nothing is oversold. On Galera `SELECT … FOR UPDATE` locks only on its own node, so these
/// hold only because each decision writes the row it depends on (DESIGN.md §3 rule 11).
@Suite(
    "Galera: concurrent decisions on two nodes conflict and retry", .serialized,
    .enabled(if: GaleraCluster.isAvailable, "galera-4 is not installed (apt-get install galera-4): no Galera cluster to test on"))
struct GaleraDecisionTests {
    let cluster: GaleraCluster
    let database: String
    let now = Date(timeIntervalSince1970: 1_767_268_900)

    init() throws {
        cluster = try #require(GaleraCluster.shared)
        database = try cluster.createDatabase("gal")
        _ = try Migrator(store: store(node: 1)).migrate(now: now)
        try setUp { _ in }
    }

    func store(node: Int, alsoTrying others: [Int] = []) -> Store {
        var options = cluster.options(node: node, database: database)
        options.alternates = others.map { .tcp(host: "127.0.0.1", port: cluster.sqlPort($0)) }
        options.ioTimeoutSeconds = 8
        var logger = Logger(label: "galera-test")
        logger.logLevel = .error
        return Store(options: options, prefix: .standard, logger: logger)
    }

    /// Runs set-up statements on node 1, then waits until the other nodes have applied them: a
    /// statement is prepared before Galera's causality wait applies, so a table created a
    /// moment ago on another node may not exist yet where it is prepared.
    func setUp(_ body: (Connection) throws -> Void) throws {
        try store(node: 1).withConnection(body)
        for node in 2...cluster.nodes {
            try store(node: node).readLatest { _ = try $0.queryOne("SELECT 1 AS one") }
        }
    }

    func context(_ store: Store) -> Context {
        var configuration = Configuration(database: store.options)
        configuration.licensing.keyPepper = ServiceFixture.pepper
        configuration.licensing.churnLimit = 1000
        var logger = Logger(label: "galera-test")
        logger.logLevel = .error
        return Context(store: store, clock: FixedTime(now), configuration: configuration, logger: logger)
    }

    /// Runs `count` calls at once, alternating between node 1 and node 2, each on its own store;
    /// returns the results and the retries the stores made.
    func race<T: Sendable>(_ count: Int, _ call: @escaping @Sendable (Store, Int) throws -> T) -> (
        results: [Result<T, any Error>], retries: Int, deadlocks: Int
    ) {
        let stores = (0..<count).map { store(node: $0 % 2 + 1) }
        let box = ResultBox<T>(count)
        let unsafeStores = UncheckedStores(stores)
        Simultaneously.run(count) { index in
            box.set(index, Result { try call(unsafeStores.stores[index], index) })
        }
        defer { for store in stores { store.close() } }
        return (box.all, stores.map(\.retries).reduce(0, +), stores.map(\.deadlocks).reduce(0, +))
    }

    @Test func activationsOfTheLastSeatsOnTwoNodesNeverExceedTheLimit() throws {
        let key = LicenseKey.generate(using: SecureRandom())
        let licenseID = try store(node: 1).transaction { connection in
            try GrantRepository(connection, prefix: .standard).insertLicense(
                selector: key.selector, verifier: LicenseKeyHasher(pepper: ServiceFixture.pepper).verifier(for: key), product: "pro", tier: nil,
                activationLimit: 3, expiresAt: nil, customerID: nil, orderID: nil, now: now)
        }
        let contexts = UncheckedContexts()
        let (results, retries, deadlocks) = race(24) { store, index in
            try LicenseService(context: contexts.make(store, self)).handle(
                .activate, key: key.formatted(), site: "https://site\(index).example.com",
                product: nil, clientAddress: "198.51.100.\(index)"
            ).status
        }
        let activated = results.filter { (try? $0.get()) == .active }.count
        let refused = results.filter { (try? $0.get()) == .noActivationsLeft }.count
        let seats = try store(node: 2).readLatest { try ActivationRepository($0, prefix: .standard).all(licenseID: licenseID).count }
        #expect(activated == 3, "answers: \(results)")
        // The rest are refused; a call still conflicting after every retry answers "busy" (503).
        let busy = results.filter { if case .failure(let error as DatabaseError) = $0 { return error.isTransient } else { return false } }.count
        #expect(refused + busy == 21, "answers: \(results)")
        #expect(seats == 3)
        #expect(deadlocks > 0 && retries >= deadlocks, "no certification conflict was seen: the race did not happen")
    }

    @Test func spendsOnTwoNodesNeverOverdrawTheBalance() throws {
        let customer = try store(node: 1).transaction { connection -> Int64 in
            let id = try #require(
                try CustomerRepository(connection, prefix: .standard).findOrCreate(stripeCustomerID: nil, email: "spender@example.com", actor: "test", now: now)
            )
            try CreditLedger(connection, prefix: .standard).appendCredits(customerID: id, delta: 100, kind: "grant", source: "order", sourceID: "1:0", now: now)
            return id
        }
        let (results, _, deadlocks) = race(30) { store, index in
            try store.transaction { try CreditLedger($0, prefix: .standard).spend(customerID: customer, amount: 5, idempotencyKey: "spend-\(index)", now: now) }
        }
        let spent = results.filter { if case .success(.spent) = $0 { return true } else { return false } }.count
        #expect(spent == 20, "answers: \(results)")
        let (balance, sum) = try store(node: 2).readLatest { connection in
            (
                try CreditLedger(connection, prefix: .standard).creditBalance(customerID: customer),
                try connection.queryOne("SELECT SUM(delta) AS s FROM pfc_credit_ledger WHERE customer_id = ?", [customer])!.int("s")
            )
        }
        #expect(balance == 0)
        #expect(sum == 0)
        #expect(deadlocks > 0, "no certification conflict was seen: the race did not happen")
    }

    @Test func oneEventClaimedOnTwoNodesIsAppliedOnce() throws {
        try setUp { try $0.execute("CREATE TABLE side_effect (id INT AUTO_INCREMENT PRIMARY KEY, event VARCHAR(64) NOT NULL) ENGINE=InnoDB") }
        let (results, _, _) = race(20) { store, _ in
            try store.transaction { connection -> Bool in
                let ledger = EventLedger(connection, prefix: .standard)
                guard
                    try ledger.claim(
                        id: "evt_galera_1", type: "checkout.session.completed", livemode: false, apiVersion: nil,
                        created: 1, receivedAt: now, outcome: .processed)
                else { return false }
                try connection.execute("INSERT INTO side_effect (event) VALUES ('evt_galera_1')")
                return true
            }
        }
        #expect(results.filter { (try? $0.get()) == true }.count == 1, "answers: \(results)")
        #expect(results.filter { (try? $0.get()) == false }.count == 19)
        let applied = try store(node: 2).readLatest { try $0.queryOne("SELECT COUNT(*) AS n FROM side_effect")!.int("n") }
        #expect(applied == 1)
    }

    @Test func guessingCountersOnTwoNodesCountEveryHitOnce() throws {
        let (results, _, _) = race(20) { store, _ in
            try store.transaction { try RateLimiter($0, prefix: .standard).hitAndCount("lookup-ip:198.51.100.9", window: 600, now: now) }
        }
        let counts = results.compactMap { try? $0.get() }.sorted()
        #expect(counts == Array(1...20), "each hit must see its own count: \(counts)")
    }

    @Test func aCommitThatFailsCertificationIsRetriedNeverReportedDone() throws {
        try setUp { connection in
            try connection.execute("CREATE TABLE counter (id INT PRIMARY KEY, n INT NOT NULL) ENGINE=InnoDB")
            try connection.execute("INSERT INTO counter VALUES (1, 0)")
        }
        let first = store(node: 1)
        let other = store(node: 2)
        var attempts = 0
        try first.transaction { connection in
            attempts += 1
            try connection.execute("UPDATE counter SET n = n + 1 WHERE id = 1")
            if attempts == 1 {
                // Node 2 commits a write to the same row first: this COMMIT must fail certification.
                try other.transaction { connection in
                    // Node 2 must have applied the setup first, or its UPDATE would find no row.
                    try connection.seeLatestCommits()
                    try connection.execute("UPDATE counter SET n = n + 10 WHERE id = 1")
                }
            }
        }
        #expect(attempts == 2)
        #expect(first.deadlocks == 1)
        #expect(try other.readLatest { try $0.queryOne("SELECT n FROM counter WHERE id = 1")!.int("n") } == 11)
    }

    /// Seen in scripts/galera-test: a transaction aborted by Galera between two statements,
    /// whose next statement was one this connection had never prepared, ran that statement on
    /// its own (autocommitted) and then "committed": an answer of `consumed` with no spend
    /// recorded, and an audit row for it. Whichever statement comes next, prepared before or
    /// not, it must never run outside the transaction, and the transaction must run again.
    @Test(arguments: [false, true])
    func aStatementAfterAnAbortNeverRunsOutsideTheTransaction(preparedBefore: Bool) throws {
        try setUp { connection in
            try connection.execute("CREATE TABLE acct (id INT PRIMARY KEY, n INT NOT NULL) ENGINE=InnoDB")
            try connection.execute("INSERT INTO acct VALUES (1, 0)")
            try connection.execute("CREATE TABLE note (id INT AUTO_INCREMENT PRIMARY KEY, attempt INT NOT NULL) ENGINE=InnoDB")
        }
        let victim = store(node: 1)
        let other = store(node: 2)
        let insert = "INSERT INTO note (attempt) VALUES (?)"
        if preparedBefore { try victim.transaction { try $0.execute(insert, [0]) } }
        var attempts = 0
        try victim.transaction { connection in
            attempts += 1
            try connection.execute("UPDATE acct SET n = n + 1 WHERE id = 1")
            if attempts == 1 {
                // Node 2 commits a write to the same row; applying it on node 1 aborts this
                // transaction while it waits between statements.
                try other.transaction { connection in
                    // Node 2 must have applied the setup first, or its UPDATE would find no row.
                    try connection.seeLatestCommits()
                    try connection.execute("UPDATE acct SET n = n + 10 WHERE id = 1")
                }
                usleep(300_000)
            }
            try connection.execute(insert, [attempts])
        }
        let (n, notes) = try other.readLatest { connection in
            (
                try connection.queryOne("SELECT n FROM acct WHERE id = 1")!.int("n"),
                try connection.query("SELECT attempt FROM note WHERE attempt > 0 ORDER BY id").map { try $0.int("attempt") }
            )
        }
        #expect(attempts == 2)
        #expect(n == 11)
        #expect(notes == [2], "a statement of the aborted attempt was committed on its own")
    }

    @Test func aTransactionAbortedInTheMiddleOfASelectIsRetriedWithoutHanging() throws {
        try setUp { connection in
            try connection.execute("CREATE TABLE lic (id INT PRIMARY KEY, v INT NOT NULL) ENGINE=InnoDB")
            try connection.execute("INSERT INTO lic VALUES (1, 0)")
            try connection.execute("CREATE TABLE slow (id INT PRIMARY KEY) ENGINE=InnoDB")
            try connection.execute("INSERT INTO slow VALUES (1), (2), (3), (4), (5), (6)")
        }
        let victim = store(node: 1)
        let other = store(node: 2)
        var attempts = 0
        let started = Date()
        try victim.transaction { connection in
            attempts += 1
            try connection.execute("UPDATE lic SET v = v + 1 WHERE id = 1")
            if attempts == 1 {
                // While this SELECT is streaming rows, node 2's conflicting commit arrives and
                // Galera aborts this transaction in the middle of it.
                let conflicting = Thread { [other = UncheckedStores([other])] in
                    _ = try? other.stores[0].transaction { connection in
                        // Node 2 must have applied the setup first, or its UPDATE would find no row.
                        try connection.seeLatestCommits()
                        try connection.execute("UPDATE lic SET v = v + 10 WHERE id = 1")
                    }
                }
                conflicting.start()
                _ = try connection.query("SELECT id, SLEEP(0.25) AS s FROM slow WHERE id >= ? ORDER BY id", [1])
            } else {
                // The retry runs the very same statement, holding the row lock again.
                _ = try connection.query("SELECT id, SLEEP(0.25) AS s FROM slow WHERE id >= ? ORDER BY id", [6])
            }
        }
        #expect(attempts == 2)
        #expect(Date().timeIntervalSince(started) < 6, "the retried transaction waited for the driver's read timeout")
        #expect(try other.readLatest { try $0.queryOne("SELECT v FROM lic WHERE id = 1")!.int("v") } == 11)
    }

    @Test func aNodeThatRefusesWorkIsLeftForTheNextAndAloneAnswersUnavailable() throws {
        let root = try Connection(options: cluster.rootOptions(node: 3))
        defer { root.close() }
        try root.execute("SET GLOBAL wsrep_reject_queries = ALL")
        defer { _ = try? root.execute("SET GLOBAL wsrep_reject_queries = NONE") }
        let failover = store(node: 3, alsoTrying: [1])
        let endpoint = try failover.transaction { connection -> DatabaseEndpoint in
            try connection.execute("INSERT INTO pfc_rate_limits (bucket, window_start, hits) VALUES ('failover', 0, 1)")
            return connection.endpoint
        }
        #expect(endpoint == .tcp(host: "127.0.0.1", port: cluster.sqlPort(1)))
        let alone = store(node: 3)
        let error = #expect(throws: DatabaseError.self) { try alone.transaction { try $0.queryOne("SELECT 1 AS one") } }
        #expect(error?.code == 1047 && error?.kind == .nodeNotReady && error?.isUnavailable == true, "\(String(describing: error))")
    }
}

/// Results written by many threads, each to its own slot.
final class ResultBox<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var slots: [Result<T, any Error>?]
    init(_ count: Int) { slots = Array(repeating: nil, count: count) }
    func set(_ index: Int, _ result: Result<T, any Error>) {
        lock.lock()
        slots[index] = result
        lock.unlock()
    }
    var all: [Result<T, any Error>] {
        lock.lock()
        defer { lock.unlock() }
        return slots.map { $0! }
    }
}

/// Stores handed to threads: each thread uses only its own store (a `Store` is one worker's).
final class UncheckedStores: @unchecked Sendable {
    let stores: [Store]
    init(_ stores: [Store]) { self.stores = stores }
}

/// Builds a context per thread (a `Context` holds the thread's own store).
final class UncheckedContexts: @unchecked Sendable {
    func make(_ store: Store, _ tests: GaleraDecisionTests) -> Context { tests.context(store) }
}
