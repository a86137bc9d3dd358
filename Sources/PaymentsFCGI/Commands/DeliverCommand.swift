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
