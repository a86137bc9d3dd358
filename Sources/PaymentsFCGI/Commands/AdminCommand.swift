import ArgumentParser
import Foundation
import Handlers
import MariaStore

/// `payments-fcgi admin add|list|remove`: who may sign in to the admin page.
struct AdminCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "admin", abstract: "Manage the admin page's accounts.", subcommands: [Add.self, List.self, Remove.self])

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create an admin account, or set a new password for one (its sessions end).",
            discussion: """
                The password is read from standard input (one line) or, on a terminal, asked for without echo: never from the \
                command line, where other users could read it in the process list. With --totp a new authenticator secret is \
                made and printed once as an otpauth:// URI; from then on signing in also needs the app's six-digit code.
                """)
        @OptionGroup var options: ConfigurationOptions
        @Argument(help: "The admin's email address.") var email: String
        @Flag(help: "Require a TOTP code (a new secret is printed once).") var totp = false
        @Flag(help: "Stop requiring a TOTP code.") var noTOTP = false

        func run() throws {
            guard let address = CustomerRepository.normalized(email), address.contains("@") else { throw ValidationError("give the admin's email address") }
            guard !(totp && noTOTP) else { throw ValidationError("--totp and --no-totp contradict each other") }
            let password = try Self.readPassword()
            guard password.count >= 12 else {
                StandardError.write("the password must be at least 12 characters\n")
                throw ExitCode(1)
            }
            let secret = totp ? SecureRandom().bytes(20) : nil
            let (id, created) = try options.withContext { context -> (Int64, Bool) in
                let hash = try PasswordHash.make(password, random: context.random)
                let store = context.store
                return try store.transaction { connection in
                    let saved = try AdminRepository(connection, prefix: store.prefix).save(
                        email: address, passwordHash: hash, totpSecret: secret,
                        clearTOTP: noTOTP, now: context.clock.now)
                    try AuditLog(connection, prefix: store.prefix).record(
                        subject: "admin", id: String(saved.id), action: saved.created ? "added" : "password_changed", before: nil,
                        after: secret != nil ? "totp" : noTOTP ? "no_totp" : nil, actor: "operator:cli", now: context.clock.now)
                    return saved
                }
            }
            print("\(created ? "added" : "updated") admin \(address) (id \(id))")
            if let secret {
                print("TOTP: add this to an authenticator app (shown once):")
                print(TOTP.uri(secret: secret, account: address, issuer: "PaymentsFCGI"))
            }
        }

        /// One line from standard input; on a terminal, asked for without echo.
        static func readPassword() throws -> String {
            if isatty(0) == 1 {
                StandardError.write("Password: ")
                var saved = termios()
                tcgetattr(0, &saved)
                var silent = saved
                silent.c_lflag &= ~tcflag_t(ECHO)
                tcsetattr(0, TCSANOW, &silent)
                defer {
                    tcsetattr(0, TCSANOW, &saved)
                    StandardError.write("\n")
                }
                return readLine(strippingNewline: true) ?? ""
            }
            guard let line = readLine(strippingNewline: true) else {
                StandardError.write("no password on standard input\n")
                throw ExitCode(1)
            }
            return line
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the admin accounts.")
        @OptionGroup var options: ConfigurationOptions
        func run() throws {
            let emails = try options.withContext { context in
                try context.store.withConnection { try AdminRepository($0, prefix: context.store.prefix).emails() }
            }
            if emails.isEmpty { print("no admin accounts") }
            for email in emails { print(email) }
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove an admin account and end its sessions.")
        @OptionGroup var options: ConfigurationOptions
        @Argument var email: String
        func run() throws {
            let address = CustomerRepository.normalized(email) ?? ""
            let removed = try options.withContext { context in
                try context.store.transaction { connection -> Bool in
                    guard let id = try AdminRepository(connection, prefix: context.store.prefix).remove(email: address) else { return false }
                    try AuditLog(connection, prefix: context.store.prefix).record(
                        subject: "admin", id: String(id), action: "removed", before: nil,
                        after: nil, actor: "operator:cli", now: context.clock.now)
                    return true
                }
            }
            guard removed else {
                StandardError.write("no admin \(address)\n")
                throw ExitCode(1)
            }
            print("removed admin \(address)")
        }
    }
}
