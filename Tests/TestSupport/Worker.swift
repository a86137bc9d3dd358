import Foundation

/// Runs `body` on a dedicated thread (database calls block; they do not belong on the
/// concurrency pool) and returns a handle to wait on.
public final class Worker: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    // Written by the thread before `done` is signalled, read after it.
    private var failure: (any Error)?

    public init(_ body: @escaping @Sendable () throws -> Void) {
        let thread = Thread { [self] in
            do { try body() } catch { failure = error }
            done.signal()
        }
        thread.start()
    }

    /// Waits for the thread, rethrowing what its body threw.
    public func wait() throws {
        done.wait()
        if let failure { throw failure }
    }
}
