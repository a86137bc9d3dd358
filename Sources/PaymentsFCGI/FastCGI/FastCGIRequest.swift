internal import CFCGI
import Glibc
import Handlers
import Logging

/// One thread's FastCGI request slot, reused for every connection the thread answers.
///
/// The `FCGX_Request` lives in memory allocated here (its streams point back into it, so it
/// must never move). Everything libfcgi lends — params, body bytes — is copied into Swift
/// values before the next libfcgi call, because `FCGX_Accept_r`/`FCGX_Finish_r` free them.
///
/// Connections come from the arrival gate, whole: libfcgi never accepts one itself (the slot
/// has no listening socket), and every read it makes is bounded by the time the request has
/// left to arrive (`SO_RCVTIMEO`, set to what remains before each read).
final class FastCGIRequest {
    /// Why a connection was given up before a response could be written.
    struct Dropped: Error, CustomStringConvertible {
        let description: String
    }

    private let request: UnsafeMutablePointer<FCGX_Request>
    private let readTimeoutSeconds: Int
    /// Takes connections whose input was not all read, to read it off without this thread.
    private let gate: ArrivalGate
    private var deadline = ContinuousClock.now
    /// Whether the request's reads need bounding (it had not all arrived when handed over).
    private var boundsReads = true

    init(readTimeoutSeconds: Int, gate: ArrivalGate) throws(StartupError) {
        self.readTimeoutSeconds = readTimeoutSeconds
        self.gate = gate
        request = .allocate(capacity: 1)
        request.initialize(to: FCGX_Request())
        // Listening socket -1: should libfcgi ever drop a connection and try to accept the
        // next one itself, accept(-1) fails at once and the slot comes back to us.
        let status = FCGX_InitRequest(request, -1, 0)
        guard status == 0 else {
            request.deinitialize(count: 1)
            request.deallocate()
            throw StartupError("FCGX_InitRequest failed with \(status)")
        }
    }

    deinit {
        // Frees libfcgi's buffers and closes a connection still held.
        FCGX_Free(request, 1)
        request.deinitialize(count: 1)
        request.deallocate()
    }

    /// Answers every connection `queue` hands out with `respond`, until the queue is closed.
    func answer(_ queue: ArrivedConnections, logger: Logger, with respond: ([String: String], inout FastCGIBody) -> Response) {
        while let connection = queue.next() {
            do {
                try begin(connection)
            } catch {
                logger.info("FastCGI connection dropped", metadata: ["reason": "\(error.description)"])
                continue
            }
            var body = self.body
            let response = respond(params(), &body)
            // A file follows its head a bounded buffer at a time (ResponseFile.stream).
            if !write(GatewayResponse.encode(response)) || !(response.file?.stream({ write($0) }) ?? true) {
                logger.notice("the web server closed the connection before the response was written")
            }
            finish()
        }
    }

    /// Takes over a connection from the gate and reads the request's head (FCGI_BEGIN_REQUEST
    /// and FCGI_PARAMS). When it throws, the connection is closed already.
    private func begin(_ connection: ArrivedConnection) throws(Dropped) {
        deadline = connection.deadline
        boundsReads = !connection.isWhole
        if boundsReads, let error = SocketTimeout.setReceive(connection.fileDescriptor, deadline - .now) {
            _ = close(connection.fileDescriptor)
            throw Dropped(description: "cannot bound reads on the connection (setsockopt SO_RCVTIMEO): \(String(cString: strerror(error)))")
        }
        request.pointee.ipcFd = connection.fileDescriptor
        // FCGX_Accept_r begins by finishing the previous request; kept, the connection survives that.
        request.pointee.keepConnection = 1
        // Should libfcgi close it (a malformed head), a plain close: its lingering close waits
        // in select(), beyond our deadline and past descriptor 1023 not at all safely.
        request.pointee.detached = 1
        let status = FCGX_Accept_r(request)
        guard status == 0 else {
            throw Dropped(description: "libfcgi could not read the request's head (\(status)); it closed the connection")
        }
    }

