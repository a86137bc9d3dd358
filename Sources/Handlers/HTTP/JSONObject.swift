import Foundation

/// Typed reading of a decoded JSON object, with errors that name the path
/// (`data.object.amount_total: expected an integer`), for payloads we do not control.
public struct JSONObject: @unchecked Sendable {
    // JSONSerialization's values (NSDictionary, NSArray, NSNumber, NSString, NSNull) are
    // immutable once decoded, which is what makes sharing them safe.
    public let storage: [String: Any]
    /// Where this object sits in the document, for error messages.
    public let path: String

    public init(_ storage: [String: Any], path: String = "") {
        self.storage = storage
        self.path = path
    }

    /// Decodes a JSON document whose top level must be an object.
    public static func parse(_ bytes: [UInt8]) throws(ShapeError) -> JSONObject {
        let value: Any
        do {
            value = try JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])
        } catch {
            throw ShapeError(path: "", problem: "the body is not valid JSON")
        }
        guard let object = value as? [String: Any] else { throw ShapeError(path: "", problem: "expected a JSON object at the top level") }
        return JSONObject(object)
    }

    /// A problem with a payload's shape.
    public struct ShapeError: Error, Equatable, CustomStringConvertible {
        public let path: String
        public let problem: String
        public var description: String { path.isEmpty ? problem : "\(path): \(problem)" }
    }

    private func child(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    /// Whether the key is present with a non-null value.
    public func has(_ key: String) -> Bool {
        guard let value = storage[key] else { return false }
        return !(value is NSNull)
    }

    public func string(_ key: String) throws(ShapeError) -> String {
        guard let value = try optionalString(key) else { throw ShapeError(path: child(key), problem: "is missing") }
        return value
    }

    public func optionalString(_ key: String) throws(ShapeError) -> String? {
        guard has(key) else { return nil }
        guard let value = storage[key] as? String else { throw ShapeError(path: child(key), problem: "expected a string") }
        return value
    }

    public func int(_ key: String) throws(ShapeError) -> Int64 {
        guard let value = try optionalInt(key) else { throw ShapeError(path: child(key), problem: "is missing") }
        return value
    }

    public func optionalInt(_ key: String) throws(ShapeError) -> Int64? {
        guard has(key) else { return nil }
        guard let number = storage[key] as? NSNumber, !(storage[key] is String),
              let value = Int64(exactly: number.doubleValue) ?? Int64(exactly: number.int64Value)
        else { throw ShapeError(path: child(key), problem: "expected an integer") }
        guard number.doubleValue == Double(value) else { throw ShapeError(path: child(key), problem: "expected an integer") }
        return value
    }

    public func bool(_ key: String) throws(ShapeError) -> Bool {
        guard has(key) else { throw ShapeError(path: child(key), problem: "is missing") }
        guard let value = storage[key] as? Bool else { throw ShapeError(path: child(key), problem: "expected true or false") }
        return value
    }

    public func optionalBool(_ key: String) throws(ShapeError) -> Bool? {
        has(key) ? try bool(key) : nil
    }

    public func object(_ key: String) throws(ShapeError) -> JSONObject {
        guard let value = try optionalObject(key) else { throw ShapeError(path: child(key), problem: "is missing") }
        return value
    }

    public func optionalObject(_ key: String) throws(ShapeError) -> JSONObject? {
        guard has(key) else { return nil }
        guard let value = storage[key] as? [String: Any] else { throw ShapeError(path: child(key), problem: "expected an object") }
        return JSONObject(value, path: child(key))
    }

    public func array(_ key: String) throws(ShapeError) -> [JSONObject] {
        guard has(key) else { return [] }
        guard let values = storage[key] as? [Any] else { throw ShapeError(path: child(key), problem: "expected a list") }
        var objects: [JSONObject] = []
        for (index, value) in values.enumerated() {
            guard let object = value as? [String: Any] else { throw ShapeError(path: "\(child(key))[\(index)]", problem: "expected an object") }
            objects.append(JSONObject(object, path: "\(child(key))[\(index)]"))
        }
        return objects
    }

    /// A Stripe "expandable" field: an id string, or the expanded object's `id`.
    public func reference(_ key: String) throws(ShapeError) -> String? {
        guard has(key) else { return nil }
        if let id = storage[key] as? String { return id }
        if let object = storage[key] as? [String: Any], let id = object["id"] as? String { return id }
        throw ShapeError(path: child(key), problem: "expected an id or an object with an id")
    }

    /// String values of a flat object (Stripe `metadata`).
    public func stringMap(_ key: String) throws(ShapeError) -> [String: String] {
        guard let object = try optionalObject(key) else { return [:] }
        var map: [String: String] = [:]
        for (name, value) in object.storage {
            if let text = value as? String { map[name] = text }
        }
        return map
    }
}
