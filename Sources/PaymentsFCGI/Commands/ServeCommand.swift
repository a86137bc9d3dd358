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
