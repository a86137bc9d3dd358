import ArgumentParser
import Foundation
import Handlers
import MariaStore

/// `payments-fcgi events list [--failed]` and `events replay ID`: the webhook ledger.
struct EventsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events",
        abstract: "See the Stripe events received, and replay one that failed (after an upgrade or a catalogue fix).",
        subcommands: [List.self, Replay.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List recent events, newest first.")
        @OptionGroup var options: ConfigurationOptions
        @Flag(help: "Only events that failed and wait for a replay.") var failed = false
        @Option(help: "How many.") var limit = 50

        func run() throws {
            let entries = try CatalogCommand.withStore(options) { store in
                try store.withConnection { try EventLedger($0, prefix: store.prefix).entries(outcome: failed ? .failed : nil, limit: limit) }
            }
            if entries.isEmpty { print(failed ? "no failed events" : "no events yet") }
            for entry in entries {
                print(
                    "\(entry.receivedAt)\t\(entry.id)\t\(entry.type)\t\(entry.outcome.rawValue)\(entry.livemode ? "\tlive" : "")"
                        + (entry.error.map { "\t\($0)" } ?? ""))
            }
        }
    }

    struct Replay: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Apply a failed event again from its stored payload.")
        @OptionGroup var options: ConfigurationOptions
        @Argument(help: "The event id (evt_…).") var id: String

        func run() throws {
            try options.withContext { context in try replay(context) }
        }

        private func replay(_ context: Context) throws {
            let store = context.store
            guard let payload = try store.withConnection({ try EventLedger($0, prefix: store.prefix).payload(of: id) }) else {
                StandardError.write("no stored payload for \(id) (only failed events keep theirs)\n")
                throw ExitCode(1)
            }
            do {
                let event = try StripeEvent.parse(payload)
                let result = try EventProcessor(context: context).process(event, rawBody: payload)
                print("\(id): \(result.rawValue)")
            } catch {
                StandardError.write("\(id): still not processed: \(error)\n")
                throw ExitCode(1)
            }
        }
    }
}
