import Foundation
import FuzzSupport
import Handlers
import Logging
import MariaStore

/// The EDD Software Licensing adapter: any form or JSON body, any client address, through the
/// same `Responder` (routing, parsing and its one catch site) the service uses. The database is a socket nobody listens on,
/// so every request that gets as far as a lookup ends in 503; what is fuzzed is everything
/// before it (fields, lengths, the key and URL parsers, the error-to-status mapping). No
/// answer may be a 500, the status of an error nobody expected.
// libFuzzer calls the target on one thread only: these constants are never shared.
nonisolated(unsafe) private let context: Context = {
    var configuration = Configuration(
        database: ConnectionOptions(
            socket: "/nonexistent/pfc-fuzz.sock", user: "fuzz", database: "fuzz",
            connectTimeoutSeconds: 1, ioTimeoutSeconds: 1))
    configuration.licensing.keyPepper = "fuzz-pepper-0123456789abcdef0123456789"
    let store = Store(options: configuration.database, prefix: .standard, logger: Logger(label: "fuzz"))
    var logger = Logger(label: "fuzz")
    logger.logLevel = .critical
    return Context(store: store, clock: SystemTime(), configuration: configuration, logger: logger)
}()

nonisolated(unsafe) private let responder = Responder(
    router: ServiceRoutes.router(), parser: GatewayRequestParser(mountPrefix: "/payments", maxBodyBytes: 256 * 1024))

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzEDDRequest(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    let json = input.byte() & 1 == 1
    let address = String(decoding: input.part(), as: UTF8.self)
    let body = input.rest()
    let params = [
        "REQUEST_METHOD": "POST", "REQUEST_URI": "/payments/edd", "REMOTE_ADDR": address,
        "CONTENT_TYPE": json ? "application/json" : "application/x-www-form-urlencoded", "CONTENT_LENGTH": String(body.count),
    ]
    var source = BufferedBody(body)
    let response = responder.respond(params: params, body: &source, context: context)
    if response.status.code == 500 { fuzzingFailure("500 for a request body: \(String(decoding: body, as: UTF8.self).debugDescription)") }
    return 0
}

// libFuzzer calls the function above for every input (see `runFuzzer`).
runFuzzer(fuzzEDDRequest)
