import Glibc

/// A detached pthread of its own for work that blocks in C calls (libfcgi, Connector/C,
/// epoll_wait), which must never run on Swift concurrency's cooperative pool (one thread per
/// core, never to be blocked).
enum DedicatedThread {
    /// The closure crosses to the new thread boxed behind an opaque retained pointer: from
    /// then on only that thread holds it, so nothing is shared and no Sendable check is
    /// bypassed unsafely.
    private final class Work {
        let body: () -> Void
        init(_ body: @escaping () -> Void) { self.body = body }
    }

    /// Starts `body` on a new thread; the pthread_create error number when it cannot.
    static func start(_ body: @escaping () -> Void) throws(StartupError) {
        let context = Unmanaged.passRetained(Work(body)).toOpaque()
        var thread = pthread_t()
        let status = pthread_create(
            &thread, nil,
            { raw in
                guard let raw else { return nil }
                Unmanaged<Work>.fromOpaque(raw).takeRetainedValue().body()
                return nil
            }, context)
        guard status == 0 else {
            Unmanaged<Work>.fromOpaque(context).release()
            throw StartupError("cannot start a thread: \(String(cString: strerror(status)))")
        }
        let detached = pthread_detach(thread)
        guard detached == 0 else { throw StartupError("cannot detach a thread: \(String(cString: strerror(detached)))") }
    }
}
