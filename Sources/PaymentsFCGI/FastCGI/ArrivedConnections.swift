import Foundation

/// A FastCGI connection whose request has arrived (or whose time to arrive ran out), handed
/// from the arrival gate to a thread that answers it.
struct ArrivedConnection: Sendable {
    let fileDescriptor: Int32
    /// When the request's time to arrive whole ends (`server.request_read_timeout_seconds`
    /// after it was accepted); every later read of it is bounded by what is left.
    let deadline: ContinuousClock.Instant
    /// Every byte of the request is in the socket already: no read of it can wait, so none
    /// needs a timeout (a system call saved per read).
    let isWhole: Bool
}

/// A first-in, first-out queue of arrived connections between the gate (one producer) and
/// the threads that answer them. `next()` blocks; after `close()` it drains what is queued,
/// then returns nil.
final class ArrivedConnections: @unchecked Sendable {
    // `items`, `head` and `closed` are guarded by `condition`'s lock.
    private let condition = NSCondition()
    private var items: [ArrivedConnection] = []
    private var head = 0
    private var closed = false

    func append(_ connection: ArrivedConnection) {
        condition.lock()
        items.append(connection)
        condition.signal()
        condition.unlock()
    }

    /// The oldest connection; waits for one. Nil once closed and empty.
    func next() -> ArrivedConnection? {
        condition.lock()
        defer { condition.unlock() }
        while head == items.count, !closed { condition.wait() }
        guard head < items.count else { return nil }
        let connection = items[head]
        head += 1
        if head == items.count {
            items.removeAll(keepingCapacity: true)
            head = 0
        }
        return connection
    }

    /// No more connections will come; waiting threads finish what is queued and stop.
    func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }
}
