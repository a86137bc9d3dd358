import Foundation
import Handlers
import TestSupport
import Testing

/// Release packages sent by the service itself (`releases.delivery = stream`), for hosts whose
/// web server has neither X-Accel-Redirect nor X-Sendfile: through nginx, whole and exact.
@Suite("Release packages streamed by the service")
struct ReleaseStreamingTests {
    @Test func packageIsStreamedWholeThroughNginx() throws {
        let releases = TestPaths.scratchDirectory("releases")
        let license = try LicenseEndToEndTests(extraSettings: "\n[releases]\ndirectory = \(releases)\ndelivery = stream\n")
        // Larger than the service's buffer and libfcgi's: many chunks.
        var bytes: [UInt8] = [0x50, 0x4B, 0x03, 0x04]
        var generator = SystemRandomNumberGenerator()
        bytes += (0..<700_000).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let zip = releases + "/../pro-2.0.0.zip"
        try Data(bytes).write(to: URL(fileURLWithPath: zip))
        let added = try ChildProcess.run(TestPaths.binary, ["release", "add", "pro-license", "2.0.0", zip, "--config", license.config])
        #expect(added.status == 0, "\(added.output)")
        let listed = try ChildProcess.run(TestPaths.binary, ["release", "list", "--config", license.config])
        #expect(listed.output.contains("pro-license\t2.0.0") && listed.output.contains("0 downloads"), "\(listed.output)")

        let key = try license.issueKey()
        #expect(
            try license.post(
                "/edd",
                [
                    ("edd_action", "activate_license"), ("license", key), ("item_name", "Pro license"),
                    ("url", "https://streamed.example.com"),
                ]
            ).json["license"] as? String == "valid")
        let version = try license.post(
            "/edd",
            [
                ("edd_action", "get_version"), ("license", key), ("item_name", "Pro license"),
                ("url", "https://streamed.example.com"),
            ])
        let package = try #require(version.json["package"] as? String, "\(version.text)")
        let path = String(package[try #require(package.range(of: "/payments/package/")).lowerBound...])
        let download = try HTTPClient.send(port: license.port, path: path)
        #expect(download.status == 200)
        #expect(download.header("Content-Type") == "application/zip")
        #expect(download.body.count == bytes.count)
        // Digests, not the bytes: a failed comparison of 700 KB arrays takes minutes to describe.
        #expect(Hex.encode(Digest.sha256(download.body)) == Hex.encode(Digest.sha256(bytes)))
        #expect(try ChildProcess.run(TestPaths.binary, ["release", "list", "pro-license", "--config", license.config]).output.contains("1 downloads"))
    }
}
