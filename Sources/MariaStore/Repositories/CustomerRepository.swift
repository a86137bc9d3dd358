import Foundation

/// Buyers, found by Stripe customer id first, then by email.
public struct CustomerRepository {
    let connection: Connection
    let table: String

    public init(_ connection: Connection, prefix: TablePrefix) {
        self.connection = connection
        self.table = prefix.table("customers")
    }

    /// The customer's id, creating the customer on first sight. A customer without an email
    /// (possible with some payment methods) is still a customer; nothing that names neither an
    /// email nor a Stripe customer is one (nil): an anonymous row could only collect grants
    /// that nobody can use and reversals that miss the real buyer.
    public func findOrCreate(stripeCustomerID: String?, email: String?, now: Date) throws -> Int64? {
        guard stripeCustomerID != nil || email != nil else { return nil }
        if let stripeCustomerID {
            if let row = try connection.queryOne("SELECT id, email FROM \(table) WHERE stripe_customer_id = ? FOR UPDATE", [stripeCustomerID]) {
                let id = try row.int("id")
                if try row.optionalString("email") == nil, let email {
                    try connection.execute("UPDATE \(table) SET email = ? WHERE id = ?", [email, id])
                }
                return id
            }
        } else if let email, let row = try connection.queryOne(
            "SELECT id FROM \(table) WHERE email = ? AND stripe_customer_id IS NULL ORDER BY id LIMIT 1 FOR UPDATE", [email]) {
            return try row.int("id")
        }
        do {
            return Int64(try connection.execute(
                "INSERT INTO \(table) (email, stripe_customer_id, created_at) VALUES (?, ?, ?)",
                [email, stripeCustomerID, SQLTimestamp.string(from: now)]).lastInsertID)
        } catch let error as DatabaseError where error.kind == .duplicateKey && stripeCustomerID != nil {
            // Another transaction created the same Stripe customer a moment ago: use it.
            return try connection.queryOne("SELECT id FROM \(table) WHERE stripe_customer_id = ?", [stripeCustomerID])!.int("id")
        }
    }

    /// A customer's email, if known.
    public func email(of id: Int64?) throws -> String? {
        guard let id else { return nil }
        return try connection.queryOne("SELECT email FROM \(table) WHERE id = ?", [id])?.optionalString("email")
    }

    /// The email of the customer with this Stripe customer id.
    public func email(stripeCustomerID: String?) throws -> String? {
        guard let stripeCustomerID else { return nil }
        return try connection.queryOne("SELECT email FROM \(table) WHERE stripe_customer_id = ?", [stripeCustomerID])?.optionalString("email")
    }

    /// Locks a customer's row until the transaction ends (every spend of one customer is
    /// serialised on it).
    public func lock(_ id: Int64) throws {
        _ = try connection.queryOne("SELECT id FROM \(table) WHERE id = ? FOR UPDATE", [id])
    }

    /// The most recent Stripe customer id known for an email.
    public func latestStripeCustomer(email: String) throws -> String? {
        try connection.queryOne("SELECT stripe_customer_id FROM \(table) WHERE email = ? AND stripe_customer_id IS NOT NULL ORDER BY id DESC LIMIT 1",
                                [email])?.string("stripe_customer_id")
    }

    /// The customer with this email or Stripe customer id.
    public func find(reference: String) throws -> Int64? {
        let column = reference.hasPrefix("cus_") ? "stripe_customer_id" : "email"
        return try connection.queryOne("SELECT id FROM \(table) WHERE \(column) = ? ORDER BY id LIMIT 1", [reference])?.int("id")
    }
}
