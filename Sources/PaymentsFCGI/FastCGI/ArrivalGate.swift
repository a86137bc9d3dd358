internal import CLinux
import Glibc
import Handlers
import Logging
import Synchronization

/// Accepts FastCGI connections and holds each one, in one epoll thread, until its request has
/// arrived in the socket; only then is it handed to the threads that answer it. It also takes
/// back connections whose input was not all read, and reads it off until the web server closes
/// its end, so that no worker waits for that either.
///
/// A web server that streams request bodies (Apache's mod_proxy_fcgi does) would otherwise let
/// a client uploading a byte at a time hold a worker for as long as it likes, and a handful of
/// such clients hold them all, so that nothing else — not even `/livez` — is answered. Here a
/// slow request costs a file descriptor and a table entry, not a worker:
///
/// - the gate peeks at what has arrived (`MSG_PEEK`, nothing consumed: libfcgi reads it all
///   later) and hands the connection on when `FastCGIArrival` says a worker will not wait;
/// - a request gets `server.request_read_timeout_seconds` from its accept to arrive; when the
///   time is up, a request whose head has arrived is handed on anyway (its body read then
///   ends at once: 408), and one whose head has not is closed;
/// - more than 64 KiB waiting means the web server is sending fast (a large body that does
///   not fit in the socket buffer): handed on at once, its reads still bounded by the deadline;
/// - TCP peers not in `server.allowed_peers` are closed as soon as they are accepted;
/// - a connection given back after its response (`closeAfterReading`) is read and discarded
///   for up to 2 s or 2 MiB, then closed: closing with input unread can make the web server
///   drop the response (Apache answers 503 when its next body write fails).
///
/// Everything but `stop()` and `closeAfterReading(_:)` runs on the gate's own thread; those
/// two only post to a locked mailbox and write to an eventfd. That is why the class is
/// `@unchecked Sendable`.
final class ArrivalGate: @unchecked Sendable {
    /// A listening socket and the queue its arrived connections go to.
    struct Entrance {
        let listener: FastCGIListener
        let queue: ArrivedConnections
    }

    private struct Waiting {
        let entrance: Int
        let deadline: ContinuousClock.Instant
        let serial: UInt64
        var headArrived = false
        /// Watched by epoll (a connection whose request is there at its accept never is).
        var watched = false
    }

    /// What peeking at a waiting connection found.
    private enum Look {
        case arrived(whole: Bool)
        case waiting(headArrived: Bool)
        /// Nothing to read after all (a wake-up with no new bytes).
        case unchanged
        case gone
    }

    private struct Closing {
        let deadline: ContinuousClock.Instant
        let serial: UInt64
        var budget = 2 << 20
    }

    /// What other threads ask of the gate.
    private struct Mailbox {
        var stop = false
        var closing: [Int32] = []
        var running = true
    }

    static let fastSenderBytes = 64 * 1024
    private static let wakeTag: UInt64 = 1 << 40
    private static let listenerTag: UInt64 = 2 << 40
    private static let closingTime: Duration = .seconds(2)

    private let entrances: [Entrance]
    private let readTimeout: Duration
    private let maxBodyBytes: Int
    private let allowedPeers: Set<String>
    private let logger: Logger
    private let epoll: Int32
    private let wake: Int32
    private let maxConnections: Int
    private let mailbox = Mutex(Mailbox())

