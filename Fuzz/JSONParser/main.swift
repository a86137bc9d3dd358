import FuzzSupport
import Handlers

/// Event payloads and request bodies: any bytes parse or fail cleanly, and what parses
/// serialises to JSON that parses to the same value.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSONParser(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let node = try? JSONParser.parse(bytes) else { return 0 }
    let value = node.sendable
    let text = value.serialized()
    guard let again = try? JSONParser.parse(text) else { fuzzingFailure("our own serialisation does not parse: \(text)") }
    if again.sendable != value { fuzzingFailure("a round trip changed the value") }
    return 0
}

// libFuzzer calls the function above for every input (see `runFuzzer`).
runFuzzer(fuzzJSONParser)
