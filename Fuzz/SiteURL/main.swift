import FuzzSupport
import Handlers

/// Site URLs sent by plugins: any text is refused or normalised, a normalised site stays the
/// same when normalised again, and Punycode never traps.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSiteURL(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    _ = Punycode.asciiLabel(text)
    guard let site = SiteURL(text) else { return 0 }
    guard let again = SiteURL("https://" + site.canonical) ?? SiteURL("http://" + site.canonical) ?? SiteURL(site.canonical) else {
        fuzzingFailure("the canonical form \(site.canonical) of \(text.debugDescription) is refused")
    }
    if again.canonical != site.canonical {
        fuzzingFailure("normalising twice changed \(site.canonical) into \(again.canonical)")
    }
    return 0
}

// libFuzzer calls the function above for every input (see `runFuzzer`).
runFuzzer(fuzzSiteURL)
