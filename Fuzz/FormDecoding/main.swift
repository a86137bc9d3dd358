import FuzzSupport
import Handlers

/// Form bodies (`wp_remote_post`) and query strings: any text decodes without trapping.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFormDecoding(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    for (name, value) in FormURLEncoding.decode(text) {
        if name.contains("&") { fuzzingFailure("a decoded name holds a raw separator: \(name) = \(value)") }
    }
    _ = FormURLEncoding.decode(text, plusIsSpace: true)
    let request = Request(method: "GET", path: "/", query: text)
    _ = request.queryItems
    return 0
}

// libFuzzer calls the function above for every input (see `runFuzzer`).
runFuzzer(fuzzFormDecoding)
