import Foundation
import Handlers

/// Calls the service in-process as the web server does: FastCGI parameters and a body through
/// `Responder` and the service's own routes, so that routing, body limits, `key_in_url` and
/// the one mapping from errors to answers (a database that went away is 503, not 500) are the
/// real ones. Every handler test that speaks HTTP goes through this.
struct InProcessClient {
    let responder: Responder
    let mountPrefix: String

    init(mountPrefix: String = "", maxBodyBytes: Int = 262_144) {
        self.mountPrefix = mountPrefix
        responder = Responder(router: ServiceRoutes.router(), parser: GatewayRequestParser(mountPrefix: mountPrefix, maxBodyBytes: maxBodyBytes))
    }

    /// `target` is the path below the mount prefix, with its query if any (`/credits/balance?customer=…`).
    /// `headers` are sent as `HTTP_*` parameters, except Content-Type (`CONTENT_TYPE`);
    /// Content-Length is the body's.
    func send(
        _ method: String, _ target: String, headers: [(String, String)] = [], body: [UInt8] = [],
        address: String = "203.0.113.7", https: Bool = false, context: Context
    ) -> Response {
        let uri = mountPrefix + target
        var params = [
            "REQUEST_METHOD": method, "REQUEST_URI": uri, "REMOTE_ADDR": address,
            "QUERY_STRING": uri.firstIndex(of: "?").map { String(uri[uri.index(after: $0)...]) } ?? "",
        ]
        if !body.isEmpty || method == "POST" { params["CONTENT_LENGTH"] = String(body.count) }
        if https { params["HTTPS"] = "on" }
        for (name, value) in headers {
            if name.lowercased() == "content-type" {
                params["CONTENT_TYPE"] = value
            } else {
                params["HTTP_" + name.uppercased().replacingOccurrences(of: "-", with: "_")] = value
            }
        }
        var source = BufferedBody(body)
        return responder.respond(params: params, body: &source, context: context)
    }
}
