import Foundation

/// The fields of a JSON object or form body, by name, for endpoints that accept either
/// (`wp_remote_post` sends forms; most other clients JSON).
public struct RequestFields: Sendable {
    public let values: [String: String]
    /// JSON fields holding objects or lists: read by the endpoints that expect them
    /// (`metadata`), an error where a plain value was expected.
    private var nested: Set<String> = []

    public init(_ request: Request) throws(APIError) {
        if request.mediaType == "application/x-www-form-urlencoded" {
            var values: [String: String] = [:]
            for (name, value) in FormEncoding.decode(String(decoding: request.body, as: UTF8.self)) { values[name] = value }
            self.values = values
            return
        }
        var nested: Set<String> = []
        let object: JSONObject
        do { object = try JSONObject.parse(request.body) } catch { throw .invalidRequest("the body is not a JSON object") }
        var values: [String: String] = [:]
        for (name, value) in object.storage {
            switch value {
            case .string(let text): values[name] = text
            case .number(let text) where Int64(text) != nil: values[name] = text
            case .object, .array: nested.insert(name)
            case .null: continue
            default: throw .invalidRequest("\(name) must be a string or a whole number")
            }
        }
        self.values = values
        self.nested = nested
    }

    public func string(_ name: String, maxLength: Int = 191) throws(APIError) -> String {
        if nested.contains(name) { throw .invalidRequest("\(name) must be a string, not an object or a list") }
        guard let value = values[name]?.trimmingWhitespace(), !value.isEmpty else {
            throw .invalidRequest("\(name) is required")
        }
        guard value.count <= maxLength else { throw .invalidRequest("\(name) is longer than \(maxLength) characters") }
        return value
    }

    public func integer(_ name: String, in range: ClosedRange<Int64>) throws(APIError) -> Int64 {
        let text = try string(name, maxLength: 20)
        guard let value = Int64(text), range.contains(value) else {
            throw .invalidRequest("\(name) must be a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }
}
