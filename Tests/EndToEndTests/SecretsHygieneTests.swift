import Foundation
import TestSupport
import Testing

/// Secrets stay secret at the edges of the process: in files only their owner can read, long
/// enough not to be guessed, never on a command line, never in a core file.
@Suite("Secrets hygiene")
struct SecretsHygieneTests {
    let directory = TestPaths.scratchDirectory("secrets")

    func configuration(_ extra: String) throws -> String {
        let database = try MariaDBServer.shared.createDatabase("secrets")
        let path = directory + "/payments.ini"
        try ServiceProcess.writeConfiguration(at: path, database: database, listen: directory + "/payments.sock", extra: extra)
        return path
    }

    @Test func secretFileReadableByOtherUsersIsRefused() throws {
        let secret = directory + "/webhook-secret"
        try "whsec_0123456789abcdef0123456789abcdef\n".write(toFile: secret, atomically: true, encoding: .utf8)
        chmod(secret, 0o644)
        let config = try configuration("\n[stripe]\nwebhook_secret_file = \(secret)\n")
        for command in [["check-config", "--offline"], ["serve"]] {
            let refused = try ChildProcess.run(TestPaths.binary, command + ["--config", config], seconds: 20)
            #expect(refused.status == 78, "\(command): \(refused.output)")
            #expect(refused.output.contains("stripe.webhook_secret_file = \(secret)"), "\(refused.output)")
            #expect(refused.output.contains("readable by every user (mode 0644)"), "\(refused.output)")
            #expect(!refused.output.contains("0123456789abcdef0123456789abcdef"))
        }
        chmod(secret, 0o640)
        let accepted = try ChildProcess.run(TestPaths.binary, ["check-config", "--offline", "--config", config])
        #expect(accepted.status == 0, "\(accepted.output)")
        #expect(accepted.output.contains("stripe.webhook_secret = (set)    [file \(secret)]"))
    }

    @Test func shortSecretsAreRefusedByName() throws {
        let config = try configuration(
            """

            [stripe]
            webhook_secret = whsec_tooshort
            [api]
            key = api-key-tooshort
            admin_key = admin-key-tooshort
            [licensing]
            key_pepper = pepper-tooshort
            [notifications]
            url = https://shop.example.com/wp-json/pfc/v1/events
            secret = notify-tooshort
            """)
        let refused = try ChildProcess.run(TestPaths.binary, ["check-config", "--offline", "--config", config])
        #expect(refused.status == 78)
        for key in ["stripe.webhook_secret", "api.key", "api.admin_key", "licensing.key_pepper", "notifications.secret"] {
            #expect(refused.output.contains("\(key) = (secret)"), "\(key): \(refused.output)")
        }
        #expect(!refused.output.contains("tooshort"))
    }

    /// A process that may not dump core also has its /proc files owned by root, whoever it runs
    /// as: the observable sign of `PR_SET_DUMPABLE` 0. The service runs here as www-data (as
    /// root) or as the test's own user, never as root, so the owner tells the flag.
    @Test func servingProcessCannotDumpCore() throws {
        let config = try configuration("")
        let port = TestPaths.freePort()
        let serve = [TestPaths.binary, "serve", "--config", config, "--listen", "127.0.0.1:\(port)"]
        let child =
            geteuid() == 0
            ? try ChildProcess(
                "/usr/bin/setpriv", ["--reuid=www-data", "--regid=www-data", "--clear-groups", "--"] + serve,
                logPath: directory + "/serve.log")
            : try ChildProcess(serve[0], Array(serve.dropFirst()), logPath: directory + "/serve.log")
        defer { child.stop() }
        #expect(TestPaths.waitUntil(seconds: 10) { HTTPClient.canConnect(port: port) }, "\(child.output)")
        let status = try String(contentsOfFile: "/proc/\(child.pid)/status", encoding: .utf8)
        let uid = status.split(separator: "\n").first { $0.hasPrefix("Uid:") }?.split(separator: "\t").dropFirst().first.flatMap { UInt32($0) }
        #expect(uid != nil && uid != 0, "\(status)")
        var info = stat()
        #expect(stat("/proc/\(child.pid)/environ", &info) == 0)
        #expect(info.st_uid == 0, "the service's /proc files belong to uid \(info.st_uid): it may dump core")
    }
}
