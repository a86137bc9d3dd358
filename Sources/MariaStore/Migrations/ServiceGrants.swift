/// The privileges the running service needs, table by table, and no more: every table's rows
/// may be read, added, changed and removed — except the audit log's, which may only be read and
/// added to, so that the audit trail is append-only in practice (a compromised service cannot
/// rewrite its history) — and the migrations' ledger, which is only read. Schema changes
/// (`payments-fcgi migrate`) are made by the database's owner account, not by the service.
///
/// MariaDB has no partial revokes: a database-wide `GRANT UPDATE, DELETE ON db.*` would cover
/// the audit log too, so the grants are per table (run them again after a migration that adds
/// a table).
public enum ServiceGrants {
    /// Every table the migrations create, without the prefix.
    public static var tables: [String] {
        var names: [String] = []
        for migration in Schema.migrations {
            for statement in migration.statements {
                guard let range = statement.range(of: "CREATE TABLE IF NOT EXISTS {prefix}") else { continue }
                let name = statement[range.upperBound...].prefix { $0.isLetter || $0.isNumber || $0 == "_" }
                if !name.isEmpty, !names.contains(String(name)) { names.append(String(name)) }
            }
        }
        return names
    }

    /// The `GRANT` statements for `user`@`host` on `database` (names are checked: letters,
    /// digits, `_`, `-`, `.`, `%` only, so they can be quoted safely).
    public static func statements(database: String, prefix: TablePrefix, user: String, host: String) -> [String]? {
        func plain(_ text: String) -> Bool {
            !text.isEmpty && text.unicodeScalars.allSatisfy { $0.properties.isAlphabetic || ("0"..."9").contains($0) || "_-.%".unicodeScalars.contains($0) }
        }
        guard plain(database), plain(user), plain(host) else { return nil }
        let account = "'\(user)'@'\(host)'"
        var statements = tables.map { table -> String in
            let privileges = table == "audit_log" ? "SELECT, INSERT" : "SELECT, INSERT, UPDATE, DELETE"
            return "GRANT \(privileges) ON `\(database)`.`\(prefix.table(table))` TO \(account);"
        }
        statements.append("GRANT SELECT ON `\(database)`.`\(prefix.table("schema_migrations"))` TO \(account);")
        return statements
    }
}
