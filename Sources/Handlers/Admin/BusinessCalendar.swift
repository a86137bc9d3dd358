import Foundation

/// The days and months the dashboard and the reports count in: UTC, as the database stores
/// its times.
public enum BusinessCalendar {
    static let calendar: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar
    }()

    public static func startOfDay(_ date: Date) -> Date { calendar.startOfDay(for: date) }

    public static func startOfMonth(_ date: Date) -> Date {
        calendar.date(from: calendar.dateComponents([.year, .month], from: date))!
    }

    public static func adding(days: Int, to date: Date) -> Date { calendar.date(byAdding: .day, value: days, to: date)! }

    public static func adding(months: Int, to date: Date) -> Date { calendar.date(byAdding: .month, value: months, to: date)! }

    /// `2026-11-03`
    public static func dayLabel(_ date: Date) -> String {
        let parts = calendar.dateComponents([.year, .month, .day], from: date)
        return String(format: "%04d-%02d-%02d", parts.year!, parts.month!, parts.day!)
    }

    /// `2026-11`
    public static func monthLabel(_ date: Date) -> String {
        let parts = calendar.dateComponents([.year, .month], from: date)
        return String(format: "%04d-%02d", parts.year!, parts.month!)
    }

    /// `2026-11-03` (or `2026-11-03T10:00:00Z`) → that day's start; nil when it is no date.
    public static func parseDay(_ text: String) -> Date? {
        let parts = text.prefix(10).split(separator: "-")
        guard parts.count == 3, let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2]),
            (1...12).contains(month), (1...31).contains(day)
        else { return nil }
        return calendar.date(from: DateComponents(year: year, month: month, day: day))
    }
}
