import ArgumentParser
import Foundation
import Handlers
import MariaStore

/// `payments-fcgi reconcile`: fulfil paid sessions whose webhook never arrived.
struct ReconcileCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reconcile",
        abstract: "Fulfil Checkout Sessions completed recently that no webhook fulfilled (run hourly from cron).")
    @OptionGroup var options: ConfigurationOptions
    @Option(help: "How far back to look, in hours.") var hours = 72

    func run() throws {
        try options.withContext { context in
            do {
                let report = try Reconciliation(context: context).run(hours: hours)
                print(
                    "examined \(report.examined) sessions, fulfilled \(report.fulfilled.count)"
                        + (report.fulfilled.isEmpty ? "" : ": " + report.fulfilled.joined(separator: ", ")))
                for failure in report.failed { StandardError.write("reconcile: \(failure.session) not applied: \(failure.reason)\n") }
                if !report.failed.isEmpty { throw ExitCode(1) }
            } catch let exit as ExitCode {
                throw exit
            } catch {
                StandardError.write("reconcile: \(error)\n")
                throw ExitCode(1)
            }
        }
    }
}
