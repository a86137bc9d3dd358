import ArgumentParser
import Foundation
import Handlers
import MariaStore

/// `payments-fcgi audit export --from --to`: the audit log as JSON lines.
struct AuditCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "audit", abstract: "The audit log.", subcommands: [Export.self])

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every audit entry in a range of days, oldest first, one JSON object a line.")
        @OptionGroup var options: ConfigurationOptions
        @Option(help: "First day (YYYY-MM-DD, UTC).") var from: String
        @Option(help: "Last day, included (YYYY-MM-DD, UTC).") var to: String

        func run() throws {
            let start = try ReportCommand.day(from, "from")
            let end = try ReportCommand.day(to, "to").addingTimeInterval(86_400)
            let entries = try CatalogCommand.withStore(options) { store in
                try store.withConnection { try CustomerDirectory($0, prefix: store.prefix).audit(from: start, to: end) }
            }
            func text(_ value: String?) -> JSONValue { value.map(JSONValue.string) ?? .null }
            for entry in entries {
                print(
                    String(
                        decoding: JSONValue.object([
                            ("occurred_at", .string(entry.occurredAt)), ("subject", .string(entry.subject)), ("subject_id", .string(entry.subjectID)),
                            ("action", .string(entry.action)), ("before", text(entry.before)), ("after", text(entry.after)), ("actor", .string(entry.actor)),
                            ("detail", text(entry.detail)),
                        ]).serialized(), as: UTF8.self))
            }
        }
    }
}
