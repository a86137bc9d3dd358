/// How much of a FastCGI request has arrived, judged from the bytes the web server has sent so
/// far (peeked from the socket, not consumed): only a request that has arrived is handed to a
/// worker, so a slow or stalled upload never holds one.
///
/// Pure: it reads record headers (RFC-like spec, fastcgi.com 1.0 §3.3) and, in the params,
/// only `CONTENT_LENGTH`.
public enum FastCGIArrival: Equatable, Sendable {
    /// More bytes are needed. `headArrived`: every FCGI_PARAMS record is there, so a worker
    /// could read the request's head without waiting.
    case waiting(headArrived: Bool)
    /// A worker can answer without waiting for the web server: the body has ended (the empty
    /// FCGI_STDIN record), or the declared body is all there, or the head alone decides the
    /// answer (a declared length that is too large or not a number). `whole`: every byte of
    /// the request, through the end of its body, is among those scanned, so no read of it can
    /// wait.
    case arrived(whole: Bool)
    /// Not FastCGI (a record of another protocol version).
    case malformed

    static let recordHeaderLength = 8

    /// Scans `bytes`, the start of a connection's input.
    public static func scan(_ bytes: UnsafeRawBufferPointer, maxBodyBytes: Int) -> FastCGIArrival {
        var offset = 0
        var params: [UInt8] = []
        var headArrived = false
        var bodyBytes = 0
        while bytes.count - offset >= recordHeaderLength {
            guard bytes[offset] == 1 else { return .malformed }
            let type = bytes[offset + 1]
            let contentLength = Int(bytes[offset + 4]) << 8 | Int(bytes[offset + 5])
            let paddingLength = Int(bytes[offset + 6])
            let contentStart = offset + recordHeaderLength
            let end = contentStart + contentLength + paddingLength
            guard end <= bytes.count else { break }
            switch type {
            case 4 where !headArrived:  // FCGI_PARAMS
                if contentLength == 0 {
                    headArrived = true
                } else {
                    params.append(contentsOf: bytes[contentStart..<(contentStart + contentLength)])
                }
            case 5:  // FCGI_STDIN
                // Body before the end of the head is out of order: libfcgi will refuse it at once.
                if !headArrived { return .arrived(whole: false) }
                if contentLength == 0 { return .arrived(whole: true) }
                bodyBytes += contentLength
            case 2:  // FCGI_ABORT_REQUEST: answered (by closing) without waiting
                return .arrived(whole: false)
            default:
                // FCGI_BEGIN_REQUEST, management records: libfcgi deals with them as it reads.
                break
            }
            offset = end
        }
        guard headArrived else { return .waiting(headArrived: false) }
        switch declaredLength(inParams: params) {
        case .none:
            return .waiting(headArrived: true)  // read to the end: wait for the empty FCGI_STDIN record
        case .some(nil):
            return .arrived(whole: false)  // not a number: refused from the head alone
        case .some(let length?):
            return length > maxBodyBytes || bodyBytes >= length ? .arrived(whole: false) : .waiting(headArrived: true)
        }
    }

    /// `CONTENT_LENGTH` from FastCGI name-value pairs: nil when absent or empty, `.some(nil)`
    /// when it is not a plain number of at most 18 digits (so no arithmetic can overflow).
    static func declaredLength(inParams bytes: [UInt8]) -> Int?? {
        var declared: Int?? = .none
        FastCGIPairs.visit(bytes) { name, value in
            guard name.elementsEqual("CONTENT_LENGTH".utf8) else { return true }
            if value.isEmpty {
                declared = .none
            } else if value.count <= 18, value.allSatisfy({ $0 >= 48 && $0 <= 57 }) {
                declared = .some(value.reduce(0) { $0 * 10 + Int($1 - 48) })
            } else {
                declared = .some(nil)
            }
            return false
        }
        return declared
    }
}
