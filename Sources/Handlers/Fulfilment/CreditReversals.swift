import Foundation
import MariaStore

/// Taking back credits a payment granted (a full refund, a lost dispute), and giving them back
/// when that is undone (a refund that failed, a dispute won) — each exactly once, by the
/// ledger's `(source, source_id)` key, from the customer the grant's own entry credited.
///
/// A balance may go below zero: that is a debt, which later grants pay first, and spending is
/// refused until it is paid. The ledger stays append-only: a reversal that was undone leaves
/// both entries, and a later reversal of the same grant gets a new key (`…#1`).
struct CreditReversals {
    let connection: Connection
    let prefix: TablePrefix
    let actor: String
    let now: Date

    enum Cause {
        case refund, dispute

        var source: String { self == .refund ? "refund" : "dispute" }
        var undoneSource: String { self == .refund ? "refund-undone" : "dispute-won" }
    }

    /// Takes back `credits` granted under `(grantSource, grantID)`; true when it did now.
    @discardableResult
    func reverse(_ cause: Cause, grantSource: String, grantID: String, credits: Int64, fallbackCustomer: Int64?, detail: String) throws -> Bool {
        let ledger = CreditLedger(connection, prefix: prefix)
        let id = try currentID(cause, grantID)
        guard try ledger.entry(source: cause.source, sourceID: id) == nil,
            let customer = try ledger.creditRecipient(source: grantSource, sourceID: grantID) ?? fallbackCustomer,
            try ledger.appendCredits(customerID: customer, delta: -credits, kind: "reversal", source: cause.source, sourceID: id, now: now)
        else { return false }
        try AuditLog(connection, prefix: prefix).record(
            subject: "credits", id: String(customer), action: "reversed", before: nil,
            after: String(-credits), actor: actor, detail: detail, now: now)
        return true
    }

    /// Gives back what the last reversal of the grant took, if it was not given back yet.
    @discardableResult
    func restore(_ cause: Cause, grantID: String, detail: String) throws -> Bool {
        let ledger = CreditLedger(connection, prefix: prefix)
        let id = try currentID(cause, grantID)
        guard let reversal = try ledger.entry(source: cause.source, sourceID: id), reversal.delta < 0,
            try ledger.appendCredits(
                customerID: reversal.customerID, delta: -reversal.delta, kind: "grant", source: cause.undoneSource,
                sourceID: id, now: now)
        else { return false }
        try AuditLog(connection, prefix: prefix).record(
            subject: "credits", id: String(reversal.customerID), action: "restored", before: nil,
            after: String(-reversal.delta), actor: actor, detail: detail, now: now)
        return true
    }

    /// The key of the grant's current reversal: the grant id, then `#1`, `#2`… once earlier
    /// reversals were undone.
    private func currentID(_ cause: Cause, _ grantID: String) throws -> String {
        let undone = try CreditLedger(connection, prefix: prefix).count(source: cause.undoneSource, sourceIDPrefix: grantID)
        return undone == 0 ? grantID : "\(grantID)#\(undone)"
    }
}
