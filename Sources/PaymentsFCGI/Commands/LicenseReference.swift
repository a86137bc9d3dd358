import ArgumentParser
import Foundation

/// How an operator names a license: its id as an argument, or its key on standard input.
enum LicenseReference {
    /// The id given, or the key read from standard input for `-`. Anything else on the command
    /// line is refused before it is used: a key there is visible to every user (`ps`,
    /// `/proc/PID/cmdline`) and kept in shell history.
    static func read(_ argument: String) throws -> String {
        if Int64(argument) != nil { return argument }
        if argument == "-" {
            let key = (readLine(strippingNewline: true) ?? "").trimmingCharacters(in: .whitespaces)
            guard !key.isEmpty else {
                StandardError.write("no license key on standard input\n")
                throw ExitCode(64)
            }
            return key
        }
        StandardError.write(
            "name the license by its id, or pass - and give its key on standard input "
                + "(a key on the command line is visible to every user and stays in shell history)\n")
        throw ExitCode(64)
    }
}
