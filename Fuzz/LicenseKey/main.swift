import FuzzSupport
import Handlers

/// Keys as customers paste them: any text is refused or parsed, and a parsed key reads back
/// the same from its formatted form.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzLicenseKey(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    _ = LicenseKey.identifier(of: text)
    guard let key = LicenseKey(parsing: text) else { return 0 }
    guard let again = LicenseKey(parsing: key.formatted()), again == key else {
        fuzzingFailure("\(key.formatted()) does not read back as the key it formats")
    }
    return 0
}

// libFuzzer calls the function above for every input (see `runFuzzer`).
runFuzzer(fuzzLicenseKey)
