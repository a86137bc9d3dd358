import Foundation

/// The credit ledger: append-only entries per customer (grants, consumption, reversals), and
/// the balance row per customer that moves with every entry in the same transaction.
public struct CreditLedger {
    let connection: Connection
    let credits: String
    let balances: String

    public init(_ connection: Connection, prefix: TablePrefix) {
        self.connection = connection
        credits = prefix.table("credit_ledger")
        balances = prefix.table("credit_balances")
    }

    /// Appends to the credit ledger once per `(source, sourceID)`; false if that entry exists.
    /// The customer's balance row moves with it, in the same transaction, so it always equals
    /// the ledger's sum — and every entry writes that row, which is what makes credit changes
    /// on different Galera nodes conflict.
    @discardableResult
    public func appendCredits(customerID: Int64, delta: Int64, kind: String, source: String, sourceID: String, now: Date) throws -> Bool {
        let inserted =
            try connection.execute(
                """
                INSERT INTO \(credits) (customer_id, delta, kind, source, source_id, created_at) VALUES (?, ?, ?, ?, ?, ?)
                ON DUPLICATE KEY UPDATE id = id
                """, [customerID, delta, kind, source, sourceID, now]
            ).affectedRows == 1
        if inserted {
            try connection.execute(
                """
                INSERT INTO \(balances) (customer_id, balance, updated_at) VALUES (?, ?, ?)
                ON DUPLICATE KEY UPDATE balance = balance + VALUES(balance), updated_at = VALUES(updated_at)
                """, [customerID, delta, now])
        }
        return inserted
    }

    /// One ledger entry, by its key.
    public func entry(source: String, sourceID: String) throws -> (customerID: Int64, delta: Int64)? {
        try connection.queryOne("SELECT customer_id, delta FROM \(credits) WHERE source = ? AND source_id = ?", [source, sourceID]).map {
            (try $0.int("customer_id"), try $0.int("delta"))
        }
    }

    /// How many entries of `source` have a key that is `sourceIDPrefix` or starts with it and `#`.
    public func count(source: String, sourceIDPrefix: String) throws -> Int {
        // LEFT, not LIKE: ids hold `_`, which LIKE would read as a wildcard.
        Int(
            try connection.queryOne(
                """
                SELECT COUNT(*) AS n FROM \(credits) WHERE source = ? AND (source_id = ? OR LEFT(source_id, CHAR_LENGTH(?) + 1) = CONCAT(?, '#'))
                """, [source, sourceIDPrefix, sourceIDPrefix, sourceIDPrefix])?.int("n") ?? 0)
    }

    /// The entries of `source` whose key starts with `sourceIDPrefix` (a period's grants).
    public func entries(source: String, sourceIDPrefix: String) throws -> [(sourceID: String, customerID: Int64, delta: Int64)] {
        try connection.query(
            "SELECT source_id, customer_id, delta FROM \(credits) WHERE source = ? AND LEFT(source_id, CHAR_LENGTH(?)) = ? ORDER BY id",
            [source, sourceIDPrefix, sourceIDPrefix]
        ).map { (try $0.string("source_id"), try $0.int("customer_id"), try $0.int("delta")) }
    }

    /// The customer a ledger entry credited, or nil when there is no such entry.
    public func creditRecipient(source: String, sourceID: String) throws -> Int64? {
        try connection.queryOne("SELECT customer_id FROM \(credits) WHERE source = ? AND source_id = ?", [source, sourceID])?.int("customer_id")
    }

    /// A spend recorded under an idempotency key, with the balance right after it.
    public struct Consumption: Sendable {
        public let customerID: Int64
        public let delta: Int64
        public let balanceAfter: Int64
    }

    /// The spend a customer recorded under `idempotencyKey` (keys are per customer).
    public func consumption(customerID: Int64, idempotencyKey: String) throws -> Consumption? {
        guard
            let row = try connection.queryOne(
                "SELECT id, customer_id, delta FROM \(credits) WHERE source = 'consume' AND source_id = ?",
                [Self.consumptionSource(customerID, idempotencyKey)])
        else {
            return nil
        }
        let customer = try row.int("customer_id")
        let after = try connection.queryOne(
            "SELECT COALESCE(SUM(delta), 0) AS balance FROM \(credits) WHERE customer_id = ? AND id <= ?",
            [customer, try row.int("id")])!.int("balance")
        return Consumption(customerID: customer, delta: try row.int("delta"), balanceAfter: after)
    }

    /// What became of a spend.
    public enum Spend: Sendable, Equatable {
        /// Recorded; the balance right after it.
        case spent(balanceAfter: Int64)
        /// Not enough credits (or a debt): nothing was written. The balance as it stands.
        case refused(balance: Int64)
    }

    /// Spends `amount` of a customer's credits under their idempotency key, never below zero.
    ///
    /// The decision is one guarded `UPDATE` of the balance row (`balance >= amount`), not a
    /// read followed by an insert: it holds on one server (the row's lock) and on a Galera
    /// cluster (two spends write the same row, so the later commit fails certification and is
    /// retried against the balance the first one left). A key already taken by a concurrent
    /// spend throws `.insertRace`, so the transaction runs again and finds that spend.
    public func spend(customerID: Int64, amount: Int64, idempotencyKey: String, now: Date) throws -> Spend {
        func debit() throws -> Bool {
            try connection.execute(
                """
                UPDATE \(balances) SET balance = balance - ?, updated_at = ? WHERE customer_id = ? AND balance >= ?
                """, [amount, now, customerID, amount]
            ).affectedRows == 1
        }
        var debited = try debit()
        if !debited {
            // A refusal writes nothing and so never conflicts: decide it again on this node
            // once it has applied every commit made before (a grant through another node).
            try connection.seeLatestCommits()
            debited = try debit()
        }
        guard debited else { return .refused(balance: try creditBalance(customerID: customerID)) }
        try connection.insertNew(
            """
            INSERT INTO \(credits) (customer_id, delta, kind, source, source_id, created_at) VALUES (?, ?, 'consumption', 'consume', ?, ?)
            """, [customerID, -amount, Self.consumptionSource(customerID, idempotencyKey), now])
        return .spent(balanceAfter: try creditBalance(customerID: customerID))
    }

    static func consumptionSource(_ customerID: Int64, _ key: String) -> String { "\(customerID):\(key)" }

    /// A customer's credit balance: the sum of the ledger, as its balance row keeps it.
    public func creditBalance(customerID: Int64) throws -> Int64 {
        try connection.queryOne("SELECT balance FROM \(balances) WHERE customer_id = ?", [customerID])?.int("balance") ?? 0
    }

    /// Sets a customer's balance row from the ledger (after entries moved between customers).
    public func recountBalance(customerID: Int64) throws {
        try connection.execute(
            """
            INSERT INTO \(balances) (customer_id, balance, updated_at)
            SELECT ?, COALESCE(SUM(delta), 0), UTC_TIMESTAMP(6) FROM \(credits) WHERE customer_id = ?
            ON DUPLICATE KEY UPDATE balance = VALUES(balance), updated_at = VALUES(updated_at)
            """, [customerID, customerID])
    }
}