    // Owned by the gate's thread.
    private var waiting: [Int32: Waiting] = [:]
    private var closing: [Int32: Closing] = [:]
    /// Each in deadline order, which is the order connections came in (every one gets the
    /// same time): the front is always the next to expire. Entries whose connection has left
    /// already (its serial no longer matches) are skipped.
    private var arrivals = ExpiryOrder()
    private var departures = ExpiryOrder()
    private var nextSerial: UInt64 = 0
    private var listening = false
    private var resumeListeningAt: ContinuousClock.Instant?
    private var stopping = false
    private let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: ArrivalGate.fastSenderBytes + 1, alignment: 8)

    init(entrances: [Entrance], readTimeoutSeconds: Int, maxBodyBytes: Int, allowedPeers: [String], logger: Logger) throws(StartupError) {
        self.entrances = entrances
        self.readTimeout = .seconds(readTimeoutSeconds)
        self.maxBodyBytes = maxBodyBytes
        self.allowedPeers = Set(allowedPeers)
        self.logger = logger
        epoll = epoll_create1(Int32(EPOLL_CLOEXEC))
        guard epoll >= 0 else { throw StartupError("epoll_create1 failed: \(String(cString: strerror(errno)))") }
        wake = eventfd(0, Int32(EFD_CLOEXEC) | Int32(EFD_NONBLOCK))
        guard wake >= 0 else { throw StartupError("eventfd failed: \(String(cString: strerror(errno)))") }
        // Connections past this many wait in the kernel's backlog until some leave (the margin
        // keeps descriptors for workers, the database and logs).
        var limit = rlimit()
        let descriptors = getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 ? Int(min(limit.rlim_cur, 65_536)) : 1024
        maxConnections = max(16, descriptors - 128)
        for entrance in entrances {
            let flags = fcntl(entrance.listener.fileDescriptor, F_GETFL)
            guard flags >= 0, fcntl(entrance.listener.fileDescriptor, F_SETFL, flags | O_NONBLOCK) == 0 else {
                throw StartupError("cannot make \(entrance.listener.describe) non-blocking: \(String(cString: strerror(errno)))")
            }
        }
        guard register(wake, tag: Self.wakeTag, events: EPOLLIN.rawValue) else {
            throw StartupError("epoll_ctl failed for the gate's wake-up: \(String(cString: strerror(errno)))")
        }
        guard startListening() else { throw StartupError("epoll_ctl failed for a listening socket: \(String(cString: strerror(errno)))") }
    }

    deinit { scratch.deallocate() }

    func start() throws(StartupError) {
        try DedicatedThread.start { [self] in run() }
    }

    /// Stops accepting (the listening sockets are shut down, so new connections are refused);
    /// connections already accepted get the rest of their time, then the queues close.
    func stop() {
        mailbox.withLock { $0.stop = true }
        signal()
    }

    /// Takes back a connection whose response is written but whose input was not all read:
    /// the gate reads it off and closes it (at once, if the gate has stopped).
    func closeAfterReading(_ fd: Int32) {
        let posted = mailbox.withLock { box in
            guard box.running else { return false }
            box.closing.append(fd)
            return true
        }
        if posted { signal() } else { _ = close(fd) }
    }

    private func signal() {
        var one: UInt64 = 1
        _ = Glibc.write(wake, &one, MemoryLayout<UInt64>.size)
    }

    // MARK: The gate's thread

    private func run() {
        var events = [epoll_event](repeating: epoll_event(), count: 64)
        while !(stopping && waiting.isEmpty) {
            let count = epoll_wait(epoll, &events, Int32(events.count), timeoutMilliseconds())
            if count < 0 {
                if errno == EINTR { continue }
                logger.critical("the FastCGI gate cannot wait for connections (epoll_wait): \(String(cString: strerror(errno)))")
                kill(getpid(), SIGTERM)
                break
            }
            for event in events.prefix(Int(count)) {
                let tag = event.data.u64
                if tag == Self.wakeTag {
                    readMailbox()
                } else if tag >= Self.listenerTag {
                    accept(from: Int(tag - Self.listenerTag))
                } else {
                    let fd = Int32(truncatingIfNeeded: tag)
                    let hungUp = event.events & (EPOLLRDHUP.rawValue | EPOLLHUP.rawValue | EPOLLERR.rawValue) != 0
                    if closing[fd] != nil { readOff(fd) } else { examine(fd, hungUp: hungUp) }
                }
            }
            expire()
            if !listening, !stopping, waiting.count + closing.count < maxConnections, resumeListeningAt.map({ ContinuousClock.now >= $0 }) ?? true {
                _ = startListening()
            }
        }
        let late = mailbox.withLock { box in
            box.running = false
            return box.closing
        }
        for fd in late + Array(closing.keys) { _ = close(fd) }
        for entrance in entrances { entrance.queue.close() }
        _ = close(wake)
        _ = close(epoll)
    }

    private func timeoutMilliseconds() -> Int32 {
        let deadlines = [
            arrivals.next { fd, serial in waiting[fd].map { $0.serial == serial ? $0.deadline : nil } ?? nil },
            departures.next { fd, serial in closing[fd].map { $0.serial == serial ? $0.deadline : nil } ?? nil },
            listening ? nil : resumeListeningAt,
        ].compactMap { $0 }
        guard let next = deadlines.min() else { return -1 }
        let left = next - .now
        guard left > .zero else { return 0 }
        let (seconds, attoseconds) = left.components
        return Int32(clamping: seconds * 1000 + attoseconds / 1_000_000_000_000_000 + 1)
    }

    private func readMailbox() {
        var count: UInt64 = 0
        _ = read(wake, &count, MemoryLayout<UInt64>.size)
        let (stop, handedBack) = mailbox.withLock { box in
            defer { box.closing.removeAll() }
            return (box.stop, box.closing)
        }
        for fd in handedBack {
            nextSerial += 1
            guard register(fd, tag: UInt64(fd), events: EPOLLIN.rawValue | EPOLLRDHUP.rawValue | EPOLLET.rawValue) else {
                _ = close(fd)
                continue
            }
            closing[fd] = Closing(deadline: .now + Self.closingTime, serial: nextSerial)
            departures.append(fd, serial: nextSerial)
            readOff(fd)
        }
        if stop, !stopping {
            stopping = true
            stopListening()
            for entrance in entrances { entrance.listener.stopAccepting() }
        }
    }

    private func accept(from index: Int) {
        let listener = entrances[index].listener
        while waiting.count + closing.count < maxConnections {
            var address = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let fd = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.accept(listener.fileDescriptor, $0, &length) }
            }
            if fd < 0 {
                let error = errno
                switch error {
                case EAGAIN, EWOULDBLOCK: return
                case EINTR, ECONNABORTED, EPROTO, EPERM: continue
                case EMFILE, ENFILE, ENOBUFS, ENOMEM:
                    logger.warning("cannot accept a FastCGI connection now; retrying shortly", metadata: ["reason": "\(String(cString: strerror(error)))"])
                    pauseListening(for: .milliseconds(100))
                    return
                default:
                    if stopping { return }
                    // The listening socket itself is unusable: stop the whole process.
                    logger.critical(
                        "accepting FastCGI connections failed", metadata: ["listen": "\(listener.describe)", "reason": "\(String(cString: strerror(error)))"])
                    pauseListening(for: .seconds(3600))
                    kill(getpid(), SIGTERM)
                    return
                }
            }
            // Not inherited by programs the service starts (sendmail). (accept4 is out of
            // Swift's reach: glibc declares it only for _GNU_SOURCE.)
            guard fcntl(fd, F_SETFD, FD_CLOEXEC) == 0 else {
                logger.error("cannot mark a FastCGI connection close-on-exec", metadata: ["reason": "\(String(cString: strerror(errno)))"])
                _ = close(fd)
                continue
            }
            if let peer = Self.peerAddress(address), !allowedPeers.isEmpty, !allowedPeers.contains(peer) {
                logger.warning("refused a FastCGI connection from a peer not in server.allowed_peers", metadata: ["peer": "\(peer)"])
                _ = close(fd)
                continue
            }
            admit(fd, entrance: index)
        }
        pauseListening(for: nil)  // full: the rest waits in the backlog until some leave
    }

    private func admit(_ fd: Int32, entrance: Int) {
        nextSerial += 1
        waiting[fd] = Waiting(entrance: entrance, deadline: .now + readTimeout, serial: nextSerial)
        // A web server sends the whole request as it connects: usually it is there already,
        // and the connection goes on without ever being watched.
        let verdict = look(fd, hungUp: false)
        switch verdict {
        case .arrived(let whole):
            handOver(fd, whole: whole)
        case .gone:
            drop(fd)
        case .waiting, .unchanged:
            guard register(fd, tag: UInt64(fd), events: EPOLLIN.rawValue | EPOLLRDHUP.rawValue | EPOLLET.rawValue) else {
                logger.error("cannot watch a FastCGI connection (epoll_ctl)", metadata: ["reason": "\(String(cString: strerror(errno)))"])
                drop(fd)
                return
            }
            waiting[fd]?.watched = true
            if case .waiting(let headArrived) = verdict { waiting[fd]?.headArrived = headArrived }
            arrivals.append(fd, serial: nextSerial)
        }
    }

    /// A watched connection had something happen.
    private func examine(_ fd: Int32, hungUp: Bool) {
        guard waiting[fd] != nil else { return }
        switch look(fd, hungUp: hungUp) {
        case .arrived(let whole): handOver(fd, whole: whole)
        case .gone: drop(fd)
        case .waiting(let headArrived): waiting[fd]?.headArrived = headArrived
        case .unchanged: break
        }
    }

    /// Peeks at what has arrived on a waiting connection (without consuming it).
    private func look(_ fd: Int32, hungUp: Bool) -> Look {
        let count = recv(fd, scratch.baseAddress, scratch.count, Int32(MSG_PEEK) | Int32(MSG_DONTWAIT))
        if count < 0 {
            let error = errno
            return (error == EAGAIN || error == EWOULDBLOCK || error == EINTR) && !hungUp ? .unchanged : .gone
        }
        if count == 0 { return .gone }  // the web server closed it before the request arrived
        if count > Self.fastSenderBytes { return .arrived(whole: false) }
        switch FastCGIArrival.scan(UnsafeRawBufferPointer(rebasing: scratch[..<count]), maxBodyBytes: maxBodyBytes) {
        case .arrived(let whole):
            return .arrived(whole: whole)
        case .malformed:
            logger.notice("closed a connection that does not speak FastCGI")
            return .gone
        case .waiting(let headArrived):
            return hungUp ? .gone : .waiting(headArrived: headArrived)  // hung up: it can never arrive now
        }
    }

    /// Reads and discards what a connection given back has sent; closes it at its end.
    private func readOff(_ fd: Int32) {
        guard var entry = closing[fd] else { return }
        while entry.budget > 0 {
            let count = recv(fd, scratch.baseAddress, min(scratch.count, entry.budget), Int32(MSG_DONTWAIT))
            if count > 0 {
                entry.budget -= count
                continue
            }
            if count < 0, errno == EINTR { continue }
            if count < 0, errno == EAGAIN || errno == EWOULDBLOCK {
                closing[fd] = entry
                return
            }
            break  // the web server closed its end (0), or the connection failed
        }
        finishClosing(fd)
    }

    private func expire() {
        let now = ContinuousClock.now
        while let deadline = arrivals.next({ fd, serial in waiting[fd].map { $0.serial == serial ? $0.deadline : nil } ?? nil }), deadline <= now {
            guard let fd = arrivals.front, let entry = waiting[fd] else { break }
            if entry.headArrived {
                handOver(fd, whole: false)  // a worker answers 408 at once
            } else {
                logger.info("closed a FastCGI connection whose request did not arrive in time")
                drop(fd)
            }
        }
        while let deadline = departures.next({ fd, serial in closing[fd].map { $0.serial == serial ? $0.deadline : nil } ?? nil }), deadline <= now {
            guard let fd = departures.front else { break }
            finishClosing(fd)
        }
    }

    private func handOver(_ fd: Int32, whole: Bool) {
        guard let entry = waiting.removeValue(forKey: fd) else { return }
        if entry.watched { unregister(fd) }
        entrances[entry.entrance].queue.append(ArrivedConnection(fileDescriptor: fd, deadline: entry.deadline, isWhole: whole))
    }

    private func drop(_ fd: Int32) {
        guard let entry = waiting.removeValue(forKey: fd) else { return }
        if entry.watched { unregister(fd) }
        _ = close(fd)
    }

    private func finishClosing(_ fd: Int32) {
        guard closing.removeValue(forKey: fd) != nil else { return }
        unregister(fd)
        _ = close(fd)
    }

    // MARK: epoll

    @discardableResult
    private func startListening() -> Bool {
        for (index, entrance) in entrances.enumerated()
        where !register(entrance.listener.fileDescriptor, tag: Self.listenerTag + UInt64(index), events: EPOLLIN.rawValue) {
            return false
        }
        listening = true
        resumeListeningAt = nil
        return true
    }

    private func stopListening() {
        guard listening else { return }
        for entrance in entrances { unregister(entrance.listener.fileDescriptor) }
        listening = false
    }

    /// Stops taking connections for `duration` (nil: until one leaves).
    private func pauseListening(for duration: Duration?) {
        stopListening()
        resumeListeningAt = duration.map { .now + $0 }
    }

    private func register(_ fd: Int32, tag: UInt64, events: UInt32) -> Bool {
        var event = epoll_event()
        event.events = events
        event.data.u64 = tag
        return epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &event) == 0
    }

    private func unregister(_ fd: Int32) {
        var unused = epoll_event()
        if epoll_ctl(epoll, EPOLL_CTL_DEL, fd, &unused) != 0 {
            logger.error("epoll_ctl could not stop watching a descriptor", metadata: ["reason": "\(String(cString: strerror(errno)))"])
        }
    }

    /// A TCP peer's address as `inet_ntop` spells it (how `server.allowed_peers` is kept);
    /// nil for a unix socket, whose file permissions decide who may connect.
    static func peerAddress(_ address: sockaddr_storage) -> String? {
        var storage = address
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let family = Int32(address.ss_family)
        guard family == AF_INET || family == AF_INET6 else { return nil }
        let written: UnsafePointer<CChar>? = withUnsafePointer(to: &storage) { raw in
            if family == AF_INET {
                return raw.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { inet in
                    withUnsafePointer(to: inet.pointee.sin_addr) { inet_ntop(AF_INET, $0, &text, socklen_t(text.count)) }
                }
            }
            return raw.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { inet6 in
                withUnsafePointer(to: inet6.pointee.sin6_addr) { inet_ntop(AF_INET6, $0, &text, socklen_t(text.count)) }
            }
        }
        // A TCP peer whose address cannot be spelt matches no entry of the list.
        guard written != nil else { return "" }
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// Connections in the order their deadlines come (the order they were added, as every one
/// gets the same time), skipping those that have left.
private struct ExpiryOrder {
    private var entries: [(fd: Int32, serial: UInt64)] = []
    private var head = 0

    mutating func append(_ fd: Int32, serial: UInt64) { entries.append((fd, serial)) }

    /// The descriptor at the front after the last `next`.
    var front: Int32? { head < entries.count ? entries[head].fd : nil }

    /// The first deadline still current; `deadline(fd, serial)` is nil for one that has left.
    mutating func next(_ deadline: (Int32, UInt64) -> ContinuousClock.Instant?) -> ContinuousClock.Instant? {
        while head < entries.count {
            if let current = deadline(entries[head].fd, entries[head].serial) { return current }
            head += 1
        }
        entries.removeAll(keepingCapacity: true)
        head = 0
        return nil
    }
}
