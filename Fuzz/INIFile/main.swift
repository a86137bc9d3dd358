import FuzzSupport
import Handlers

/// The configuration file: any text parses or reports its problems, never traps.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzINIFile(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    switch INIFile.parse(text) {
    case .success(let file):
        if file.order.count != file.entries.count { fuzzingFailure("\(file.order.count) keys in order, \(file.entries.count) entries") }
    case .failure(let error):
        if error.problems.isEmpty { fuzzingFailure("a failure without a problem") }
    }
    return 0
}

// libFuzzer calls the function above for every input (see `runFuzzer`).
runFuzzer(fuzzINIFile)
