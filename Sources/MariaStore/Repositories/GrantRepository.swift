import Foundation

/// What was granted for each order line, and the licenses and credit entries behind it.
/// `(order, line)` is unique, so a line can be granted once only.
public struct GrantRepository {
    let connection: Connection
    let grants: String
    let licenses: String
    let credits: String
    let orders: String
    let disputes: String
    let balances: String

    public init(_ connection: Connection, prefix: TablePrefix) {
        self.connection = connection
        grants = prefix.table("grants")
        licenses = prefix.table("licenses")
        credits = prefix.table("credit_ledger")
        orders = prefix.table("orders")
        disputes = prefix.table("disputes")
        balances = prefix.table("credit_balances")
    }

    /// The entitlements a customer holds: granted by paid orders, not refunded or lost.
    public func entitlements(customerID: Int64) throws -> [(entitlement: String, product: String, order: String)] {
        try connection.query("""
            SELECT g.entitlement, g.product, o.session_id FROM \(grants) g JOIN \(orders) o ON o.id = g.order_id
            WHERE o.customer_id = ? AND o.status = 'paid' AND g.entitlement IS NOT NULL
              AND NOT EXISTS (SELECT 1 FROM \(disputes) d WHERE d.payment_intent = o.payment_intent AND d.status = 'lost')
            ORDER BY g.id
            """, [customerID]).map { (try $0.string("entitlement"), try $0.string("product"), try $0.string("session_id")) }
    }

    /// The lines of an order already granted.
    public func grantedLines(orderID: Int64) throws -> Set<Int> {
        Set(try connection.query("SELECT line FROM \(grants) WHERE order_id = ?", [orderID]).map { Int(try $0.int("line")) })
    }

    public struct Grant: Sendable, Equatable {
        public let line: Int
        public let product: String
        public let kind: String
        public let quantity: Int
        public let licenseID: Int64?
        public let credits: Int64?
        public let entitlement: String?
    }

    public func grants(orderID: Int64) throws -> [Grant] {
        try connection.query("SELECT line, product, kind, quantity, license_id, credits, entitlement FROM \(grants) WHERE order_id = ? ORDER BY line", [orderID]).map { row in
            Grant(line: Int(try row.int("line")), product: try row.string("product"), kind: try row.string("kind"),
                  quantity: Int(try row.int("quantity")), licenseID: try row.optionalInt("license_id"),
                  credits: try row.optionalInt("credits"), entitlement: try row.optionalString("entitlement"))
        }
    }

