import Foundation
import MariaStore

/// A person's data: a copy of everything held (GDPR art. 15 and 20) and its erasure (art. 17),
/// for `payments-fcgi customer export|erase` and the admin page alike.
public struct PersonalDataService {
    let context: Context

    public init(context: Context) {
        self.context = context
    }

    /// The customer with this email, or nil.
    public func customer(email: String) throws -> Int64? {
        let store = context.store
        return try store.withConnection { try CustomerRepository($0, prefix: store.prefix).find(reference: email) }
    }

    /// Everything held about customer `id`, as one JSON object of tables (rows as objects).
    public func export(customerID id: Int64) throws -> JSONValue {
        let store = context.store
        let tables = try store.withConnection { try PersonalData($0, prefix: store.prefix).export(customerID: id) }
        var pairs: [(String, JSONValue)] = [("exported_at", .string(ISOTime.string(context.clock.now)))]
        for table in tables {
            pairs.append(
                (
                    table.name,
                    .array(
                        table.rows.map { row in
                            .object(zip(row.columns, row.values).map { column, value in (column, Self.json(value)) })
                        })
                ))
        }
        return .object(pairs)
    }

    static func json(_ value: SQLValue) -> JSONValue {
        switch value {
        case .null: return .null
        case .int(let number): return .int(number)
        case .uint(let number): return number <= UInt64(Int64.max) ? .int(Int64(number)) : .string(String(number))
        case .double(let number): return .string(String(number))
        case .text(let text): return .string(text)
        case .bytes(let bytes): return .string(String(decoding: bytes, as: UTF8.self))
        }
    }

    /// Anonymises customer `id` (dry: says what would change) and audits it, naming `actor`.
    public func erase(customerID id: Int64, dryRun: Bool, actor: String) throws -> PersonalData.ErasureReport {
        let store = context.store
        let now = context.clock.now
        return try store.transaction { connection in
            let report = try PersonalData(connection, prefix: store.prefix).erase(customerID: id, dryRun: dryRun, now: now)
            if !dryRun, report.customers > 0 {
                try AuditLog(connection, prefix: store.prefix).record(
                    subject: "customer", id: String(id), action: "erased", before: nil, after: "anonymised", actor: actor,
                    detail: "orders \(report.orders), payments \(report.payments), messages \(report.outbox), event payloads \(report.eventPayloads)", now: now)
            }
            return report
        }
    }
}
