import Foundation
import FuzzSupport
import Handlers

/// The Stripe-Signature header and its verifier. Each input is a body and a list of edits;
/// the target signs the body validly, applies the edits to the header and the body, and checks
/// that the verifier accepts the result only when its header still carries the exact signature
/// of the (possibly edited) body at the timestamp it names — whatever the parser makes of the
/// rest of the header.
// libFuzzer calls the target on one thread only: these constants are never shared.
nonisolated(unsafe) private let secret = "whsec_fuzz_0123456789abcdef"
nonisolated(unsafe) private let now = Date(timeIntervalSince1970: 1_760_000_000)
nonisolated(unsafe) private let tolerance: Int64 = 300

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzWebhookSignature(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    let edits = input.part(until: 0xFF)
    var body = input.rest()
    let signedAt = Int64(now.timeIntervalSince1970) - Int64(edits.first ?? 0)
    guard let valid = try? WebhookSignature.header(payload: body, secret: secret, timestamp: signedAt) else { return 0 }
    var header = Array(valid.utf8)

    // Edits: (target, operation, position, byte) quadruples.
    var index = edits.startIndex.advanced(by: edits.isEmpty ? 0 : 1)
    while index + 3 < edits.endIndex {
        let target = edits[index] & 1
        let operation = edits[index + 1] % 4
        let position = Int(edits[index + 2])
        let byte = edits[index + 3]
        index += 4
        func edit(_ bytes: inout [UInt8]) {
            switch operation {
            case 0 where !bytes.isEmpty: bytes[position % bytes.count] ^= byte | 1
            case 1: bytes.insert(byte, at: bytes.isEmpty ? 0 : position % (bytes.count + 1))
            case 2 where !bytes.isEmpty: bytes.remove(at: position % bytes.count)
            case 3: bytes.append(byte)
            default: break
            }
        }
        if target == 0 { edit(&header) } else { edit(&body) }
    }

    let headerText = String(decoding: header, as: UTF8.self)
    guard
        let timestamp = try? WebhookSignature.verify(
            payload: body, header: headerText, secrets: [secret],
            toleranceSeconds: tolerance, now: now)
    else { return 0 }
    // Accepted: the header must carry, as one of its v1 values, the signature of this body at
    // the timestamp it names, computed here from scratch.
    guard let parsed = try? WebhookSignature.parse(headerText), parsed.timestamp == timestamp,
        let expected = try? Digest.hmacSHA256(key: Array(secret.utf8), message: Array("\(timestamp).".utf8) + body)
    else {
        fuzzingFailure("accepted a header that does not parse to the timestamp returned: \(headerText.debugDescription)")
    }
    let expectedHex = Array(Hex.encode(expected).utf8)
    if !parsed.signatures.contains(expectedHex) {
        fuzzingFailure("accepted a header without the body's signature: \(headerText.debugDescription)")
    }
    if abs(Int64(now.timeIntervalSince1970) - timestamp) > tolerance {
        fuzzingFailure("accepted a timestamp outside the tolerance: \(timestamp)")
    }
    return 0
}

// libFuzzer calls the function above for every input (see `runFuzzer`).
runFuzzer(fuzzWebhookSignature)
