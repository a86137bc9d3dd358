import Foundation

/// DATETIME(6) values in UTC, as text the server parses and prints (`2026-11-22 01:14:17.123456`).
/// Sessions run with `time_zone = '+00:00'`, so no zone ever enters the arithmetic.
public enum SQLTimestamp {
    /// DATETIME's own range, 0001-01-01 to 9999-12-31 23:59:59, in seconds since 1970.
    static let representable: ClosedRange<Double> = -62_135_596_800...253_402_300_799

    /// Formats a date as a DATETIME(6) literal in UTC. A date outside DATETIME's range (a
    /// timestamp from a payload that was never a real time) is clamped to its nearest end
    /// rather than trapping in the conversion to an integer.
    public static func string(from date: Date) -> String {
        let time = date.timeIntervalSince1970
        let clamped = time.isNaN ? representable.lowerBound : min(max(time, representable.lowerBound), representable.upperBound)
        var seconds = Int64(clamped.rounded(.down))
        var micros = Int64(((clamped - Double(seconds)) * 1_000_000).rounded())
        if micros == 1_000_000 {
            seconds += 1
            micros = 0
        }
        var clock = time_t(seconds)
        var parts = tm()
        gmtime_r(&clock, &parts)
        func pad(_ value: Int32, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        let microDigits = String(micros)
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2)) "
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2))."
            + String(repeating: "0", count: 6 - microDigits.count) + microDigits
    }

    /// Parses `YYYY-MM-DD HH:MM:SS[.ffffff]` as UTC; nil when the text is not of that form.
    public static func date(from text: String) -> Date? {
        let utf8 = Array(text.utf8)
        guard utf8.count >= 19 else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            var value = 0
            for i in range {
                guard i < utf8.count, utf8[i] >= 48, utf8[i] <= 57 else { return nil }
                value = value * 10 + Int(utf8[i] - 48)
            }
            return value
        }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
            let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19)
        else { return nil }
        var parts = tm()
        parts.tm_year = Int32(year - 1900)
        parts.tm_mon = Int32(month - 1)
        parts.tm_mday = Int32(day)
        parts.tm_hour = Int32(hour)
        parts.tm_min = Int32(minute)
        parts.tm_sec = Int32(second)
        var fraction = 0.0
        if utf8.count > 20, utf8[19] == UInt8(ascii: "."), let digits = number(20..<utf8.count) {
            fraction = Double(digits) / pow(10, Double(utf8.count - 20))
        }
        return Date(timeIntervalSince1970: Double(timegm(&parts)) + fraction)
    }
}
