import ArgumentParser
import Foundation
import Handlers
import MariaStore

/// `payments-fcgi deliver`: send what the outbox holds now (for cron; safe beside `serve`).
struct DeliverCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deliver",
        abstract: "Send due outbox messages (license emails, notifications) and exit; safe to run beside serve.")
    @OptionGroup var options: ConfigurationOptions

    func run() throws {
        try options.withContext { context in
            let deliverer = OutboxDeliverer(context: context, name: DeliveryThread.name(role: "cron"))
            var total = OutboxDeliverer.Report()
            for _ in 0..<1000 {
                let report = try deliverer.deliverDue()
                total.sent += report.sent
                total.failed += report.failed
                total.skipped += report.skipped
                total.deferred += report.deferred
                // Only deferred messages left: they wait for configuration, not for this loop.
                if report.sent + report.failed + report.skipped == 0 { break }
            }
            print("sent \(total.sent), failed \(total.failed) (will retry), skipped \(total.skipped), waiting for configuration \(total.deferred)")
        }
    }
}

/// `payments-fcgi outbox list|show|retry`: what waits, what died, and why.
struct OutboxCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "outbox", abstract: "See and retry outgoing messages.", subcommands: [List.self, Show.self, Retry.self])

    static func print(_ s: Outbox.Summary) {
        Swift.print("\(s.id)\t\(s.kind)\t\(s.recipient ?? "-")\t\(s.state)\tattempts \(s.attempts)\tnext \(s.nextAttemptAt)" + (s.lastError.map { "\t\($0)" } ?? ""))
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Messages not delivered yet (or only the dead ones).")
        @OptionGroup var options: ConfigurationOptions
        @Flag(help: "Only messages that gave up after delivery.max_attempts.") var dead = false
        func run() throws {
            let rows = try options.withContext { context in
                try context.store.unitOfWork { try Outbox($0, prefix: context.store.prefix).summaries(dead: dead) }
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
            guard let row = try options.withContext({ context in
                try context.store.unitOfWork { try Outbox($0, prefix: context.store.prefix).summary(id) }
            }) else {
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

/// The outbox deliverer as a thread of `serve`, with its own database connection.
final class DeliveryThread: Sendable {
    private let stopping = Atomic<Bool>(false)
    private let finished = Atomic<Bool>(false)

    static func name(role: String) -> String {
        var host = [CChar](repeating: 0, count: 256)
        gethostname(&host, 255)
        let hostname = String(decoding: host.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return "\(hostname):\(getpid()):\(role)"
    }

    func start(configuration: Configuration, logger: Logger) {
        let interval = configuration.delivery.intervalSeconds
        guard interval > 0 else { finished.store(true, ordering: .sequentiallyConsistent); return }
        let thread = Thread { [self] in
            do {
                try MariaLibrary.threadStarted()
            } catch {
                logger.critical("outbox deliverer cannot start: \(error)")
                finished.store(true, ordering: .sequentiallyConsistent)
                return
            }
            let store = Store(options: configuration.database, prefix: configuration.tablePrefix, logger: logger)
            let context = Context(store: store, clock: SystemTime(), configuration: configuration, logger: logger)
            let deliverer = OutboxDeliverer(context: context, name: Self.name(role: "serve"))
            var pruned = ContinuousClock.now - .seconds(3600)
            while !stopping.load(ordering: .sequentiallyConsistent) {
                if ContinuousClock.now - pruned >= .seconds(3600) {
                    pruned = ContinuousClock.now
                    do { _ = try Maintenance(context: context).prune() } catch { logger.warning("pruning: \(error)") }
                }
                do {
                    let report = try deliverer.deliverDue()
                    if report != OutboxDeliverer.Report() { continue }  // more may be due
                } catch {
                    logger.warning("outbox deliverer: \(error)")
                }
                for _ in 0..<(interval * 10) where !stopping.load(ordering: .sequentiallyConsistent) { usleep(100_000) }
            }
            store.close()
            MariaLibrary.threadFinished()
            finished.store(true, ordering: .sequentiallyConsistent)
        }
        thread.start()
    }

    /// Asks the thread to stop after the message in hand; waits up to `seconds`.
    func stop(seconds: Int) {
        stopping.store(true, ordering: .sequentiallyConsistent)
        let deadline = ContinuousClock.now + .seconds(seconds)
        while !finished.load(ordering: .sequentiallyConsistent), ContinuousClock.now < deadline { usleep(20_000) }
    }
}

import Logging
import Synchronization
