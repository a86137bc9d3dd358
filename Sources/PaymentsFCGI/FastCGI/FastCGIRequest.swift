internal import CFCGI
import Glibc
import Handlers

/// One worker's FastCGI request slot, reused for every request the worker serves.
///
/// The `FCGX_Request` lives in memory allocated here (its streams point back into it, so it
/// must never move). Everything libfcgi lends — params, body bytes — is copied into Swift
/// values before the next libfcgi call, because `FCGX_Accept_r`/`FCGX_Finish_r` free them.
final class FastCGIRequest {
    private let request: UnsafeMutablePointer<FCGX_Request>

    init(listener: FastCGIListener) {
        request = .allocate(capacity: 1)
        request.initialize(to: FCGX_Request())
        FCGX_InitRequest(request, listener.fileDescriptor, 0)
    }

    deinit {
        // Closes a connection still held (keep-alive) and frees libfcgi's buffers.
        FCGX_Free(request, 1)
        request.deinitialize(count: 1)
        request.deallocate()
    }

    /// Waits for the next request. Returns 0, or a negative errno when accepting failed
    /// (which is how a stopped listener wakes the worker).
    func accept() -> Int32 {
        FCGX_Accept_r(request)
    }

    /// The request's CGI/1.1 variables, copied.
    func params() -> [String: String] {
        var params: [String: String] = [:]
        params.reserveCapacity(40)
        guard var cursor = request.pointee.envp else { return params }
        while let entry = cursor.pointee {
            // Split "NAME=VALUE" on the C string's bytes: searching a Swift String character
            // by character cost more than all the rest of a trivial request.
            let pair = UnsafeRawBufferPointer(start: entry, count: strlen(entry))
            if let equals = pair.firstIndex(of: UInt8(ascii: "=")) {
                params[String(decoding: pair[..<equals], as: UTF8.self)] = String(decoding: pair[(equals + 1)...], as: UTF8.self)
            } else {
                params[String(decoding: pair, as: UTF8.self)] = ""
            }
            cursor += 1
        }
        return params
    }

    /// The request body as a stream.
    var body: FastCGIBody { FastCGIBody(stream: request.pointee.in) }

    /// Writes the whole response; false when the web server went away mid-write.
    @discardableResult
    func write(_ bytes: [UInt8]) -> Bool {
        guard let out = request.pointee.out else { return false }
        let written = bytes.withUnsafeBytes { raw in
            FCGX_PutStr(raw.baseAddress?.assumingMemoryBound(to: CChar.self), Int32(raw.count), out)
        }
        return written == Int32(bytes.count) && FCGX_FFlush(out) == 0
    }

    /// Ends the request (sends FCGI_END_REQUEST) and closes the connection, even when the web
    /// server asked to keep it (`fastcgi_keep_conn on`): libfcgi would otherwise park this
    /// worker on the idle connection, and once the web server holds as many idle connections
    /// as there are workers, every other request waits (measured: zero requests answered in
    /// a 5 s run). The web server simply opens a new connection next time.
    func finish() {
        request.pointee.keepConnection = 0
        let fd = request.pointee.ipcFd
        guard fd >= 0, let input = request.pointee.in else {
            FCGX_Finish_r(request)
            return
        }
        // Read off the rest of the input (a body refused unread, the end-of-input record), a
        // bounded amount and for at most 2 s, so that the connection can be closed plainly
        // instead of with libfcgi's lingering close (shutdown, then wait up to 2 s for the peer
        // to close first: a worker idle for a round trip through the web server on every
        // request, and for the full 2 s when the web server keeps its end open).
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var budget = 2 << 20
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: 4096) { buffer in
            while FCGX_HasSeenEOF(input) == 0, budget > 0 {
                let count = FCGX_GetStr(buffer.baseAddress, Int32(buffer.count), input)
                if count <= 0 { break }
                budget -= Int(count)
            }
        }
        if FCGX_HasSeenEOF(input) != 0, FCGX_GetError(input) == 0 {
            // All input consumed: end the response, then a plain close resets nothing.
            if let out = request.pointee.out { _ = FCGX_FClose(out) }
            request.pointee.detached = 1
        }
        FCGX_Finish_r(request)
    }
}

/// Reads FCGI_STDIN records as a `BodySource`.
struct FastCGIBody: BodySource {
    let stream: UnsafeMutablePointer<FCGX_Stream>?

    mutating func read(maxCount: Int) -> [UInt8]? {
        guard let stream else { return nil }
        var failed = false
        // Uninitialised: libfcgi fills what it returns, and zeroing 64 KiB per request showed up.
        let buffer = [UInt8](unsafeUninitializedCapacity: maxCount) { raw, initialized in
            let count = FCGX_GetStr(UnsafeMutableRawPointer(raw.baseAddress!).assumingMemoryBound(to: CChar.self), Int32(maxCount), stream)
            initialized = Int(max(count, 0))
            failed = count < maxCount && FCGX_GetError(stream) != 0
        }
        return failed ? nil : buffer
    }
}
