internal import CCurlSMTP
import Foundation

/// Hands a rendered message to the seller's mail system: SMTP (plain, STARTTLS or TLS, with
/// AUTH) through libcurl, or the local `sendmail -t`, as WordPress itself does on many hosts.
public struct MailTransport: Sendable {
    public let settings: Configuration.Mail

    public init(settings: Configuration.Mail) {
        self.settings = settings
    }

    /// A failed hand-over; the message says why (never the password).
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    public func send(_ message: [UInt8], from: String, to: String) throws(Failure) {
        switch settings.transport {
        case .smtp: try smtp(message, from: from, to: to)
        case .sendmail: try sendmail(message)
        }
    }

    private func smtp(_ message: [UInt8], from: String, to: String) throws(Failure) {
        let security: pfc_smtp_security
        switch settings.smtpSecurity {
        case .plain: security = PFC_SMTP_PLAIN
        case .starttls: security = PFC_SMTP_STARTTLS
        case .tls: security = PFC_SMTP_TLS
        }
        var error = [CChar](repeating: 0, count: 512)
        let status = message.withUnsafeBufferPointer { body in
            body.withMemoryRebound(to: CChar.self) { text in
                pfc_smtp_send(
                    settings.smtpHost, Int32(settings.smtpPort), security, settings.smtpCAFile, settings.smtpUser,
                    settings.smtpPassword, from, to, text.baseAddress, text.count, settings.timeoutSeconds, &error)
            }
        }
        guard status == 0 else {
            throw Failure(
                description: "SMTP \(settings.smtpHost):\(settings.smtpPort): "
                    + String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
    }

    private func sendmail(_ message: [UInt8]) throws(Failure) {
        // `mail.sendmail_path` may carry arguments of its own (`/usr/bin/msmtp -C /etc/msmtprc`).
        let words = settings.sendmailPath.split(separator: " ").map(String.init)
        guard let program = words.first else { throw Failure(description: "mail.sendmail_path is empty") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = Array(words.dropFirst()) + ["-t", "-i"]
        let input = Pipe()
        process.standardInput = input
        process.standardOutput = FileHandle.nullDevice
        do {
            try process.run()
            try input.fileHandleForWriting.write(contentsOf: Data(message))
            try input.fileHandleForWriting.close()
        } catch {
            throw Failure(description: "\(settings.sendmailPath): \(error.localizedDescription)")
        }
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw Failure(description: "\(settings.sendmailPath) exited with \(process.terminationStatus)") }
    }
}
