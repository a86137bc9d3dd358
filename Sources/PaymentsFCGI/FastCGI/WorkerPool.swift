internal import CFCGI
import Glibc
import Handlers
import Logging
import MariaStore
import Synchronization

/// The FastCGI workers: dedicated pthreads, each with its own `FCGX_Request` and its own
/// database connection, blocking in libfcgi and Connector/C calls. (They must not run on Swift
/// concurrency's cooperative pool, which has one thread per core and must never block.)
final class WorkerPool: Sendable {
    private let listener: FastCGIListener
    private let responder: Responder
    private let configuration: Configuration
    private let logger: Logger
    private let stopping = Atomic<Bool>(false)
    private let running = Atomic<Int>(0)

    init(listener: FastCGIListener, responder: Responder, configuration: Configuration, logger: Logger) {
        self.listener = listener
        self.responder = responder
        self.configuration = configuration
        self.logger = logger
    }

    /// Starts `count` worker threads.
    func start(count: Int) throws(StartupError) {
        for index in 0..<count {
            let worker = Worker(pool: self, index: index)
            // The Worker is handed to its thread as an opaque retained pointer: from here on
            // only that thread touches it, so no Sendable check is needed or bypassed unsafely.
            let context = Unmanaged.passRetained(worker).toOpaque()
            var thread = pthread_t()
            running.add(1, ordering: .sequentiallyConsistent)
            let status = pthread_create(&thread, nil, { raw in
                let worker = Unmanaged<Worker>.fromOpaque(raw!).takeRetainedValue()
                worker.run()
                return nil
            }, context)
            guard status == 0 else {
                running.subtract(1, ordering: .sequentiallyConsistent)
                Unmanaged<Worker>.fromOpaque(context).release()
                throw StartupError("cannot start worker thread \(index): \(String(cString: strerror(status)))")
            }
            pthread_detach(thread)
        }
    }

    /// Stops accepting; workers finish the request they are in and exit.
    func stop() {
        stopping.store(true, ordering: .sequentiallyConsistent)
        listener.stopAccepting()
    }

    var isStopping: Bool { stopping.load(ordering: .sequentiallyConsistent) }

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

    /// One worker thread's state. Not Sendable: it lives on its own thread only.
    private final class Worker {
        let pool: WorkerPool
        let index: Int

        init(pool: WorkerPool, index: Int) {
            self.pool = pool
            self.index = index
        }

        func run() {
            var logger = pool.logger
            logger[metadataKey: "worker"] = "\(index)"
            do {
                try MariaLibrary.threadStarted()
            } catch {
                // A thread Connector/C cannot serve would fail every request: stop instead.
                logger.critical("worker cannot start: \(error)")
                kill(getpid(), SIGTERM)
                pool.running.subtract(1, ordering: .sequentiallyConsistent)
                return
            }
            let store = Store(options: pool.configuration.database, prefix: pool.configuration.tablePrefix, logger: logger)
            let context = Context(store: store, clock: SystemTime(), configuration: pool.configuration, logger: logger)
            serve(context: context, logger: logger)
            store.close()
            MariaLibrary.threadFinished()
            pool.running.subtract(1, ordering: .sequentiallyConsistent)
        }

        private func serve(context: Context, logger: Logger) {
            let request = FastCGIRequest(listener: pool.listener)
            while !pool.isStopping {
                let status = request.accept()
                if status < 0 {
                    if pool.isStopping { break }
                    let code = -status
                    logger.error("accepting a FastCGI connection failed", metadata: ["errno": "\(code)", "reason": "\(String(cString: strerror(code)))"])
                    if code == EBADF || code == ENOTSOCK || code == EINVAL {
                        // The listening socket itself is unusable: stop the whole process.
                        kill(getpid(), SIGTERM)
                        break
                    }
                    usleep(100_000)  // EMFILE and the like: give the system a moment
                    continue
                }
                var body = request.body
                let response = pool.responder.respond(params: request.params(), body: &body, context: context)
                if !request.write(GatewayResponse.encode(response)) {
                    logger.notice("the web server closed the connection before the response was written")
                }
                request.finish()
            }
            request.finish()
        }
    }
}
