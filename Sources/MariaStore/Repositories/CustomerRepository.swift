import Foundation

/// Buyers: one row per normalised email (trimmed, lower-cased), with every Stripe customer id
/// that belongs to it in `customer_stripe_ids`. A buyer known only by a Stripe customer id
/// (no email yet) is a row without an email until one arrives.
public struct CustomerRepository {
    let connection: Connection
    let table: String
    let stripeIDs: String
    let prefix: TablePrefix

    public init(_ connection: Connection, prefix: TablePrefix) {
        self.connection = connection
        self.prefix = prefix
        table = prefix.table("customers")
        stripeIDs = prefix.table("customer_stripe_ids")
    }

    /// How an email is kept and compared: trimmed and lower-cased; nil when empty.
    public static func normalized(_ email: String?) -> String? {
        guard let email else { return nil }
        let trimmed = email.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        return trimmed.isEmpty ? nil : trimmed
    }

    /// The customer's id, creating the customer on first sight and attaching a Stripe customer
    /// id the first time it is seen. A customer without an email (possible with some payment
    /// methods) is still a customer; nothing that names neither an email nor a Stripe customer
    /// is one (nil): an anonymous row could only collect grants nobody can use and reversals
    /// that miss the real buyer. When a Stripe customer first known without an email turns out
    /// to belong to a known email, the two rows become one.
    ///
    /// Creations, merges and an email arriving are audited, naming `actor` (ids only: the
    /// email never enters the audit log).
    public func findOrCreate(stripeCustomerID: String?, email rawEmail: String?, actor: String, now: Date) throws -> Int64? {
        let email = Self.normalized(rawEmail)
        if let stripeCustomerID {
            if let id = try customer(stripeCustomerID: stripeCustomerID, lock: true) {
                guard let email else { return id }
                let current = try connection.queryOne("SELECT email FROM \(table) WHERE id = ? FOR UPDATE", [id])?.optionalString("email")
                guard current == nil else { return id }  // a Stripe customer's email may change; ours stays
                if let owner = try customer(email: email, lock: true), owner != id {
                    try merge(id, into: owner, actor: actor, now: now)
                    return owner
                }
                try connection.execute("UPDATE \(table) SET email = ? WHERE id = ?", [email, id])
                try audit(id, "email_added", actor: actor, now: now)
                return id
            }
            let id = try email.flatMap { try customer(email: $0, lock: true) } ?? insert(email: email, actor: actor, now: now)
            try attach(stripeCustomerID, to: id, now: now)
            return id
        }
        guard let email else { return nil }
        return try customer(email: email, lock: true) ?? insert(email: email, actor: actor, now: now)
    }

    private func insert(email: String?, actor: String, now: Date) throws -> Int64 {
        // Two first checkouts by one new email at once: the second insert is a race the
        // transaction retries, and the retry finds the first row.
        let id = Int64(try connection.insertNew("INSERT INTO \(table) (email, created_at) VALUES (?, ?)", [email, now]).lastInsertID)
        try audit(id, "created", actor: actor, now: now)
        return id
    }

    private func audit(_ id: Int64, _ action: String, detail: String? = nil, actor: String, now: Date) throws {
        try AuditLog(connection, prefix: prefix).record(
            subject: "customer", id: String(id), action: action, before: nil, after: nil, actor: actor,
            detail: detail, now: now)
    }

    private func attach(_ stripeCustomerID: String, to id: Int64, now: Date) throws {
        try connection.insertNew(
            "INSERT INTO \(stripeIDs) (stripe_customer_id, customer_id, created_at) VALUES (?, ?, ?)",
            [stripeCustomerID, id, now])
    }

    private func customer(email: String, lock: Bool) throws -> Int64? {
        try connection.queryOne("SELECT id FROM \(table) WHERE email = ?\(lock ? " FOR UPDATE" : "")", [email])?.int("id")
    }

    private func customer(stripeCustomerID: String, lock: Bool) throws -> Int64? {
        try connection.queryOne(
            "SELECT customer_id FROM \(stripeIDs) WHERE stripe_customer_id = ?\(lock ? " FOR UPDATE" : "")",
            [stripeCustomerID])?.int("customer_id")
    }

    /// Moves everything of customer `from` to `into` and removes `from` (audited on both).
    public func merge(_ from: Int64, into: Int64, actor: String, now: Date) throws {
        for column in ["orders", "licenses", "credit_ledger"] {
            try connection.execute("UPDATE \(prefix.table(column)) SET customer_id = ? WHERE customer_id = ?", [into, from])
        }
        // A consumption's idempotency key is its customer's.
        try connection.execute(
            """
            UPDATE IGNORE \(prefix.table("credit_ledger")) SET source_id = CONCAT(customer_id, SUBSTRING(source_id, LOCATE(':', source_id)))
            WHERE source = 'consume' AND customer_id = ?
            """, [into])
        try connection.execute("UPDATE \(stripeIDs) SET customer_id = ? WHERE customer_id = ?", [into, from])
        // The balance rows follow the ledger entries they sum.
        try connection.execute("DELETE FROM \(prefix.table("credit_balances")) WHERE customer_id = ?", [from])
        try CreditLedger(connection, prefix: prefix).recountBalance(customerID: into)
        try connection.execute("DELETE FROM \(table) WHERE id = ?", [from])
        try audit(into, "merged", detail: "customer \(from) merged into this one", actor: actor, now: now)
        try audit(from, "merged_away", detail: "into customer \(into)", actor: actor, now: now)
    }

    /// Locks a customer's row until the transaction ends (every spend of one customer is
    /// serialised on it).
    public func lock(_ id: Int64) throws {
        _ = try connection.queryOne("SELECT id FROM \(table) WHERE id = ? FOR UPDATE", [id])
    }

    /// A customer's email, if known.
    public func email(of id: Int64?) throws -> String? {
        guard let id else { return nil }
        return try connection.queryOne("SELECT email FROM \(table) WHERE id = ?", [id])?.optionalString("email")
    }

    /// The email of the customer with this Stripe customer id.
    public func email(stripeCustomerID: String?) throws -> String? {
        guard let stripeCustomerID, let id = try customer(stripeCustomerID: stripeCustomerID, lock: false) else { return nil }
        return try email(of: id)
    }

    /// The customer's most recently attached Stripe customer id.
    public func latestStripeCustomer(customerID: Int64) throws -> String? {
        try connection.queryOne(
            "SELECT stripe_customer_id FROM \(stripeIDs) WHERE customer_id = ? ORDER BY created_at DESC, stripe_customer_id LIMIT 1",
            [customerID])?.string("stripe_customer_id")
    }

    /// The most recent Stripe customer id known for an email.
    public func latestStripeCustomer(email: String) throws -> String? {
        guard let id = try find(reference: email) else { return nil }
        return try latestStripeCustomer(customerID: id)
    }

    /// Every Stripe customer id of a customer, oldest first.
    public func stripeCustomers(customerID: Int64) throws -> [String] {
        try connection.query(
            "SELECT stripe_customer_id FROM \(stripeIDs) WHERE customer_id = ? ORDER BY created_at, stripe_customer_id",
            [customerID]
        ).map { try $0.string("stripe_customer_id") }
    }

    /// The customer with this email (any case, trimmed) or Stripe customer id.
    public func find(reference: String) throws -> Int64? {
        if reference.hasPrefix("cus_") { return try customer(stripeCustomerID: reference, lock: false) }
        guard let email = Self.normalized(reference) else { return nil }
        return try customer(email: email, lock: false)
    }
}
