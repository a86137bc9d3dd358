import Foundation
import Handlers
import Logging
import MariaStore
import Synchronization

/// The outbox deliverer as a thread of `serve`, with its own database connection.
final class DeliveryThread: Sendable {
    private let stopping = Atomic<Bool>(false)
    private let finished = Atomic<Bool>(false)

    static func name(role: String) -> String {
        var host = [CChar](repeating: 0, count: 256)
        gethostname(&host, 255)
        let hostname = String(decoding: host.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return "\(hostname):\(getpid()):\(role)"
    }

    func start(configuration: Configuration, logger: Logger) {
        let interval = configuration.delivery.intervalSeconds
        guard interval > 0 else {
            finished.store(true, ordering: .sequentiallyConsistent)
            return
        }
        let thread = Thread { [self] in
            do {
                try MariaLibrary.threadStarted()
            } catch {
                logger.critical("outbox deliverer cannot start: \(error)")
                finished.store(true, ordering: .sequentiallyConsistent)
                return
            }
            let store = Store(options: configuration.database, prefix: configuration.tablePrefix, logger: logger)
            let context = Context(store: store, clock: SystemTime(), configuration: configuration, logger: logger)
            let deliverer = OutboxDeliverer(context: context, name: Self.name(role: "serve"))
            var pruned = ContinuousClock.now - .seconds(3600)
            while !stopping.load(ordering: .sequentiallyConsistent) {
                if ContinuousClock.now - pruned >= .seconds(3600) {
                    pruned = ContinuousClock.now
                    do { _ = try Maintenance(context: context).prune() } catch { logger.warning("pruning: \(error)") }
                }
                do {
                    let report = try deliverer.deliverDue()
                    if report != OutboxDeliverer.Report() { continue }  // more may be due
                } catch {
                    logger.warning("outbox deliverer: \(error)")
                }
                for _ in 0..<(interval * 10) where !stopping.load(ordering: .sequentiallyConsistent) { usleep(100_000) }
            }
            store.close()
            MariaLibrary.threadFinished()
            finished.store(true, ordering: .sequentiallyConsistent)
        }
        thread.start()
    }

    /// Asks the thread to stop after the message in hand; waits up to `seconds`.
    func stop(seconds: Int) {
        stopping.store(true, ordering: .sequentiallyConsistent)
        let deadline = ContinuousClock.now + .seconds(seconds)
        while !finished.load(ordering: .sequentiallyConsistent), ContinuousClock.now < deadline { usleep(20_000) }
    }
}
