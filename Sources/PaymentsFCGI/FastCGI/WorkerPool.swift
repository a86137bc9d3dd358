import Glibc
import Handlers
import Logging
import MariaStore
import Synchronization

/// The FastCGI workers: dedicated threads, each with its own `FCGX_Request` and its own
/// database connection, answering the connections the arrival gate hands them (whole
/// requests, so a slow client never holds one).
final class WorkerPool: Sendable {
    private let queue: ArrivedConnections
    private let gate: ArrivalGate
    private let responder: Responder
    private let configuration: Configuration
    private let logger: Logger
    /// Shared by every worker: Stripe calls of the whole process count against one budget.
    private let stripeGate: StripeCallGate
    private let running = Atomic<Int>(0)

    init(queue: ArrivedConnections, gate: ArrivalGate, responder: Responder, configuration: Configuration, logger: Logger) {
        self.queue = queue
        self.gate = gate
        self.responder = responder
        self.configuration = configuration
        self.logger = logger
        stripeGate = StripeCallGate(limit: configuration.stripe.concurrentCalls)
    }

    /// Starts `count` worker threads; they stop once the queue is closed and empty.
    func start(count: Int) throws(StartupError) {
        for index in 0..<count {
            running.add(1, ordering: .sequentiallyConsistent)
            do {
                try DedicatedThread.start { [self] in
                    work(index: index)
                    running.subtract(1, ordering: .sequentiallyConsistent)
                }
            } catch {
                running.subtract(1, ordering: .sequentiallyConsistent)
                throw error
            }
        }
    }

    /// Waits until every worker has exited or `seconds` passed; true when all exited.
    func waitForWorkers(seconds: Int) -> Bool {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while running.load(ordering: .sequentiallyConsistent) > 0 {
            if ContinuousClock.now >= deadline { return false }
            usleep(10_000)
        }
        return true
    }

    var runningWorkers: Int { running.load(ordering: .sequentiallyConsistent) }

    /// One worker thread's life: its own connection and request slot, used only here.
    private func work(index: Int) {
        var logger = self.logger
        logger[metadataKey: "worker"] = "\(index)"
        let request: FastCGIRequest
        do {
            try MariaLibrary.threadStarted()
            request = try FastCGIRequest(readTimeoutSeconds: configuration.server.requestReadTimeoutSeconds, gate: gate)
        } catch {
            // A worker that cannot serve would fail every request given to it: stop instead.
            logger.critical("worker cannot start: \(error)")
            kill(getpid(), SIGTERM)
            return
        }
        let store = Store(options: configuration.database, prefix: configuration.tablePrefix, logger: logger)
        let context = Context(store: store, clock: SystemTime(), configuration: configuration, logger: logger, stripeGate: stripeGate)
        request.answer(queue, logger: logger) { params, body in
            responder.respond(params: params, body: &body, context: context)
        }
        store.close()
        MariaLibrary.threadFinished()
    }
}
