/// The fields of a JSON object or form body, by name, for endpoints that accept either
/// (`wp_remote_post` sends forms; most other clients JSON).
public struct RequestFields: Sendable {
    public let values: [String: String]

    public init(_ request: Request) throws(APIError) {
        if request.mediaType == "application/x-www-form-urlencoded" {
            var values: [String: String] = [:]
            for (name, value) in FormURLEncoding.decode(String(decoding: request.body, as: UTF8.self)) { values[name] = value }
            self.values = values
            return
        }
        let object: JSONObject
        do { object = try JSONObject.parse(request.body) } catch { throw .invalidRequest("the body is not a JSON object") }
        var values: [String: String] = [:]
        for (name, value) in object.storage {
            switch value {
            case let text as String: values[name] = text
            case let number as Int: values[name] = String(number)
            case let number as Int64: values[name] = String(number)
            default: throw .invalidRequest("\(name) must be a string or a whole number")
            }
        }
        self.values = values
    }

    public func string(_ name: String, maxLength: Int = 191) throws(APIError) -> String {
        guard let value = values[name]?.trimmingCharacters(in: .whitespaces), !value.isEmpty else {
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

import Foundation
