import ArgumentParser
import Foundation
import Handlers
import MariaStore

/// `payments-fcgi outbox list|show|retry`: what waits, what died, and why.
struct OutboxCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "outbox", abstract: "See and retry outgoing messages.", subcommands: [List.self, Show.self, Retry.self])

    static func print(_ s: Outbox.Summary) {
        Swift.print(
            "\(s.id)\t\(s.kind)\t\(s.recipient ?? "-")\t\(s.state)\tattempts \(s.attempts)\tnext \(s.nextAttemptAt)" + (s.lastError.map { "\t\($0)" } ?? ""))
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Messages not delivered yet (or only the dead ones).")
        @OptionGroup var options: ConfigurationOptions
        @Flag(help: "Only messages that gave up after delivery.max_attempts.") var dead = false
        func run() throws {
            let rows = try options.withContext { context in
                try context.store.withConnection { try Outbox($0, prefix: context.store.prefix).summaries(dead: dead) }
            }
            if rows.isEmpty { Swift.print(dead ? "no dead messages" : "nothing waiting") }
            rows.forEach(OutboxCommand.print)
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One message's state (never its secret).")
        @OptionGroup var options: ConfigurationOptions
        @Argument var id: Int64
        func run() throws {
            guard
                let row = try options.withContext({ context in
                    try context.store.withConnection { try Outbox($0, prefix: context.store.prefix).summary(id) }
                })
            else {
                StandardError.write("no outbox message \(id)\n")
                throw ExitCode(1)
            }
            OutboxCommand.print(row)
        }
    }

    struct Retry: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Put a message (or every dead one) back in line now.")
        @OptionGroup var options: ConfigurationOptions
        @Argument(help: "The message id; omit with --all-dead.") var id: Int64?
        @Flag(help: "Every dead message.") var allDead = false
        func run() throws {
            guard id != nil || allDead else { throw ValidationError("name a message id, or --all-dead") }
            let count = try options.withContext { context in
                try context.store.transaction { try Outbox($0, prefix: context.store.prefix).retry(allDead ? nil : id, now: context.clock.now) }
            }
            Swift.print("\(count) message(s) queued again")
        }
    }
}
