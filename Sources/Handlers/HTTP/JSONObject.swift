/// Typed reading of a decoded JSON object, with errors that name the path
/// (`data.object.amount_total: expected an integer`), for payloads we do not control.
public struct JSONObject: Sendable {
    public let storage: [String: JSONNode]
    /// Where this object sits in the document, for error messages.
    public let path: String

    public init(_ storage: [String: JSONNode], path: String = "") {
        self.storage = storage
        self.path = path
    }

    /// Decodes a JSON document whose top level must be an object.
    public static func parse(_ bytes: [UInt8]) throws(ShapeError) -> JSONObject {
        let value: JSONNode
        do {
            value = try JSONParser.parse(bytes)
        } catch {
            throw ShapeError(path: "", problem: "the body is not valid JSON (\(error.problem) at byte \(error.offset))")
        }
        guard case .object(let members) = value else { throw ShapeError(path: "", problem: "expected a JSON object at the top level") }
        return JSONObject(members)
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
        return value != .null
    }

    public func string(_ key: String) throws(ShapeError) -> String {
        guard let value = try optionalString(key) else { throw ShapeError(path: child(key), problem: "is missing") }
        return value
    }

    public func optionalString(_ key: String) throws(ShapeError) -> String? {
        guard has(key) else { return nil }
        guard case .string(let value)? = storage[key] else { throw ShapeError(path: child(key), problem: "expected a string") }
        return value
    }

    public func int(_ key: String) throws(ShapeError) -> Int64 {
        guard let value = try optionalInt(key) else { throw ShapeError(path: child(key), problem: "is missing") }
        return value
    }

    public func optionalInt(_ key: String) throws(ShapeError) -> Int64? {
        guard has(key) else { return nil }
        guard case .number(let text)? = storage[key], let value = Self.integer(text) else {
            throw ShapeError(path: child(key), problem: "expected an integer")
        }
        return value
    }

    public func bool(_ key: String) throws(ShapeError) -> Bool {
        guard has(key) else { throw ShapeError(path: child(key), problem: "is missing") }
        guard case .bool(let value)? = storage[key] else { throw ShapeError(path: child(key), problem: "expected true or false") }
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
        guard case .object(let value)? = storage[key] else { throw ShapeError(path: child(key), problem: "expected an object") }
        return JSONObject(value, path: child(key))
    }

    public func array(_ key: String) throws(ShapeError) -> [JSONObject] {
        guard has(key) else { return [] }
        guard case .array(let values)? = storage[key] else { throw ShapeError(path: child(key), problem: "expected a list") }
        var objects: [JSONObject] = []
        for (index, value) in values.enumerated() {
            guard case .object(let object) = value else { throw ShapeError(path: "\(child(key))[\(index)]", problem: "expected an object") }
            objects.append(JSONObject(object, path: "\(child(key))[\(index)]"))
        }
        return objects
    }

    /// A Stripe "expandable" field: an id string, or the expanded object's `id`.
    public func reference(_ key: String) throws(ShapeError) -> String? {
        guard has(key) else { return nil }
        if case .string(let id)? = storage[key] { return id }
        if case .object(let object)? = storage[key], case .string(let id)? = object["id"] { return id }
        throw ShapeError(path: child(key), problem: "expected an id or an object with an id")
    }

    /// String values of a flat object (Stripe `metadata`).
    public func stringMap(_ key: String) throws(ShapeError) -> [String: String] {
        guard let object = try optionalObject(key) else { return [:] }
        var map: [String: String] = [:]
        for (name, value) in object.storage {
            if case .string(let text) = value { map[name] = text }
        }
        return map
    }

    /// A JSON number that is a whole number within Int64 (`12`, also `12.0` and `1.2e1`).
    static func integer(_ text: String) -> Int64? {
        if let value = Int64(text) { return value }
        guard let double = Double(text), let value = Int64(exactly: double) else { return nil }
        return value
    }
}
