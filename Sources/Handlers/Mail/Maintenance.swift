import Foundation
import MariaStore

/// Keeps the tables that only grow in check (`payments-fcgi prune` from cron, and at most
/// hourly from `serve`'s deliverer thread), by the `retention.*` settings.
public struct Maintenance {
    let context: Context

    public init(context: Context) {
        self.context = context
    }

    public func prune() throws -> Pruning.Report {
        let settings = context.configuration.retention
        let now = context.clock.now
        func daysAgo(_ days: Int) -> Date { now.addingTimeInterval(-Double(days) * 86_400) }
        let store = context.store
        return try store.transaction { connection in
            try Pruning(connection, prefix: store.prefix).run(
                rateLimitsBefore: daysAgo(2), outboxBefore: daysAgo(settings.outboxDays), eventPayloadsBefore: daysAgo(settings.eventPayloadDays),
                checkoutsBefore: daysAgo(settings.checkoutDays), deliveredBodiesBefore: daysAgo(settings.deliveredBodyDays), now: now)
        }
    }
}
