import Foundation

/// Runs N things truly at once: N threads of their own (never a pool that runs one per core),
/// each doing its preparation (opening its socket), then all released together from one start
/// line. A test that claims "N simultaneous requests" uses this, so N are really in flight.
public enum Simultaneously {
    /// Runs `body(index)` on `count` threads released together; returns when all have finished.
    public static func run(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
        run(count, prepare: { _ in }, body: { index, _ in body(index) })
    }

    /// Sends `count` HTTP requests to 127.0.0.1:`port`: every connection is opened first, then
    /// all requests are written at the same moment. Replies are in index order (nil: failed).
    public static func send(
        _ count: Int, port: Int, timeout: Double = 60,
        _ request: @escaping @Sendable (Int) -> (method: String, path: String, headers: [(String, String)], body: [UInt8])
    )
        -> [HTTPClient.Reply?]
    {
        let replies = Replies(count)
        run(
            count, prepare: { _ in try? HTTPClient.connectTCP(port: port, timeout: timeout) },
            body: { index, fd in
                guard let fd else { return }
                defer { close(fd) }
                let (method, path, headers, body) = request(index)
                let bytes = HTTPClient.requestBytes(method: method, path: path, headers: headers, body: body)
                guard (try? HTTPClient.writeAll(fd, bytes)) != nil else { return }
                replies.set(index, try? HTTPClient.parse(HTTPClient.readAll(fd), isHead: method == "HEAD"))
            })
        return replies.all
    }

    /// The general form: `prepare` runs on each thread before the start line, `body` after it.
    public static func run<Prepared>(
        _ count: Int, prepare: @escaping @Sendable (Int) -> Prepared,
        body: @escaping @Sendable (Int, Prepared) -> Void
    ) {
        let start = StartLine(parties: count)
        let finished = DispatchGroup()
        for index in 0..<count {
            finished.enter()
            let thread = Thread {
                let prepared = prepare(index)
                start.arriveAndWait()
                body(index, prepared)
                finished.leave()
            }
            thread.stackSize = 512 * 1024
            thread.start()
        }
        finished.wait()
    }
}

/// A barrier: every party waits until all have arrived, then all go at once.
public final class StartLine: @unchecked Sendable {
    // `arrived` is guarded by `condition`'s lock.
    private let condition = NSCondition()
    private var arrived = 0
    private let parties: Int

    public init(parties: Int) {
        self.parties = parties
    }

    public func arriveAndWait() {
        condition.lock()
        arrived += 1
        if arrived >= parties {
            condition.broadcast()
        } else {
            while arrived < parties { condition.wait() }
        }
        condition.unlock()
    }
}

/// Replies collected from many threads, each in its own slot.
final class Replies: @unchecked Sendable {
    // Guarded by `lock`.
    private let lock = NSLock()
    private var slots: [HTTPClient.Reply?]

    init(_ count: Int) { slots = Array(repeating: nil, count: count) }

    func set(_ index: Int, _ reply: HTTPClient.Reply?) {
        lock.lock()
        slots[index] = reply
        lock.unlock()
    }

    var all: [HTTPClient.Reply?] {
        lock.lock()
        defer { lock.unlock() }
        return slots
    }
}
