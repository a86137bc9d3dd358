import Foundation
import Handlers
import TestSupport
import Testing

@Suite("Webhook signatures")
struct WebhookSignatureTests {
    let secret = "whsec_test_secret_0123456789"
    let body = Array(#"{"id":"evt_1","object":"event"}"#.utf8)
    let now = Date(timeIntervalSince1970: 1_767_268_840)
    let t: Int64 = 1_767_268_840

    func verify(_ header: String?, body: [UInt8]? = nil, secrets: [String]? = nil, at date: Date? = nil) throws(WebhookSignature.Failure) {
        try WebhookSignature.verify(payload: body ?? self.body, header: header, secrets: secrets ?? [secret], toleranceSeconds: 300, now: date ?? now)
    }

    func v1(_ timestamp: Int64, secret: String? = nil, body: [UInt8]? = nil) -> String {
        Hex.encode(try! WebhookSignature.signature(payload: body ?? self.body, timestamp: timestamp, secret: secret ?? self.secret))
    }

    @Test func signatureMatchesStripesDocumentedComputation() {
        // HMAC-SHA256(secret, "t.body"), computed independently with `openssl dgst`:
        // printf '%s' '1767268840.{"id":"evt_1","object":"event"}' | openssl dgst -sha256 -hmac whsec_test_secret_0123456789
        #expect(v1(t) == "c30a3f7215f2930bd1bf9c9fe6f3adaeb37e5e7e14670a3d9c4d994c01fab6bb")
    }

    @Test func validSignatureIsAccepted() throws {
        try verify("t=\(t),v1=\(v1(t))")
        try verify(try WebhookSignature.header(payload: body, secret: secret, timestamp: t))
    }

    @Test func missingOrEmptyHeaderIsRefused() {
        #expect(throws: WebhookSignature.Failure.missingHeader) { try verify(nil) }
        #expect(throws: WebhookSignature.Failure.missingHeader) { try verify("") }
    }

    @Test func headerWithoutTimestampIsMalformed() {
        #expect(throws: WebhookSignature.Failure.malformedHeader) { try verify("v1=\(v1(t))") }
        #expect(throws: WebhookSignature.Failure.malformedHeader) { try verify("t=soon,v1=\(v1(t))") }
        #expect(throws: WebhookSignature.Failure.malformedHeader) { try verify("t,v1=\(v1(t))") }
    }

    @Test func onlyV1Counts() {
        #expect(throws: WebhookSignature.Failure.noV1Signature) { try verify("t=\(t),v0=\(v1(t))") }
    }

    @Test func wrongSecretTamperedBodyOrOtherTimestampIsRefused() {
        #expect(throws: WebhookSignature.Failure.noMatchingSignature) { try verify("t=\(t),v1=\(v1(t, secret: "whsec_other"))") }
        var tampered = body
        tampered[5] ^= 1
        #expect(throws: WebhookSignature.Failure.noMatchingSignature) { try verify("t=\(t),v1=\(v1(t))", body: tampered) }
        #expect(throws: WebhookSignature.Failure.noMatchingSignature) { try verify("t=\(t),v1=\(v1(t - 1))") }
        #expect(throws: WebhookSignature.Failure.noMatchingSignature) { try verify("t=\(t),v1=\(v1(t).uppercased())") }
    }

    @Test func anyV1WithAnySecretIsAccepted() throws {
        // Stripe sends one v1 per active secret while a rolled secret is still valid.
        try verify("t=\(t),v1=\(v1(t, secret: "whsec_old")),v1=\(v1(t))")
        try verify("t=\(t),v1=\(v1(t, secret: "whsec_old"))", secrets: ["whsec_new", "whsec_old"])
    }

    @Test func timestampBeyondToleranceIsRefusedBothWays() throws {
        try verify("t=\(t),v1=\(v1(t))", at: now.addingTimeInterval(300))
        try verify("t=\(t),v1=\(v1(t))", at: now.addingTimeInterval(-300))
        #expect(throws: WebhookSignature.Failure.outsideTolerance(secondsOff: 301)) {
            try verify("t=\(t),v1=\(v1(t))", at: now.addingTimeInterval(301))
        }
        #expect(throws: WebhookSignature.Failure.outsideTolerance(secondsOff: -301)) {
            try verify("t=\(t),v1=\(v1(t))", at: now.addingTimeInterval(-301))
        }
    }

    @Test func failuresNeverMentionTheSecret() {
        let all: [WebhookSignature.Failure] = [.missingHeader, .malformedHeader, .noV1Signature, .noMatchingSignature, .outsideTolerance(secondsOff: 400)]
        #expect(all.allSatisfy { !$0.description.contains("whsec") })
    }
}

