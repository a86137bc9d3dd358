import Foundation

/// A real SMTP server on loopback: Debian's aiosmtpd, storing what it receives in a maildir.
public final class SMTPServer: @unchecked Sendable {
    public let port: Int
    public let directory: String
    private var child: ChildProcess?
    private let security: Security?
    /// Seconds the server takes to accept each message.
    private let delay: Double

    /// TLS and AUTH for the server; nil: plain SMTP without AUTH.
    public struct Security: Sendable {
        public enum Mode: String, Sendable { case starttls, tls }
        public let mode: Mode
        public let user: String
        public let password: String
        public init(mode: Mode, user: String, password: String) {
            self.mode = mode
            self.user = user
            self.password = password
        }
    }

    /// The self-signed certificate the server presents (trust it with `mail.smtp_ca_file`).
    public var certificate: String { directory + "/cert.pem" }

    public init(security: Security? = nil, delay: Double = 0) throws {
        directory = TestPaths.scratchDirectory("smtp")
        port = TestPaths.freePort()
        self.security = security
        self.delay = delay
        if security != nil {
            let made = try ChildProcess.run(
                "/usr/bin/openssl",
                [
                    "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", directory + "/key.pem", "-out", certificate,
                ])
            guard made.status == 0 else { throw TestSupportError("openssl could not make a certificate: \(made.output)") }
        }
        try start()
    }

    /// Starts (or restarts) the server on the same port.
    public func start() throws {
        if let security {
            let script = TestPaths.repositoryRoot.appendingPathComponent("Tests/oracles/smtp_server.py").path
            child = try ChildProcess(
                "/usr/bin/python3",
                [
                    script, String(port), directory + "/maildir", security.mode.rawValue, certificate,
                    directory + "/key.pem", security.user, security.password,
                ], logPath: directory + "/smtp.log")
        } else if delay > 0 {
            let script = TestPaths.repositoryRoot.appendingPathComponent("Tests/oracles/slow_smtp_server.py").path
            child = try ChildProcess("/usr/bin/python3", [script, String(port), directory + "/maildir", String(delay)], logPath: directory + "/smtp.log")
        } else {
            child = try ChildProcess(
                "/usr/bin/python3",
                [
                    "-m", "aiosmtpd", "-n", "-l", "127.0.0.1:\(port)", "-c", "aiosmtpd.handlers.Mailbox",
                    directory + "/maildir",
                ], logPath: directory + "/smtp.log")
        }
        let port = self.port
        guard TestPaths.waitUntil(seconds: 10, { HTTPClient.canConnect(port: port) }) else {
            throw TestSupportError("aiosmtpd did not start (apt-get install python3-aiosmtpd): \(child?.output ?? "")")
        }
    }

    public func stop() {
        child?.stop(signal: SIGTERM, seconds: 5)
        child = nil
    }

    /// Every message received, as raw RFC 5322 text.
    public var messages: [String] {
        let folder = directory + "/maildir/new"
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).sorted()
        return names.compactMap { try? String(contentsOfFile: folder + "/" + $0, encoding: .utf8) }
    }

    /// The decoded text/plain part of a message.
    public static func plainText(of message: String) -> String {
        let lines = message.replacingOccurrences(of: "\r\n", with: "\n").components(separatedBy: "\n")
        guard let start = lines.firstIndex(where: { $0.lowercased().hasPrefix("content-type: text/plain") }) else { return "" }
        var body: [String] = []
        var index = start
        while index < lines.count, !lines[index].isEmpty { index += 1 }
        index += 1
        while index < lines.count, !lines[index].hasPrefix("--") {
            body.append(lines[index])
            index += 1
        }
        return Data(base64Encoded: body.joined()).map { String(decoding: $0, as: UTF8.self) } ?? ""
    }

    /// A header's value.
    public static func header(_ name: String, of message: String) -> String? {
        message.replacingOccurrences(of: "\r\n", with: "\n").components(separatedBy: "\n")
            .first { $0.lowercased().hasPrefix(name.lowercased() + ":") }
            .map { String($0.dropFirst(name.count + 1)).trimmingCharacters(in: .whitespaces) }
    }

    deinit { child?.stop(signal: SIGKILL, seconds: 2) }
}
