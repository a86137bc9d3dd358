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

    /// The counts of several buckets in the window that contains `now`, in one round trip (for
    /// checks on hot paths); a bucket without hits is absent.
    public func hits(of buckets: [String], window: Int64, now: Date) throws -> [String: Int64] {
        guard !buckets.isEmpty else { return [:] }
        let marks = Array(repeating: "?", count: buckets.count).joined(separator: ", ")
        var counts: [String: Int64] = [:]
        for row in try connection.query(
            "SELECT bucket, hits FROM \(table) WHERE window_start = ? AND bucket IN (\(marks))",
            [Self.windowStart(now, window)] + buckets.map { $0 as any SQLBindable })
        {
            counts[try row.string("bucket")] = try row.int("hits")
        }
        return counts
    }

    /// Records one hit in the current window (a new window starts from 1).
    public func hit(_ bucket: String, window: Int64, now: Date) throws {
        let start = Self.windowStart(now, window)
        try connection.execute(
            """
            INSERT INTO \(table) (bucket, window_start, hits) VALUES (?, ?, 1)
            ON DUPLICATE KEY UPDATE hits = IF(window_start = VALUES(window_start), hits + 1, 1), window_start = VALUES(window_start)
            """, [bucket, start])
    }

    /// Records one hit and returns the bucket's count in the current window including it, in
    /// one atomic statement: of two simultaneous hits, each sees its own count.
    public func hitAndCount(_ bucket: String, window: Int64, now: Date) throws -> Int64 {
        let start = Self.windowStart(now, window)
        let result = try connection.execute(
            """
            INSERT INTO \(table) (bucket, window_start, hits) VALUES (?, ?, 1)
            ON DUPLICATE KEY UPDATE hits = LAST_INSERT_ID(IF(window_start = VALUES(window_start), hits + 1, 1)), window_start = VALUES(window_start)
            """, [bucket, start])
        // A new row reports no LAST_INSERT_ID (the table has no auto-increment column): it is hit 1.
        return result.affectedRows == 1 ? 1 : Int64(result.lastInsertID)
    }

    /// Takes back one hit of the current window (an attempt counted before its outcome was
    /// known, which turned out not to be a failure).
    public func unhit(_ bucket: String, window: Int64, now: Date) throws {
        try connection.execute(
            "UPDATE \(table) SET hits = hits - 1 WHERE bucket = ? AND window_start = ? AND hits > 0",
            [bucket, Self.windowStart(now, window)])
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
