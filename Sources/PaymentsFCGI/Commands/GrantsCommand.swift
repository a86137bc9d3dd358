import ArgumentParser
import Foundation
import Handlers
import MariaStore

/// `payments-fcgi grants --user NAME [--host HOST]`: the SQL that gives the service's database
/// account what it needs and no more (the audit log append-only).
struct GrantsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "grants",
        abstract: "Print the GRANT statements for the service's database account (run them as the owner, after migrate).",
        discussion: """
            Every table gets SELECT, INSERT, UPDATE, DELETE, except the audit log (SELECT, INSERT: append-only) and the \
            migrations' ledger (SELECT). Migrations run as the owner account. Pipe the output to mariadb as the owner: \
            payments-fcgi grants --user payments_app | mariadb
            """)
    @OptionGroup var options: ConfigurationOptions
    @Option(help: "The service's database user.") var user: String
    @Option(help: "The host part of the account.") var host = "localhost"

    func run() throws {
        let (configuration, _, _) = try options.load()
        guard let statements = ServiceGrants.statements(database: configuration.database.database, prefix: configuration.tablePrefix, user: user, host: host)
        else {
            throw ValidationError("the database, user and host may hold only letters, digits, _ - . and %")
        }
        for statement in statements { print(statement) }
    }
}