/// The same cases through our verifier and through the official `stripe` Python package:
/// both must decide alike, except where we are deliberately stricter (future timestamps).
@Suite("Webhook signatures agree with stripe-python")
struct WebhookSignatureOracleTests {
    struct Case {
        let payload: String
        let header: String?
        let secrets: [String]
        let tolerance: Int64
        let now: Int64
        /// Our intended difference: the official library accepts any future timestamp.
        let futureBeyondTolerance: Bool
        let label: String
    }

    /// A reproducible generator (SplitMix64), so a failure names a case that can be re-run.
    struct SeededRandom: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static func makeCases() -> [Case] {
        var random = SeededRandom(state: 20_261_122)
        let bodies = [
            #"{"id":"evt_1","object":"event","type":"checkout.session.completed"}"#,
            "",
            "line one\r\nline two\r\n",
            #"{"name":"Zoë Ünïcode 🎉 日本語","note":"e\u{301}"}"#,
            "  leading and trailing spaces  ",
            String(repeating: "x", count: 3000),
            "comma,separated,=equals=",
        ]
        let now: Int64 = 1_767_268_840
        var cases: [Case] = []
        func sign(_ body: String, _ secret: String, _ t: Int64) -> String {
            Hex.encode(try! WebhookSignature.signature(payload: Array(body.utf8), timestamp: t, secret: secret))
        }
        func add(_ label: String, _ body: String, _ header: String?, secrets: [String], tolerance: Int64 = 300, future: Bool = false) {
            cases.append(Case(payload: body, header: header, secrets: secrets, tolerance: tolerance, now: now, futureBeyondTolerance: future, label: label))
        }
        for body in bodies {
            let secret = "whsec_" + Hex.encode((0..<16).map { _ in UInt8.random(in: 0...255, using: &random) })
            let old = "whsec_old_" + Hex.encode((0..<8).map { _ in UInt8.random(in: 0...255, using: &random) })
            let s = sign(body, secret, now)
            add("valid", body, "t=\(now),v1=\(s)", secrets: [secret])
            add("wrong secret", body, "t=\(now),v1=\(s)", secrets: [old])
            add("rolled: both v1, new secret", body, "t=\(now),v1=\(sign(body, old, now)),v1=\(s)", secrets: [secret])
            add("rolled: old v1, both secrets", body, "t=\(now),v1=\(sign(body, old, now))", secrets: [secret, old])
            add("v0 only", body, "t=\(now),v0=\(s)", secrets: [secret])
            add("v0 and v1", body, "t=\(now),v0=deadbeef,v1=\(s)", secrets: [secret])
            add("two t, first signed", body, "t=\(now),t=\(now - 5),v1=\(s)", secrets: [secret])
            add("two t, second signed", body, "t=\(now - 5),t=\(now),v1=\(s)", secrets: [secret])
            add("space before key", body, " t=\(now), v1=\(s)", secrets: [secret])
            add("space in timestamp", body, "t= \(now) ,v1=\(s)", secrets: [secret])
            add("space in signature", body, "t=\(now),v1= \(s)", secrets: [secret])
            add("plus sign and underscores", body, "t=+\(now / 1000)_\(String(now % 1000).leftPadded(3)),v1=\(s)", secrets: [secret])
            add("uppercase hex", body, "t=\(now),v1=\(s.uppercased())", secrets: [secret])
            add("extra = in value", body, "t=\(now),v1=\(s)=trailing", secrets: [secret])
            add("t without value", body, "t,v1=\(s)", secrets: [secret])
            add("v1 without value", body, "t=\(now),v1", secrets: [secret])
            add("no header", body, nil, secrets: [secret])
            add("garbage header", body, "garbage", secrets: [secret])
            add("CRLF in header", body, "t=\(now),\r\nv1=\(s)", secrets: [secret])
            add("empty items", body, ",,t=\(now),,v1=\(s),", secrets: [secret])
            for age: Int64 in [0, 1, 299, 300, 301, 5000] {
                let t = now - age
                add("age \(age)", body, "t=\(t),v1=\(sign(body, secret, t))", secrets: [secret])
            }
            for ahead: Int64 in [1, 300, 301, 86_400] {
                let t = now + ahead
                add("ahead \(ahead)", body, "t=\(t),v1=\(sign(body, secret, t))", secrets: [secret], future: ahead > 300)
            }
            // A random byte flipped in the signature or a random signature from another body.
            var flipped = Array(s.utf8)
            let index = Int.random(in: 0..<flipped.count, using: &random)
            flipped[index] = flipped[index] == UInt8(ascii: "a") ? UInt8(ascii: "b") : UInt8(ascii: "a")
            add("flipped signature character", body, "t=\(now),v1=\(String(decoding: flipped, as: UTF8.self))", secrets: [secret])
            add("signature of another body", body, "t=\(now),v1=\(sign(body + " ", secret, now))", secrets: [secret])
        }
        return cases
    }

