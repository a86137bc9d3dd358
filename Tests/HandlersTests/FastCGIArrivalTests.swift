import Handlers
import TestSupport
import Testing

/// When a FastCGI request counts as arrived: only then does a worker take it.
@Suite("FastCGI arrival")
struct FastCGIArrivalTests {
    func scan(_ bytes: [UInt8], max: Int = 1000) -> FastCGIArrival {
        bytes.withUnsafeBytes { FastCGIArrival.scan($0, maxBodyBytes: max) }
    }

    func head(contentLength: String? = nil) -> [UInt8] {
        FastCGIClient.beginRequest() + FastCGIClient.params(FastCGIClient.standardParams(method: "POST", uri: "/payments/x", contentLength: contentLength))
    }

    @Test func nothingOrAPartialHeadIsWaiting() {
        #expect(scan([]) == .waiting(headArrived: false))
        let whole = head(contentLength: "5")
        for cut in [3, 8, 12, whole.count - 8, whole.count - 1] {
            #expect(scan(Array(whole.prefix(cut))) == .waiting(headArrived: false), "cut at \(cut)")
        }
    }

    @Test func aBodyArrivesWithItsEndRecordOrItsDeclaredLength() {
        #expect(scan(head(contentLength: "10")) == .waiting(headArrived: true))
        #expect(scan(head(contentLength: "10") + FastCGIClient.stdin(Array("12345".utf8), end: false)) == .waiting(headArrived: true))
        #expect(scan(head(contentLength: "10") + FastCGIClient.stdin(Array("1234567890".utf8), end: false)) == .arrived(whole: false))
        #expect(scan(head(contentLength: "10") + FastCGIClient.stdin(Array("12345".utf8))) == .arrived(whole: true))  // ends short: 400 at once
        #expect(scan(head(contentLength: "0")) == .arrived(whole: false))
        #expect(scan(head(contentLength: "0") + FastCGIClient.stdin([])) == .arrived(whole: true))
        // nginx sends an empty CONTENT_LENGTH for a GET, and no length means "read to the end".
        #expect(scan(head(contentLength: "")) == .waiting(headArrived: true))
        #expect(scan(head()) == .waiting(headArrived: true))
        #expect(scan(head() + FastCGIClient.stdin([])) == .arrived(whole: true))
        let cutRecord = head(contentLength: "10") + FastCGIClient.stdin(Array("1234567890".utf8), end: false)
        #expect(scan(Array(cutRecord.dropLast())) == .waiting(headArrived: true))
    }

    @Test func aHeadThatDecidesAloneHasArrived() {
        for length in ["1001", "lots", "-1", "99999999999999999999", "9223372036854775807", "1e3", " 5"] {
            #expect(scan(head(contentLength: length)) == .arrived(whole: false), "CONTENT_LENGTH \(length)")
        }
        #expect(scan(head(contentLength: "1000")) == .waiting(headArrived: true))
    }

    @Test func longValuesAndOtherRecordsAreRead() {
        let params = FastCGIClient.params([("HTTP_COOKIE", String(repeating: "c", count: 300)), ("CONTENT_LENGTH", "3")])
        #expect(scan(FastCGIClient.beginRequest() + params) == .waiting(headArrived: true))
        #expect(scan(FastCGIClient.beginRequest() + params + FastCGIClient.stdin(Array("abc".utf8), end: false)) == .arrived(whole: false))
        let management = FastCGIClient.record(type: 9, requestID: 0, content: [])
        #expect(scan(management + head(contentLength: "0") + FastCGIClient.stdin([])) == .arrived(whole: true))
        #expect(scan(FastCGIClient.beginRequest() + FastCGIClient.record(type: 2, content: [])) == .arrived(whole: false))  // aborted
        #expect(scan(FastCGIClient.beginRequest() + FastCGIClient.stdin([])) == .arrived(whole: false))  // out of order: refused at once
    }

    @Test func anotherProtocolIsMalformed() {
        #expect(scan(Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8)) == .malformed)
        var other = head(contentLength: "0")
        other[0] = 2
        #expect(scan(other) == .malformed)
    }

    @Test func bogusParamLengthsReadAsNoLength() {
        let bogus = FastCGIClient.record(type: 4, content: [0xFF, 0xFF, 0xFF, 0xF0, 0x01, 0x41, 0x42]) + FastCGIClient.record(type: 4, content: [])
        #expect(scan(FastCGIClient.beginRequest() + bogus) == .waiting(headArrived: true))
        #expect(scan(FastCGIClient.beginRequest() + bogus + FastCGIClient.stdin([])) == .arrived(whole: true))
    }
}
