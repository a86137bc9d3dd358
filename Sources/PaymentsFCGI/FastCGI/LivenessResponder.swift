import Glibc
import Handlers
import Logging

/// The thread behind `server.liveness_listen`: it answers every request with the `/livez`
/// answer and never touches the database, so a database that hangs every worker cannot make
/// the process look dead to its supervisor (which would restart a healthy process, and the
/// hang with it).
final class LivenessResponder: Sendable {
    private let queue: ArrivedConnections
    private let gate: ArrivalGate
    private let readTimeoutSeconds: Int
    private let logger: Logger

    init(queue: ArrivedConnections, gate: ArrivalGate, readTimeoutSeconds: Int, logger: Logger) {
        self.queue = queue
        self.gate = gate
        self.readTimeoutSeconds = readTimeoutSeconds
        self.logger = logger
    }

    func start() throws(StartupError) {
        try DedicatedThread.start { [self] in answer() }
    }

    private func answer() {
        let request: FastCGIRequest
        do {
            request = try FastCGIRequest(readTimeoutSeconds: readTimeoutSeconds, gate: gate)
        } catch {
            logger.critical("the liveness thread cannot start: \(error)")
            kill(getpid(), SIGTERM)
            return
        }
        request.answer(queue, logger: logger) { params, _ in HealthCheck.liveness(method: params["REQUEST_METHOD"]) }
    }
}