    public func recordGrant(orderID: Int64, line: Int, product: String, kind: String, quantity: Int,
                            licenseID: Int64?, credits: Int64?, entitlement: String?, now: Date) throws {
        try connection.execute("""
            INSERT INTO \(grants) (order_id, line, product, kind, quantity, license_id, credits, entitlement, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, [orderID, line, product, kind, quantity, licenseID, credits, entitlement, SQLTimestamp.string(from: now)])
    }

    /// Stores a new license by selector and verifier (never the key). Throws `.duplicateKey`
    /// if the selector is taken (the caller draws a new key).
    public func insertLicense(selector: String, verifier: [UInt8], product: String, tier: String?, activationLimit: Int,
                              expiresAt: Date?, customerID: Int64?, orderID: Int64?, now: Date) throws -> Int64 {
        let stamp = SQLTimestamp.string(from: now)
        return Int64(try connection.execute("""
            INSERT INTO \(licenses) (selector, verifier, product, tier, activation_limit, status, expires_at, customer_id, order_id, created_at, updated_at)
            VALUES (?, ?, ?, ?, ?, 'active', ?, ?, ?, ?, ?)
            """, [selector, verifier, product, tier, activationLimit, expiresAt.map(SQLTimestamp.string(from:)), customerID, orderID, stamp, stamp]).lastInsertID)
    }

    /// Appends to the credit ledger once per `(source, sourceID)`; false if that entry exists.
    /// The customer's balance row moves with it, in the same transaction, so it always equals
    /// the ledger's sum — and every entry writes that row, which is what makes credit changes
    /// on different Galera nodes conflict.
    @discardableResult
    public func appendCredits(customerID: Int64, delta: Int64, kind: String, source: String, sourceID: String, now: Date) throws -> Bool {
        let stamp = SQLTimestamp.string(from: now)
        let inserted = try connection.execute("""
            INSERT INTO \(credits) (customer_id, delta, kind, source, source_id, created_at) VALUES (?, ?, ?, ?, ?, ?)
            ON DUPLICATE KEY UPDATE id = id
            """, [customerID, delta, kind, source, sourceID, stamp]).affectedRows == 1
        if inserted {
            try connection.execute("""
                INSERT INTO \(balances) (customer_id, balance, updated_at) VALUES (?, ?, ?)
                ON DUPLICATE KEY UPDATE balance = balance + VALUES(balance), updated_at = VALUES(updated_at)
                """, [customerID, delta, stamp])
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
        Int(try connection.queryOne("""
            SELECT COUNT(*) AS n FROM \(credits) WHERE source = ? AND (source_id = ? OR LEFT(source_id, CHAR_LENGTH(?) + 1) = CONCAT(?, '#'))
            """, [source, sourceIDPrefix, sourceIDPrefix, sourceIDPrefix])?.int("n") ?? 0)
    }

    /// The entries of `source` whose key starts with `sourceIDPrefix` (a period's grants).
    public func entries(source: String, sourceIDPrefix: String) throws -> [(sourceID: String, customerID: Int64, delta: Int64)] {
        try connection.query("SELECT source_id, customer_id, delta FROM \(credits) WHERE source = ? AND LEFT(source_id, CHAR_LENGTH(?)) = ? ORDER BY id",
                             [source, sourceIDPrefix, sourceIDPrefix]).map { (try $0.string("source_id"), try $0.int("customer_id"), try $0.int("delta")) }
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
        guard let row = try connection.queryOne("SELECT id, customer_id, delta FROM \(credits) WHERE source = 'consume' AND source_id = ?",
                                                [Self.consumptionSource(customerID, idempotencyKey)]) else {
            return nil
        }
        let customer = try row.int("customer_id")
        let after = try connection.queryOne("SELECT COALESCE(SUM(delta), 0) AS balance FROM \(credits) WHERE customer_id = ? AND id <= ?",
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
        let stamp = SQLTimestamp.string(from: now)
        func debit() throws -> Bool {
            try connection.execute("""
                UPDATE \(balances) SET balance = balance - ?, updated_at = ? WHERE customer_id = ? AND balance >= ?
                """, [amount, stamp, customerID, amount]).affectedRows == 1
        }
        var debited = try debit()
        if !debited {
            // A refusal writes nothing and so never conflicts: decide it again on this node
            // once it has applied every commit made before (a grant through another node).
            try connection.seeLatestCommits()
            debited = try debit()
        }
        guard debited else { return .refused(balance: try creditBalance(customerID: customerID)) }
        try connection.insertNew("""
            INSERT INTO \(credits) (customer_id, delta, kind, source, source_id, created_at) VALUES (?, ?, 'consumption', 'consume', ?, ?)
            """, [customerID, -amount, Self.consumptionSource(customerID, idempotencyKey), stamp])
        return .spent(balanceAfter: try creditBalance(customerID: customerID))
    }

    static func consumptionSource(_ customerID: Int64, _ key: String) -> String { "\(customerID):\(key)" }

    /// A customer's credit balance: the sum of the ledger, as its balance row keeps it.
    public func creditBalance(customerID: Int64) throws -> Int64 {
        try connection.queryOne("SELECT balance FROM \(balances) WHERE customer_id = ?", [customerID])?.int("balance") ?? 0
    }

    /// Sets a customer's balance row from the ledger (after entries moved between customers).
    public func recountBalance(customerID: Int64) throws {
        try connection.execute("""
            INSERT INTO \(balances) (customer_id, balance, updated_at)
            SELECT ?, COALESCE(SUM(delta), 0), UTC_TIMESTAMP(6) FROM \(credits) WHERE customer_id = ?
            ON DUPLICATE KEY UPDATE balance = VALUES(balance), updated_at = VALUES(updated_at)
            """, [customerID, customerID])
    }
}
