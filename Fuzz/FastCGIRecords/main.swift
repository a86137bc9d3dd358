import FuzzSupport
import Handlers

/// The arrival gate's record scanner reads whatever a peer sent before any worker sees it:
/// it must never trap, and a verdict must not change when more bytes arrive after "whole".
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFastCGIRecords(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    let limit = 1 << Int(input.byte() % 24)
    let bytes = input.rest()
    let verdict = bytes.withUnsafeBytes { FastCGIArrival.scan($0, maxBodyBytes: limit) }
    if verdict == .arrived(whole: true) {
        // Once the body has ended, later bytes (another request's) change nothing.
        let extended = bytes + [1, 5, 0, 1, 0, 0, 0, 0]
        let again = extended.withUnsafeBytes { FastCGIArrival.scan($0, maxBodyBytes: limit) }
        if again != verdict { fuzzingFailure("verdict changed after the body ended: \(verdict) → \(again)") }
    }
    return 0
}

// libFuzzer calls the function above for every input (see `runFuzzer`).
runFuzzer(fuzzFastCGIRecords)
