import Foundation

/// One result row, decoded from MariaDB's buffers into Swift values at fetch time.
public struct Row: Sendable {
    /// Column names shared by all rows of one result.
    public let columns: [String]
    /// Values in column order.
    public let values: [SQLValue]

    public init(columns: [String], values: [SQLValue]) {
        self.columns = columns
        self.values = values
    }

    /// The raw value of a column by name.
    public func value(_ name: String) throws -> SQLValue {
        guard let index = columns.firstIndex(of: name) else {
            throw DatabaseError(kind: .decoding, message: "no column named '\(name)' in the result")
        }
        return values[index]
    }

    /// Whether a column is NULL (an outer join's missing side, say).
    public func isNull(_ name: String) throws -> Bool {
        if case .null = try value(name) { return true }
        return false
    }

    /// A column that must hold an integer.
    public func int(_ name: String) throws -> Int64 {
        guard let value = try optionalInt(name) else { throw nullError(name, "an integer") }
        return value
    }

    /// A column that holds an integer or NULL.
    public func optionalInt(_ name: String) throws -> Int64? {
        switch try value(name) {
        case .null: return nil
        case .int(let v): return v
        case .uint(let v) where v <= UInt64(Int64.max): return Int64(v)
        case .text(let s): if let v = Int64(s) { return v }
        default: break
        }
        throw typeError(name, "an integer")
    }

    /// A column that must hold text.
    public func string(_ name: String) throws -> String {
        guard let value = try optionalString(name) else { throw nullError(name, "text") }
        return value
    }

    /// A column that holds text or NULL.
    public func optionalString(_ name: String) throws -> String? {
        switch try value(name) {
        case .null: return nil
        case .text(let s): return s
        case .bytes(let b): return String(decoding: b, as: UTF8.self)
        case .int(let v): return String(v)
        case .uint(let v): return String(v)
        case .double(let v): return String(v)
        }
    }

    /// A DATETIME column that must hold a moment (UTC).
    public func date(_ name: String) throws -> Date {
        guard let value = try optionalDate(name) else { throw nullError(name, "a date") }
        return value
    }

    /// A DATETIME column that holds a moment (UTC) or NULL.
    public func optionalDate(_ name: String) throws -> Date? {
        guard let text = try optionalString(name) else { return nil }
        guard let date = SQLTimestamp.date(from: text) else { throw typeError(name, "a date") }
        return date
    }

    /// A column holding one of an enumeration's raw values. A value the program does not
    /// know is an error, never a silent default: a misspelt status must not read as another.
    public func value<Value: RawRepresentable>(_ name: String, as type: Value.Type) throws -> Value where Value.RawValue == String {
        guard let value = Value(rawValue: try string(name)) else {
            throw DatabaseError(kind: .decoding, message: "column '\(name)' holds a value that is not a known \(Value.self)")
        }
        return value
    }

    /// A column that must hold bytes (BLOB, BINARY, VARBINARY).
    public func bytes(_ name: String) throws -> [UInt8] {
        switch try value(name) {
        case .bytes(let b): return b
        case .text(let s): return Array(s.utf8)
        case .null: throw nullError(name, "bytes")
        default: throw typeError(name, "bytes")
        }
    }

    private func nullError(_ name: String, _ expected: String) -> DatabaseError {
        DatabaseError(kind: .decoding, message: "column '\(name)' is NULL, expected \(expected)")
    }

    private func typeError(_ name: String, _ expected: String) -> DatabaseError {
        DatabaseError(kind: .decoding, message: "column '\(name)' does not hold \(expected)")
    }
}

/// What a statement that returns no rows did.
public struct ExecutionResult: Sendable, Equatable {
    /// Rows inserted, updated or deleted.
    public let affectedRows: UInt64
    /// The AUTO_INCREMENT value the statement generated, or 0.
    public let lastInsertID: UInt64
}
