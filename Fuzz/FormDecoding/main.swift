import FuzzSupport
import Handlers

/// Form bodies (`wp_remote_post`) and query strings: any text decodes without trapping, and a
/// text without escapes, `+` or separators decodes to itself.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFormDecoding(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    let pairs = FormEncoding.decode(text)
    if !text.isEmpty, !text.contains(where: { "%+&=".contains($0) }), pairs.count != 1 || pairs[0].name != text || !pairs[0].value.isEmpty {
        fuzzingFailure("plain text \(text.debugDescription) decoded to \(pairs)")
    }
    _ = PercentEncoding.decode(text, plusIsSpace: true)
    _ = PercentEncoding.decode(text)
    _ = Request(method: "GET", path: "/", query: text).queryItems
    return 0
}

// libFuzzer calls the function above for every input (see `runFuzzer`).
runFuzzer(fuzzFormDecoding)
