import ArgumentParser
import Handlers

/// `payments-fcgi prune`: removes what only grows (daily from cron; `serve` also does it hourly).
struct PruneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune",
        abstract: "Remove expired rate-limit windows and tokens, old outbox messages, old failed-event payloads and unpaid checkout records.",
        discussion: "How long things are kept: retention.outbox_days, retention.event_payload_days, retention.checkout_days, retention.delivered_body_days.")
    @OptionGroup var options: ConfigurationOptions

    func run() throws {
        try options.withContext { context in
            let report = try Maintenance(context: context).prune()
            print(
                "removed \(report.rateLimits) rate-limit windows, \(report.keyRotations) key-rotation tokens, \(report.outbox) outbox messages, "
                    + "\(report.checkouts) unpaid checkout records, \(report.adminSessions) expired admin sessions; cleared \(report.eventPayloads) event payloads "
                    + "and \(report.redactedBodies) delivered message bodies")
        }
    }
}
