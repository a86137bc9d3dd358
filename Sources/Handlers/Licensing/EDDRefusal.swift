/// Every answer of `/edd` that is not a verdict (400, 405, 413, 415, 429, 503…) in EDD's shape,
/// so that stock EDD clients, which read `success`, `license` and `error` from whatever comes
/// back, degrade ("an error occurred") instead of raising PHP warnings on a missing field.
///
/// `license` is `error` — neither a verdict nor `valid` — and `error` the service's code.
/// Old clients that still send GET requests (`?edd_action=check_license&license=…`) are told to
/// update: the key in such a URL is refused before routing (`key_in_url`), so it never reaches
/// the service's log, and the shipped access logs leave queries out.
public enum EDDRefusal {
    /// Whether `path` (below the mount prefix) is the EDD endpoint's.
    public static func applies(to path: String) -> Bool {
        path == "/edd" || path == "/edd/"
    }

    /// The EDD-shaped body for an error response, keeping its status and headers.
    public static func reshape(_ response: Response, method: String) -> Response {
        var code = "error"
        var message = "the licensing server could not answer; try again later"
        if let object = try? JSONObject.parse(response.body), let error = try? object.object("error") {
            code = (try? error.string("code")) ?? code
            message = (try? error.string("message")) ?? message
        }
        if method != "POST" && (code == "key_in_url" || code == "method_not_allowed") {
            code = "update_required"
            message = "this licensing server takes POST requests with the license in the body, never in the URL: update the plugin"
        }
        var reshaped = response
        reshaped.body = JSONValue.object([
            "success": false, "license": "error", "error": .string(code), "message": .string(message),
        ]).serialized()
        reshaped.headers.replace("Content-Type", "application/json; charset=utf-8")
        return reshaped
    }
}
