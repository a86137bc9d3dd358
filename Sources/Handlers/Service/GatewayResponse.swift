/// Writes a `Response` in the CGI response format FastCGI also uses:
/// `Status: 200 OK`, header lines, a blank line, the body.
public enum GatewayResponse {
    public static func encode(_ response: Response, includeContentLength: Bool = true) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(response.body.count + 256)
        func line(_ name: String, _ value: String, capitalize: Bool = false) {
            // `content-type` → `Content-Type`, for readable output: each letter after a start or a '-'.
            var start = true
            for byte in name.utf8 {
                out.append(capitalize && start && byte >= 97 && byte <= 122 ? byte - 32 : byte)
                start = byte == 45
            }
            out.append(contentsOf: ": ".utf8)
            // A CR or LF in a value would start a new header; drop them rather than trust callers.
            for byte in value.utf8 where byte != 13 && byte != 10 { out.append(byte) }
            out.append(contentsOf: "\r\n".utf8)
        }
        line("Status", response.status.description)
        for (name, value) in response.headers {
            line(name, value, capitalize: true)
        }
        if includeContentLength, response.headers["content-length"] == nil {
            line("Content-Length", String(response.file?.size ?? Int64(response.body.count)))
        }
        out.append(contentsOf: "\r\n".utf8)
        // A file follows the head, written by the gateway (`ResponseFile.stream`).
        if response.file == nil { out.append(contentsOf: response.body) }
        return out
    }
}
