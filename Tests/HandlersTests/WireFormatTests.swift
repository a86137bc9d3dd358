import Handlers
import Testing

@Suite("Wire formats: JSON, CGI responses, URL encoding")
struct WireFormatTests {
    @Test func jsonEscapesQuotesControlsAndKeepsUnicode() {
        let value: JSONValue = .object([
            "a\"b": .string("line\nbreak\ttab\u{01} é 🎉 \\"), "n": 42, "t": true, "z": nil,
            "list": .array([1, "two"]),
        ])
        #expect(
            String(decoding: value.serialized(), as: UTF8.self)
                == #"{"a\"b":"line\nbreak\ttab\u0001 é 🎉 \\","n":42,"t":true,"z":null,"list":[1,"two"]}"#)
    }

    @Test func cgiResponseHasStatusHeadersAndLength() {
        var response = Response.json(.object(["ok": true]))
        response.headers.add("X-Test", "1")
        let text = String(decoding: GatewayResponse.encode(response), as: UTF8.self)
        #expect(text == "Status: 200 OK\r\nContent-Type: application/json; charset=utf-8\r\nX-Test: 1\r\nContent-Length: 11\r\n\r\n{\"ok\":true}")
    }

    @Test func headerValuesCannotInjectLines() {
        let response = Response(headers: HTTPHeaders([("Location", "https://example.com/\r\nSet-Cookie: x=1")]))
        let text = String(decoding: GatewayResponse.encode(response), as: UTF8.self)
        #expect(!text.contains("\r\nSet-Cookie"))
        #expect(text.contains("Location: https://example.com/Set-Cookie: x=1\r\n"))
    }

    @Test func formDecodingHandlesPlusPercentAndEmpty() {
        let pairs = FormEncoding.decode("license_key=AB%2BCD&site_url=https%3A%2F%2Fexample.com&note=a+b&empty=&flag")
        #expect(pairs.map(\.name) == ["license_key", "site_url", "note", "empty", "flag"])
        #expect(pairs.map(\.value) == ["AB+CD", "https://example.com", "a b", "", ""])
    }

    @Test func percentDecodingRejectsBrokenEscapes() {
        #expect(PercentEncoding.decode("a%20b") == "a b")
        #expect(PercentEncoding.decode("%e2%82%ac") == "€")
        #expect(PercentEncoding.decode("%zz") == nil)
        #expect(PercentEncoding.decode("%c3") == nil)  // not UTF-8
    }
}
