import Foundation
import MariaStore

/// The credit balance endpoints the WordPress site calls (server side, with the API key).
/// The balance is the sum of the append-only ledger (kept in a balance row per customer);
/// spending is one guarded update of that row and one more ledger entry.
public enum CreditEndpoints {
    /// `GET /credits/balance?customer=EMAIL|cus_…` — the customer's balance (0 for a stranger).
    public static func balance(_ request: Request, _ context: Context) throws -> Response {
        try APIKeyCheck.require(request, context)
        guard let reference = request.queryItems.first(where: { $0.name == "customer" })?.value, !reference.isEmpty else {
            throw APIError.invalidRequest("customer is required (an email address or a Stripe customer id)")
        }
        let store = context.store
        // A spend or grant just made through another Galera node is counted.
        let sum = try store.readLatest { connection -> Int64 in
            guard let customer = try CustomerRepository(connection, prefix: store.prefix).find(reference: reference) else { return 0 }
            return try CreditLedger(connection, prefix: store.prefix).creditBalance(customerID: customer)
        }
        // Credits taken back after they were spent (a refund, a lost dispute) are a debt: the
        // balance shows nothing spendable, the debt what later grants pay first.
        return .json(.object(["customer": .string(reference), "balance": .int(max(0, sum)), "debt": .int(max(0, -sum))]))
    }

    /// `POST /credits/consume` — spends `amount` credits once per `idempotency_key`: atomic,
    /// never below zero (402 `insufficient_credits`); a repeated key answers the first result.
    public static func consume(_ request: Request, _ context: Context) throws -> Response {
        try APIKeyCheck.require(request, context)
        let fields = try RequestFields(request)
        let reference = try fields.string("customer")
        let amount = try fields.integer("amount", in: 1...1_000_000_000)
        let key =
            try request.headers["idempotency-key"].map { value throws(APIError) in
                guard !value.isEmpty, value.count <= 191 else { throw APIError.invalidRequest("Idempotency-Key must be 1 to 191 characters") }
                return value
            } ?? fields.string("idempotency_key")

        let store = context.store
        let now = context.clock.now
        return try store.transaction { connection -> Response in
            let ledger = CreditLedger(connection, prefix: store.prefix)
            guard let customer = try CustomerRepository(connection, prefix: store.prefix).find(reference: reference) else {
                throw APIError.insufficientCredits("the customer has no credits")
            }
            // Keys are the customer's own: another customer's identical key is another spend.
            func replay(_ first: CreditLedger.Consumption) throws -> Response {
                guard first.delta == -amount else {
                    throw APIError.idempotencyKeyReused("this idempotency_key was used for a different amount")
                }
                return answer(reference, consumed: amount, balance: first.balanceAfter, replayed: true)
            }
            if let first = try ledger.consumption(customerID: customer, idempotencyKey: key) { return try replay(first) }
            // One guarded write of the balance row decides (see `GrantRepository.spend`); a
            // key taken meanwhile reruns this transaction, which then replays that spend.
            let balance: Int64
            switch try ledger.spend(customerID: customer, amount: amount, idempotencyKey: key, now: now) {
            case .refused(let current) where current < 0:
                throw APIError.insufficientCredits("the account owes \(-current) credits; nothing can be spent until they are paid")
            case .refused(let current):
                throw APIError.insufficientCredits("the balance is \(current), less than \(amount)")
            case .spent(let after):
                balance = after + amount
            }
            try AuditLog(connection, prefix: store.prefix).record(
                subject: "credits", id: String(customer), action: "consumed", before: String(balance),
                after: String(balance - amount), actor: "api", now: now)
            return answer(reference, consumed: amount, balance: balance - amount, replayed: false)
        }
    }

    private static func answer(_ customer: String, consumed: Int64, balance: Int64, replayed: Bool) -> Response {
        var response = Response.json(.object(["status": "consumed", "customer": .string(customer), "consumed": .int(consumed), "balance": .int(balance)]))
        if replayed { response.headers.add("Idempotent-Replayed", "true") }
        return response
    }
}
