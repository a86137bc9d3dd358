import Foundation
import MariaStore

/// `2026-11-22T02:19:49Z`: UTC, seconds.
public enum ISOTime {
    public static func string(_ date: Date) -> String {
        let text = SQLTimestamp.string(from: date)  // "2026-11-22 02:19:49.123456"
        return String(text.prefix(10)) + "T" + String(text.dropFirst(11).prefix(8)) + "Z"
    }
}
