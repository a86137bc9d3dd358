import Foundation

/// The prefix every table name carries (default `pfc_`), so the tables can share WordPress's
/// database without touching or colliding with its `wp_` tables.
///
/// Table names cannot be bound as parameters, so the prefix is validated to plain identifier
/// characters before it is ever placed into SQL text.
public struct TablePrefix: Sendable, Equatable, CustomStringConvertible {
    public let value: String

    /// The default prefix.
    public static let standard = TablePrefix(unchecked: "pfc_")

    /// Accepts 1 to 32 characters from `A-Z a-z 0-9 _`; anything else returns nil.
    public init?(_ value: String) {
        guard (1...32).contains(value.utf8.count),
            value.utf8.allSatisfy({ $0 == UInt8(ascii: "_") || ($0 >= 48 && $0 <= 57) || ($0 | 0x20 >= 97 && $0 | 0x20 <= 122) })
        else { return nil }
        self.value = value
    }

    private init(unchecked value: String) { self.value = value }

    /// The full name of a table, e.g. `pfc_audit_log`.
    public func table(_ name: String) -> String { value + name }

    /// Replaces every `{prefix}` in an SQL text with the prefix.
    public func apply(to sql: String) -> String { sql.replacingOccurrences(of: "{prefix}", with: value) }

    public var description: String { value }
}
