import FuzzSupport
import Handlers

/// The parameters and body the web server passes: any pairs, any body, never a trap, and a
/// body read never longer than the limit or the declared length.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzGatewayRequest(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    let limit = Int(input.byte()) * 64
    let mount = String(decoding: input.part(), as: UTF8.self)
    let params = input.part(until: 0xFF)
    let body = input.rest()
    var environment: [String: String] = [:]
    // libfcgi's environment strings end at a NUL byte, as C strings do.
    func text(_ bytes: ArraySlice<UInt8>) -> String { String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self) }
    FastCGIPairs.visit(params) { name, value in
        environment[text(name)] = text(value)
        return true
    }

    let parser = GatewayRequestParser(mountPrefix: mount, maxBodyBytes: limit)
    guard let request = try? parser.head(from: environment, requestID: "fuzz") else { return 0 }
    if request.path.utf8.first != UInt8(ascii: "/") { fuzzingFailure("a path that does not start with /: \(request.path)") }
    _ = request.mediaType
    _ = request.queryItems
    let declared: Int?
    do { declared = try parser.declaredLength(of: request) } catch { return 0 }
    var source = BufferedBody(body)
    guard let read = try? parser.readBody(declaredLength: declared, from: &source) else { return 0 }
    if read.count > limit { fuzzingFailure("read \(read.count) bytes, over the limit \(limit)") }
    if let declared, read.count != declared { fuzzingFailure("read \(read.count) bytes, \(declared) declared") }
    return 0
}

// libFuzzer calls the function above for every input (see `runFuzzer`).
runFuzzer(fuzzGatewayRequest)
