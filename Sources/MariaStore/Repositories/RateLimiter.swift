import Foundation

/// Fixed-window counters in the database, so every worker and every process shares them.
public struct RateLimiter {
    let connection: Connection
    let table: String

    public init(_ connection: Connection, prefix: TablePrefix) {
        self.connection = connection
        table = prefix.table("rate_limits")
    }

    /// Hits recorded for `bucket` in the window that contains `now`.
    public func hits(_ bucket: String, window: Int64, now: Date) throws -> Int64 {
        let start = Self.windowStart(now, window)
        return try connection.queryOne("SELECT hits FROM \(table) WHERE bucket = ? AND window_start = ?", [bucket, start])?.int("hits") ?? 0
    }

    /// Records one hit in the current window (a new window starts from 1).
    public func hit(_ bucket: String, window: Int64, now: Date) throws {
        let start = Self.windowStart(now, window)
        try connection.execute("""
            INSERT INTO \(table) (bucket, window_start, hits) VALUES (?, ?, 1)
            ON DUPLICATE KEY UPDATE hits = IF(window_start = VALUES(window_start), hits + 1, 1), window_start = VALUES(window_start)
            """, [bucket, start])
    }

    /// Seconds until the window that contains `now` ends.
    public static func secondsLeft(_ now: Date, _ window: Int64) -> Int64 {
        let t = Int64(now.timeIntervalSince1970)
        return windowStart(now, window) + window - t
    }

    static func windowStart(_ now: Date, _ window: Int64) -> Int64 {
        let t = Int64(now.timeIntervalSince1970)
        return t - t % window
    }
}
