import ArgumentParser
internal import CFCGI
import Foundation
import Handlers
import Logging
import MariaStore

/// `payments-fcgi serve`: answer FastCGI requests until SIGTERM or SIGINT.
struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve FastCGI requests (the default command).",
        discussion: """
            Listens on server.listen (a unix socket path or host:port). Without one, it uses the \
            listening socket inherited on file descriptor 0 (Apache mod_fcgid, spawn-fcgi), or, \
            started as a CGI program, answers the one request and exits.
            """)

    @OptionGroup var options: ConfigurationOptions

    @Option(help: "Listen here instead of server.listen (unix socket path or host:port).")
    var listen: String?

    @Option(help: "Worker threads instead of server.workers.")
    var workers: Int?

    func run() throws {
        do {
            try CoreDumps.forbid()
        } catch {
            StandardError.write("payments-fcgi: \(error.description)\n")
            throw ExitCode(1)
        }
        var (configuration, _, warnings) = try options.load()
        if let listen { configuration.server.listen = listen }
        if let workers {
            // The range server.workers allows (a thread and a database connection each).
            guard (1...256).contains(workers) else {
                StandardError.write("payments-fcgi: --workers must be a whole number from 1 to 256\n")
                throw ExitCode(64)
            }
            configuration.server.workers = workers
        }
        let logger = Bootstrap.logging(level: configuration.logLevel)
        for warning in warnings {
            // Without a webhook secret no payment can be fulfilled: that is an error to see.
            if warning.hasPrefix("stripe.webhook_secret") { logger.error("configuration error: \(warning)") } else { logger.warning("\(warning)") }
        }
        do {
            try Server(configuration: configuration, logger: logger, listenGivenOnCommandLine: listen != nil).run()
        } catch {
            logger.critical("\(error.description)")
            throw ExitCode(1)
        }
    }
}

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
            throw StartupError("no listen address: set server.listen (or --listen), or start payments-fcgi from a FastCGI process manager such as mod_fcgid or spawn-fcgi")
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
        let gate = try ArrivalGate(entrances: entrances, readTimeoutSeconds: server.requestReadTimeoutSeconds,
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
        logger.info("serving", metadata: [
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

/// Plain CGI: one request from the environment and standard input, then exit.
enum CGIMode {
    static func run() -> Never {
        do {
            try CoreDumps.forbid()
        } catch {
            unavailable(log: error.description, answer: "the service could not start")
        }
        let loader = ConfigurationLoader(environment: ProcessInfo.processInfo.environment)
        let path = ProcessInfo.processInfo.environment["PFC_CONFIG"] ?? ConfigurationOptions.defaultPath
        let configuration: Configuration
        switch loader.load(path: path) {
        case .success(let (loaded, _, _)): configuration = loaded
        case .failure(let error):
            unavailable(log: "the configuration is not valid: \(error.problems.joined(separator: "; "))", answer: "the service is not configured")
        }
        let logger = Bootstrap.logging(level: configuration.logLevel)
        do {
            try MariaLibrary.initialize()
        } catch {
            unavailable(log: error.description, answer: "the database library failed to start")
        }
        let store = Store(options: configuration.database, prefix: configuration.tablePrefix, logger: logger)
        let context = Context(store: store, clock: SystemTime(), configuration: configuration, logger: logger)
        let responder = Responder(
            router: ServiceRoutes.router(),
            parser: GatewayRequestParser(mountPrefix: configuration.server.mountPrefix, maxBodyBytes: configuration.server.maxBodyBytes))
        var body = CGIGateway.StandardInput()
        let response = responder.respond(params: CGIGateway.params(), body: &body, context: context)
        CGIGateway.write(GatewayResponse.encode(response))
        _ = response.file?.stream { CGIGateway.write($0); return true }
        store.close()
        exit(0)
    }

    /// Details go to the web server's error log (our standard error); the client gets a plain 503.
    private static func unavailable(log detail: String, answer: String) -> Never {
        StandardError.write("payments-fcgi: \(detail)\n")
        CGIGateway.write(GatewayResponse.encode(APIError.unavailable(answer).response))
        exit(0)
    }
}

enum Bootstrap {
    /// Routes swift-log to standard error at `level`. Call once, before threads start.
    static func logging(level: Logger.Level) -> Logger {
        LoggingSystem.bootstrap { label in LineLogHandler(label: label, level: level) }
        return Logger(label: "payments-fcgi")
    }

    /// A logger for operator commands: only errors, and they go to standard error.
    static func quietLogger() -> Logger {
        var logger = Logger(label: "payments-fcgi") { label in LineLogHandler(label: label, level: .error) }
        logger.logLevel = .error
        return logger
    }
}
