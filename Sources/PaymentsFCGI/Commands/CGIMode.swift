import ArgumentParser
internal import CFCGI
import Foundation
import Handlers
import Logging
import MariaStore

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
        _ = response.file?.stream {
            CGIGateway.write($0)
            return true
        }
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
