import Foundation

/// The configuration file's syntax: the INI dialect php.ini and many hosting panels use.
///
///     # comment            ; comment too
///     [server]
///     workers = 8
///     password = "  spaces kept inside quotes  "
///
/// No inline comments (a `#` may be part of a password). Keys are `section.key`.
public struct INIFile: Sendable {
    public struct Entry: Sendable, Equatable {
        public let value: String
        public let line: Int
    }

    public private(set) var entries: [String: Entry] = [:]
    /// Keys in the order they appeared.
    public private(set) var order: [String] = []

    /// Parses the text, or returns every syntax problem with its line number.
    public static func parse(_ text: String) -> Result<INIFile, ConfigurationError> {
        var file = INIFile()
        var problems: [String] = []
        var section = ""
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let number = index + 1
            let line = rawLine.trimmingCharacters(in: .whitespaces.union(CharacterSet(charactersIn: "\r")))
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("[") {
                guard line.hasSuffix("]"), line.count > 2 else {
                    problems.append("line \(number): a section header must look like [name]")
                    continue
                }
                section = line.dropFirst().dropLast().trimmingCharacters(in: .whitespaces).lowercased()
                continue
            }
            guard let equals = line.firstIndex(of: "=") else {
                problems.append("line \(number): expected 'key = value'")
                continue
            }
            let key = line[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
            var value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") {
                value = String(value.dropFirst().dropLast())
            }
            guard !key.isEmpty else {
                problems.append("line \(number): the key before '=' is empty")
                continue
            }
            let fullKey = section.isEmpty ? key : "\(section).\(key)"
            if let earlier = file.entries[fullKey] {
                problems.append("line \(number): \(fullKey) is already set on line \(earlier.line)")
                continue
            }
            file.entries[fullKey] = Entry(value: value, line: number)
            file.order.append(fullKey)
        }
        return problems.isEmpty ? .success(file) : .failure(ConfigurationError(problems: problems))
    }
}

/// Everything wrong with a configuration, each problem on its own line.
public struct ConfigurationError: Error, Sendable, CustomStringConvertible {
    public let problems: [String]

    public var description: String { problems.joined(separator: "\n") }
}
