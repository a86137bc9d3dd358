import Foundation
import MariaStore

/// Puts a new key on a license row: stored as selector + keyed hash, the key itself sealed
/// in the outbox for its email. Used when a license is issued and when its key is rotated
/// ("resend my key" issues a new key; the old one stops working).
public struct LicenseKeyIssuer {
    let context: Context

    public init(context: Context) {
        self.context = context
    }

    /// The pepper and sealing box, or the configuration error that stops issuing.
    func secrets() throws -> (hasher: LicenseKeyHasher, box: SecretBox) {
        let settings = context.configuration.licensing
        guard let pepper = settings.keyPepper, let sealingKey = settings.keyEncryptionKey, let box = SecretBox(key: sealingKey) else {
            throw FulfilmentError.notConfigured("licensing.key_pepper and licensing.key_encryption_key are needed to issue license keys")
        }
        return (LicenseKeyHasher(pepper: pepper), box)
    }

    /// Seals `key` for license `id` and queues its email.
    func queueEmail(
        _ key: LicenseKey, licenseID id: Int64, product: String, productName: String, order: String?, email: String?,
        dedupeKey: String, box: SecretBox, connection: Connection
    ) throws {
        let sealed = box.seal(
            Array(key.formatted(prefix: context.configuration.licensing.keyPrefix).utf8),
            context: Array("license:\(id)".utf8), random: context.random)
        try Outbox(connection, prefix: context.store.prefix).enqueue(
            kind: "license_email", dedupeKey: dedupeKey, recipient: email,
            payload: String(
                decoding: JSONValue.object([
                    "license_id": .int(id), "product": .string(product), "product_name": .string(productName),
                    "order": order.map(JSONValue.string) ?? .null,
                ]).serialized(), as: UTF8.self),
            sealed: sealed, now: context.clock.now)
    }

    /// Gives license `id` a new key, revoking the old one, and queues the new key's email.
    public func rotate(licenseID id: Int64, actor: String) throws {
        let store = context.store
        try store.transaction { try rotate(licenseID: id, actor: actor, connection: $0) }
    }

    /// The same, inside the caller's transaction.
    public func rotate(licenseID id: Int64, actor: String, connection: Connection) throws {
        let (hasher, box) = try secrets()
        let prefix = context.store.prefix
        let licenses = LicenseRepository(connection, prefix: prefix)
        guard let (license, email) = try licenses.lockForKeyChange(id) else {
            throw APIError.notFound(message: "no license \(id)")
        }
        let now = context.clock.now
        var attempt = 0
        while true {
            attempt += 1
            let key = LicenseKey.generate(using: context.random)
            do {
                try licenses.replaceKey(id, selector: key.selector, verifier: hasher.verifier(for: key), now: now)
                let name = try ProductRepository(connection, prefix: prefix).named(license.product)?.name ?? license.product
                try queueEmail(
                    key, licenseID: id, product: license.product, productName: name, order: nil, email: email,
                    dedupeKey: "license-email:\(id):\(key.selector)", box: box, connection: connection)
                // A key shown on the success page is the old one now: never show it again.
                try licenses.setDisplay(id, sealed: nil, until: nil)
                try AuditLog(connection, prefix: prefix).record(
                    subject: "license", id: String(id), action: "key_rotated", before: nil,
                    after: nil, actor: actor, now: now)
                return
            } catch let error as DatabaseError where error.kind == .duplicateKey && attempt < 3 {
                continue
            }
        }
    }
}