    @Test func decisionsMatchTheOfficialLibrary() throws {
        let cases = Self.makeCases()
        #expect(cases.count >= 200)
        let input = try JSONSerialization.data(
            withJSONObject: cases.map { c -> [String: Any] in
                ["payload": c.payload, "header": c.header ?? NSNull(), "secrets": c.secrets, "tolerance": c.tolerance, "now": c.now]
            })
        let oracle = TestPaths.repositoryRoot.appendingPathComponent("Tests/oracles/stripe_signature.py").path
        // The python3 on PATH is the one scripts/install-packages gave the stripe package.
        let result = try ChildProcess.run("/usr/bin/env", ["python3", oracle], input: String(decoding: input, as: UTF8.self))
        #expect(result.status == 0, "the stripe-python oracle failed (scripts/install-packages installs it): \(result.output)")
        let output = try #require(try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any])
        let verdicts = try #require(output["results"] as? [Bool])
        try #require(verdicts.count == cases.count)

        var agreed = 0
        for (c, theirs) in zip(cases, verdicts) {
            let ours: Bool
            do {
                try WebhookSignature.verify(
                    payload: Array(c.payload.utf8), header: c.header, secrets: c.secrets,
                    toleranceSeconds: c.tolerance, now: Date(timeIntervalSince1970: Double(c.now)))
                ours = true
            } catch {
                ours = false
            }
            if c.futureBeyondTolerance {
                #expect(theirs && !ours, "\(c.label): expected stripe-python to accept and us to refuse a future timestamp")
            } else {
                #expect(ours == theirs, "\(c.label) header=\(c.header ?? "nil"): ours \(ours), stripe-python \(theirs)")
                agreed += 1
            }
        }
        // Both outcomes occur: the generator is not trivially all-accept or all-refuse.
        #expect(verdicts.filter { $0 }.count > 30)
        #expect(verdicts.filter { !$0 }.count > 30)
        #expect(agreed > 180)
    }
}

extension String {
    func leftPadded(_ width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
