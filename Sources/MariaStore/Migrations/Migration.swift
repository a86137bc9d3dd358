/// One versioned change to the schema. `{prefix}` in the statements becomes the table prefix.
///
/// MariaDB commits DDL implicitly, so a migration cannot be rolled back half-way: every
/// statement is written to be safe to run again (`IF NOT EXISTS`), and the version is
/// recorded only after all of them succeeded.
public struct Migration: Sendable {
    public let version: Int
    public let name: String
    public let statements: [String]

    public init(version: Int, name: String, statements: [String]) {
        self.version = version
        self.name = name
        self.statements = statements
    }

    /// A fingerprint of the statements (64-bit FNV-1a), stored when applied so that a
    /// migration edited after it shipped is detected instead of silently diverging.
    public var checksum: String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for statement in statements {
            for byte in statement.utf8 {
                hash ^= UInt64(byte)
                hash &*= 0x0000_0100_0000_01b3
            }
            hash ^= 0xff
            hash &*= 0x0000_0100_0000_01b3
        }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
