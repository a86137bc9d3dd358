import Foundation
import TestSupport
import Testing

@testable import Handlers

@Suite("JSON parser")
struct JSONParserTests {
    /// Whether our parse means the same as Foundation's (numbers compared by value).
    func same(_ node: JSONNode, _ foundation: Any) -> Bool {
        switch (node, foundation) {
        case (.null, is NSNull): return true
        case (.bool(let a), let b as Bool): return a == b
        case (.number(let text), let number as NSNumber): return Double(text) == number.doubleValue
        case (.string(let a), let b as String): return a == b
        case (.array(let a), let b as [Any]): return a.count == b.count && zip(a, b).allSatisfy { same($0, $1) }
        case (.object(let a), let b as [String: Any]):
            return a.count == b.count && a.allSatisfy { key, value in b[key].map { same(value, $0) } ?? false }
        default: return false
        }
    }

    @Test func everyStripeFixtureMeansWhatFoundationReads() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: StripeFixtures.directory.path).filter { $0.hasSuffix(".json") }
        #expect(names.count > 20)
        for name in names {
            let bytes = try StripeFixtures.load(String(name.dropLast(5)))
            let ours = try JSONParser.parse(bytes)
            let theirs = try JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])
            #expect(same(ours, theirs), "\(name)")
        }
    }

    @Test func decodesEscapesAndKeepsNumbersExact() throws {
        let node = try JSONParser.parse(
            Array(#"{"a":"caf\u00e9 \ud83d\ude00 \/\"\\\n\t","n":9223372036854775807,"d":-0.5e-3,"k":[true,false,null],"a":"last"}"#.utf8))
        guard case .object(let members) = node else {
            Issue.record("not an object")
            return
        }
        #expect(members["a"] == .string("last"))  // a repeated key keeps its last value
        #expect(members["n"] == .number("9223372036854775807"))
        #expect(members["d"] == .number("-0.5e-3"))
        #expect(members["k"] == .array([.bool(true), .bool(false), .null]))
        let escaped = try JSONParser.parse(Array(#""caf\u00e9 \ud83d\ude00 \/\"\\\n\t""#.utf8))
        #expect(escaped == .string("café 😀 /\"\\\n\t"))
        #expect(try JSONParser.parse(Array(" [ ] ".utf8)) == .array([]))
    }

    @Test func refusesWhatIsNotJSON() {
        let bad = [
            "", " ", "{", "{\"a\":1,}", "[1,]", "[1 2]", "{\"a\" 1}", "{a:1}", "01", "1.", "-", ".5", "1e", "+1", "NaN", "tru",
            "\"unterminated", "\"tab\there\"", "\"\\x\"", "\"\\u12\"", "\"\\ud800\"", "\"\\udc00\"", "\"\\ud800\\u0041\"", "{} {}",
            "'single'", "[1]x",
        ]
        for text in bad {
            #expect(throws: JSONParser.Failure.self, "\(text)") { try JSONParser.parse(Array(text.utf8)) }
        }
        #expect(throws: JSONParser.Failure.self) { try JSONParser.parse([0x22, 0xC3, 0x28, 0x22]) }  // invalid UTF-8
        #expect(throws: JSONParser.Failure.self) { try JSONParser.parse([0x22, 0xED, 0xA0, 0x80, 0x22]) }  // UTF-8-encoded surrogate
        let deep = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        #expect(throws: JSONParser.Failure.self) { try JSONParser.parse(Array(deep.utf8)) }
        let fine = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        #expect(throws: Never.self) { try JSONParser.parse(Array(fine.utf8)) }
    }

    @Test func errorsSayWhereAndWhat() {
        #expect(throws: JSONObject.ShapeError(path: "", problem: "the body is not valid JSON (expected ',' or '}' at byte 7)")) {
            try JSONObject.parse(Array(#"{"a":1 "b":2}"#.utf8))
        }
        #expect(throws: JSONObject.ShapeError(path: "", problem: "expected a JSON object at the top level")) {
            try JSONObject.parse(Array("[1]".utf8))
        }
    }

    @Test func resendsWithSortedKeys() throws {
        let node = try JSONParser.parse(Array(#"{"b":1.50,"a":{"d":"x","c":null},"big":123456789012345678901}"#.utf8))
        #expect(String(decoding: node.sendable.serialized(), as: UTF8.self) == #"{"a":{"c":null,"d":"x"},"b":1.50,"big":123456789012345678901}"#)
    }
}
