import Foundation
import MariaStore

/// What an operator may do to a license (`payments-fcgi license …`). Every change writes the
/// audit log with the operator as actor; no key is ever printed or logged.
public struct LicenseAdministration {
    public let context: Context
    let actor: String

    public init(context: Context, actor: String = "operator:cli") {
        self.context = context
        self.actor = actor
    }

    /// A license by id, or by key (checked against its verifier like any lookup).
    public func resolve(_ reference: String) throws -> Int64 {
        if let id = Int64(reference) { return id }
        guard let key = LicenseKey(parsing: reference, prefix: context.configuration.licensing.keyPrefix),
            let pepper = context.configuration.licensing.keyPepper
        else {
            throw APIError.notFound(message: "not a license id or a valid key")
        }
        let store = context.store
        let record = try store.withConnection { try LicenseRepository($0, prefix: store.prefix).record(selector: key.selector, lock: false) }
        guard let record, try Digest.constantTimeEqual(record.verifier, LicenseKeyHasher(pepper: pepper).verifier(for: key)) else {
            throw APIError.notFound(message: "no license has this key")
        }
        return record.id
    }

    public struct Summary: Sendable {
        public let record: LicenseRepository.Record
        public let activations: [ActivationRepository.Activation]
    }

    public func show(_ id: Int64) throws -> Summary {
        let store = context.store
        return try store.withConnection { connection in
            guard let record = try LicenseRepository(connection, prefix: store.prefix).record(id: id) else {
                throw APIError.notFound(message: "no license \(id)")
            }
            return Summary(record: record, activations: try ActivationRepository(connection, prefix: store.prefix).all(licenseID: id))
        }
    }

    /// Disables a license (`revoke`) or makes it active again (`reinstate`).
    public func setStatus(_ id: Int64, _ status: LicenseRepository.Status, reason: String) throws {
        try change(id, action: status == .active ? "reinstated" : "revoked") { record, connection, now in
            try LicenseRepository(connection, prefix: context.store.prefix).update(id, status: status, expiresAt: record.expiresAt, now: now)
            return (record.status.rawValue, status.rawValue, reason)
        }
    }

    /// Extends a license by `days` from its expiry (or from now, if it has lapsed).
    public func extend(_ id: Int64, days: Int) throws {
        try change(id, action: "extended") { record, connection, now in
            guard let expiresAt = record.expiresAt else { return ("lifetime", "lifetime", "nothing to extend") }
            let extended = max(expiresAt, now).addingTimeInterval(Double(days) * 86_400)
            try LicenseRepository(connection, prefix: context.store.prefix).update(
                id, status: record.status == .expired ? .active : record.status, expiresAt: extended, now: now)
            return (ISOTime.string(expiresAt), ISOTime.string(extended), "\(days) days")
        }
    }

    /// Frees one site's seat.
    public func deactivate(_ id: Int64, site text: String) throws -> Bool {
        guard let site = SiteURL(text) else { throw APIError.invalidRequest("not a site address: \(text)") }
        var removed = false
        try change(id, action: "deactivated") { _, connection, _ in
            removed = try ActivationRepository(connection, prefix: context.store.prefix).remove(licenseID: id, site: site.canonical)
            return (nil, nil, "site \(site.canonical)")
        }
        return removed
    }

    /// Issues a license by hand (a gift, a support case) and queues its key's email.
    public func issue(product name: String, email: String, days: Int?) throws -> Int64 {
        let issuer = LicenseKeyIssuer(context: context)
        let (hasher, box) = try issuer.secrets()
        let store = context.store
        let now = context.clock.now
        return try store.transaction { connection in
            guard let product = try ProductRepository(connection, prefix: store.prefix).named(name), product.grantsLicense else {
                throw APIError.notFound(message: "no license product named \(name) in the catalogue")
            }
            let customer = try CustomerRepository(connection, prefix: store.prefix).findOrCreate(stripeCustomerID: nil, email: email, actor: actor, now: now)
            let key = LicenseKey.generate(using: context.random)
            let expiry = (days ?? product.durationDays).map { now.addingTimeInterval(Double($0) * 86_400) }
            let id = try GrantRepository(connection, prefix: store.prefix).insertLicense(
                selector: key.selector, verifier: hasher.verifier(for: key), product: product.product, tier: product.tier,
                activationLimit: product.activationLimit ?? 1, expiresAt: expiry, customerID: customer, orderID: nil, now: now)
            try issuer.queueEmail(
                key, licenseID: id, product: product.product, productName: product.name, order: nil, email: email,
                dedupeKey: "license-email:\(id)", box: box, connection: connection)
            try AuditLog(connection, prefix: store.prefix).record(
                subject: "license", id: String(id), action: "issued", before: nil, after: "active",
                actor: actor, detail: "by hand, product \(product.product)", now: now)
            return id
        }
    }

    private func change(
        _ id: Int64, action: String,
        _ body: (LicenseRepository.Record, Connection, Date) throws -> (before: String?, after: String?, detail: String)
    ) throws {
        let store = context.store
        try store.transaction { connection in
            guard let record = try LicenseRepository(connection, prefix: store.prefix).lockForDecision(id: id) else {
                throw APIError.notFound(message: "no license \(id)")
            }
            let now = context.clock.now
            let (before, after, detail) = try body(record, connection, now)
            try AuditLog(connection, prefix: store.prefix).record(
                subject: "license", id: String(id), action: action, before: before, after: after,
                actor: actor, detail: detail, now: now)
        }
    }
}