    /// The request's CGI/1.1 variables, copied.
    private func params() -> [String: String] {
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

    /// The request body as a stream, bounded by the request's deadline.
    private var body: FastCGIBody {
        FastCGIBody(
            stream: request.pointee.in, fileDescriptor: request.pointee.ipcFd, deadline: deadline,
            timeoutSeconds: readTimeoutSeconds, boundsReads: boundsReads)
    }

    /// Writes the whole response; false when the web server went away mid-write.
    @discardableResult
    private func write(_ bytes: [UInt8]) -> Bool {
        guard let out = request.pointee.out, let count = Int32(exactly: bytes.count) else { return false }
        let written = bytes.withUnsafeBytes { raw in
            FCGX_PutStr(raw.baseAddress?.assumingMemoryBound(to: CChar.self), count, out)
        }
        return written == count && FCGX_FFlush(out) == 0
    }

    /// Ends the request (FCGI_END_REQUEST) and lets go of the connection, even when the web
    /// server asked to keep it (`fastcgi_keep_conn on`): a kept connection would park this
    /// thread on it, and once the web server holds as many as there are workers every other
    /// request waits (measured: zero requests answered in a 5 s run). The web server simply
    /// opens a new connection next time.
    private func finish() {
        // The whole response first, FCGI_END_REQUEST included (written when the last of the
        // two output streams closes), so the web server has it before anything else happens.
        if let error = request.pointee.err { _ = FCGX_FClose(error) }
        if let out = request.pointee.out { _ = FCGX_FClose(out) }
        var unread: Int32 = -1
        let fd = request.pointee.ipcFd
        if fd >= 0, let input = request.pointee.in {
            drainArrived(input, fd)
            // Input left unread (a body refused unread, or still arriving): closing now could
            // make the web server lose the response. The gate reads it off on a duplicate of
            // the descriptor, which keeps the connection open when libfcgi closes its own.
            if FCGX_HasSeenEOF(input) == 0 || FCGX_GetError(input) != 0 { unread = fcntl(fd, F_DUPFD_CLOEXEC, 0) }
        }
        request.pointee.keepConnection = 0
        // Always a plain close: libfcgi's lingering close (shutdown, then select() until the
        // peer closes, 2 s at a time) would hold this thread, and select() is not safe past
        // descriptor 1023.
        request.pointee.detached = 1
        FCGX_Finish_r(request)
        if unread >= 0 { gate.closeAfterReading(unread) }
    }

    /// Reads the rest of the input that has arrived already (usually just the end-of-input
    /// record), waiting a millisecond at most, and never past the request's deadline.
    private func drainArrived(_ input: UnsafeMutablePointer<FCGX_Stream>, _ fd: Int32) {
        guard deadline > .now else { return }
        if boundsReads, SocketTimeout.setReceive(fd, .milliseconds(1)) != nil { return }
        var budget = 2 << 20
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: 4096) { buffer in
            while FCGX_HasSeenEOF(input) == 0, budget > 0 {
                let count = FCGX_GetStr(buffer.baseAddress, Int32(buffer.count), input)
                if count <= 0 { return }
                budget -= Int(count)
            }
        }
    }
}

/// Reads FCGI_STDIN records as a `BodySource`, each read bounded by the time the request has
/// left to arrive.
struct FastCGIBody: BodySource {
    let stream: UnsafeMutablePointer<FCGX_Stream>?
    let fileDescriptor: Int32
    let deadline: ContinuousClock.Instant
    let timeoutSeconds: Int
    /// False when the whole request was in the socket at hand-over: no read can wait then.
    let boundsReads: Bool
    private(set) var timedOut = false

    init(stream: UnsafeMutablePointer<FCGX_Stream>?, fileDescriptor: Int32, deadline: ContinuousClock.Instant, timeoutSeconds: Int, boundsReads: Bool) {
        self.stream = stream
        self.fileDescriptor = fileDescriptor
        self.deadline = deadline
        self.timeoutSeconds = timeoutSeconds
        self.boundsReads = boundsReads
    }

    mutating func read(maxCount: Int) -> [UInt8]? {
        guard maxCount > 0 else { return [] }
        guard let stream, let wanted = Int32(exactly: maxCount) else { return nil }
        let left = deadline - .now
        guard left > .zero else {
            timedOut = true
            return nil
        }
        if boundsReads, SocketTimeout.setReceive(fileDescriptor, left) != nil { return nil }
        var failed = false
        // Uninitialised: libfcgi fills what it returns, and zeroing 64 KiB per request showed up.
        let buffer = [UInt8](unsafeUninitializedCapacity: maxCount) { raw, initialized in
            initialized = 0
            guard let base = raw.baseAddress else { return }
            let count = FCGX_GetStr(UnsafeMutableRawPointer(base).assumingMemoryBound(to: CChar.self), wanted, stream)
            initialized = Int(max(count, 0))
            failed = count < wanted && FCGX_GetError(stream) != 0
        }
        guard !failed else {
            // SO_RCVTIMEO ran out: read(2) failed with EAGAIN, which libfcgi keeps as the error.
            let error = FCGX_GetError(stream)
            timedOut = error == EAGAIN || error == EWOULDBLOCK || ContinuousClock.now >= deadline
            return nil
        }
        return buffer
    }
}
