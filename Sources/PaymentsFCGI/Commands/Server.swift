import ArgumentParser
internal import CFCGI
import Foundation
import Handlers
import Logging
import MariaStore

/// Runs the service in whichever mode the process was started in.
struct Server {
    let configuration: Configuration
    let logger: Logger
    var listenGivenOnCommandLine = false

    func run() throws(StartupError) {
        do {
            try MariaLibrary.initialize()
        } catch {
            throw StartupError(error.description)
        }
        guard FCGX_Init() == 0 else { throw StartupError("libfcgi failed to initialise") }
        try checkDatabaseServer()
        // A web server that hangs up mid-response must not kill the process with SIGPIPE;
        // the failed write is reported instead.
        signal(SIGPIPE, SIG_IGN)

        // A listening socket on fd 0 means a process manager (mod_fcgid, spawn-fcgi) started
        // us and expects us to use it, whatever the file says; --listen still wins.
        let listener: FastCGIListener
        if !listenGivenOnCommandLine, let inherited = FastCGIListener.inherited() {
            listener = inherited
        } else if let address = configuration.server.listen {
            if let problem = configuration.server.exposureProblem(listen: address) { throw StartupError(problem) }
            listener = try FastCGIListener.open(address, mode: configuration.server.socketMode)
        } else {
            throw StartupError(
                "no listen address: set server.listen (or --listen), or start payments-fcgi from a FastCGI process manager such as mod_fcgid or spawn-fcgi")
        }
        // Under mod_fcgid every process would try to bind the one liveness socket: there each
        // process's own workers answer /livez (mod_fcgid sends one request at a time anyway).
        var liveness: FastCGIListener?
        if let path = configuration.server.livenessListen {
            if listener.isInherited {
                logger.notice("server.liveness_listen is not used under a process manager (socket on fd 0)")
            } else {
                do {
                    liveness = try FastCGIListener.open(path, mode: configuration.server.socketMode)
                } catch {
                    listener.close()
                    throw error
                }
            }
        }
        defer {
            listener.close()
            liveness?.close()
        }
        try serve(on: listener, liveness: liveness)
    }

    /// Refuses to start on a server the store cannot run on. A server that is down is not a
    /// reason to stay down: requests get 503 until it answers (and each new connection is
    /// checked the same way then).
    private func checkDatabaseServer() throws(StartupError) {
        do {
            let probe = try Connection(options: configuration.database)
            probe.close()
        } catch let error as DatabaseError where error.kind == .unsupportedServer {
            throw StartupError(error.message)
        } catch {
            logger.warning("the database is not reachable yet; requests that need it get 503 until it is", metadata: ["error": "\(error)"])
        }
    }

    private func serve(on listener: FastCGIListener, liveness: FastCGIListener?) throws(StartupError) {
        // Block the stop signals in every thread (threads inherit the mask) so that only
        // sigwait below receives them; libfcgi's own handlers would merely set a flag.
        var stopSignals = sigset_t()
        sigemptyset(&stopSignals)
        sigaddset(&stopSignals, SIGTERM)
        sigaddset(&stopSignals, SIGINT)
        pthread_sigmask(SIG_BLOCK, &stopSignals, nil)

        let server = configuration.server
        let responder = Responder(
            router: ServiceRoutes.router(),
            parser: GatewayRequestParser(mountPrefix: server.mountPrefix, maxBodyBytes: server.maxBodyBytes))
        let arrived = ArrivedConnections()
        let probes = ArrivedConnections()
        var entrances = [ArrivalGate.Entrance(listener: listener, queue: arrived)]
        if let liveness { entrances.append(ArrivalGate.Entrance(listener: liveness, queue: probes)) }
        let gate = try ArrivalGate(
            entrances: entrances, readTimeoutSeconds: server.requestReadTimeoutSeconds,
            maxBodyBytes: server.maxBodyBytes, allowedPeers: server.allowedPeers, logger: logger)
        if liveness != nil {
            try LivenessResponder(queue: probes, gate: gate, readTimeoutSeconds: server.requestReadTimeoutSeconds, logger: logger).start()
        }
        let pool = WorkerPool(queue: arrived, gate: gate, responder: responder, configuration: configuration, logger: logger)
        try pool.start(count: server.workers)
        try gate.start()
        // Under mod_fcgid many processes run at once; each may deliver: claims keep it once.
        let delivery = DeliveryThread()
        delivery.start(configuration: configuration, logger: logger)
        logger.info(
            "serving",
            metadata: [
                "listen": "\(listener.describe)", "liveness": "\(liveness?.describe ?? "-")", "workers": "\(server.workers)",
                "database": "\(configuration.database)", "mount_prefix": "\(server.mountPrefix)",
            ])

        var received: Int32 = 0
        sigwait(&stopSignals, &received)
        logger.info("stopping: finishing requests in flight", metadata: ["signal": "\(received == SIGINT ? "SIGINT" : "SIGTERM")"])
        gate.stop()
        delivery.stop(seconds: server.drainTimeoutSeconds)
        let drained = pool.waitForWorkers(seconds: server.drainTimeoutSeconds)
        if drained {
            logger.info("stopped")
        } else {
            logger.warning("stopped with requests still running after the drain timeout", metadata: ["workers": "\(pool.runningWorkers)"])
        }
    }
}
