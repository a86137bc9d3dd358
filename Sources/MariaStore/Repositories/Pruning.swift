import Foundation

/// Removes what only grows and is no longer needed: expired rate-limit windows, used or
/// expired key-rotation tokens, outbox messages long delivered or dead, the payloads kept for
/// failed events past their use, and records of checkouts that were never paid.
public struct Pruning {
    let connection: Connection
    let prefix: TablePrefix

    public init(_ connection: Connection, prefix: TablePrefix) {
        self.connection = connection
        self.prefix = prefix
    }

    /// What one run removed, by kind.
    public struct Report: Sendable, Equatable {
        public var rateLimits: UInt64 = 0
        public var keyRotations: UInt64 = 0
        public var outbox: UInt64 = 0
        public var eventPayloads: UInt64 = 0
        public var checkouts: UInt64 = 0
        /// Delivered messages whose body and address were cleared.
        public var redactedBodies: UInt64 = 0
        public var adminSessions: UInt64 = 0

        public init() {}
    }

    /// Every bound is a moment: rows older than it go.
    public func run(
        rateLimitsBefore: Date, outboxBefore: Date, eventPayloadsBefore: Date, checkoutsBefore: Date,
        deliveredBodiesBefore: Date? = nil, now: Date
    ) throws -> Report {
        var report = Report()
        // A delivered message's body and address are of no use once it was sent a while ago;
        // its kind and dates stay (what was sent, when) until it is removed.
        if let deliveredBodiesBefore {
            report.redactedBodies = try connection.execute(
                """
                UPDATE \(prefix.table("outbox")) SET payload = '{"redacted":true}', recipient = NULL
                WHERE delivered_at < ? AND (recipient IS NOT NULL OR payload <> '{"redacted":true}')
                """, [deliveredBodiesBefore]
            ).affectedRows
        }
        report.adminSessions = try AdminRepository(connection, prefix: prefix).removeExpiredSessions(now: now)
        // Windows are at most a day long; a bucket whose window started before the bound is over.
        report.rateLimits = try connection.execute(
            "DELETE FROM \(prefix.table("rate_limits")) WHERE window_start < ?",
            [Int64(rateLimitsBefore.timeIntervalSince1970)]
        ).affectedRows
        report.keyRotations = try connection.execute(
            "DELETE FROM \(prefix.table("key_rotation_requests")) WHERE expires_at < ?",
            [rateLimitsBefore]
        ).affectedRows
        let outboxBound = outboxBefore
        report.outbox = try connection.execute(
            "DELETE FROM \(prefix.table("outbox")) WHERE (delivered_at < ?) OR (dead_at < ?)",
            [outboxBound, outboxBound]
        ).affectedRows
        report.eventPayloads = try connection.execute(
            "UPDATE \(prefix.table("events")) SET payload = NULL WHERE payload IS NOT NULL AND received_at < ?",
            [eventPayloadsBefore]
        ).affectedRows
        // A checkout's record matters until it is paid (a bank debit can take two weeks);
        // one that never became an order by the bound never will.
        report.checkouts = try connection.execute(
            """
            DELETE c FROM \(prefix.table("checkouts")) c LEFT JOIN \(prefix.table("orders")) o ON o.session_id = c.stripe_id
            WHERE o.id IS NULL AND c.created_at < ?
            """, [checkoutsBefore]
        ).affectedRows
        return report
    }
}
