import Foundation
import MariaStore

/// Reads the INI file, applies `PFC_SECTION_KEY` environment overrides, validates every value
/// and reports all problems at once, each naming its key and where it came from.
///
/// Secrets (`database.password`) may also come from a file named by `…_file` (or the
/// `PFC_…_FILE` variable), so they need not sit in the main file or in `ps` output.
public struct ConfigurationLoader {
    /// Every known setting, in the table's order (check-config lists them so).
    public static var keys: [Setting] { ConfigurationSettings.all }

    /// Where each effective value came from, for `check-config` (secrets shown as "set").
    public struct Source: Sendable, Equatable {
        public let key: String
        public let origin: String
        public let display: String
    }

    public let environment: [String: String]
    public let readFile: @Sendable (String) throws -> String
    /// A file's permission bits (nil when they cannot be read; the read then reports why).
    public let fileMode: @Sendable (String) -> UInt32?

    public init(
        environment: [String: String],
        readFile: @escaping @Sendable (String) throws -> String = { try String(contentsOfFile: $0, encoding: .utf8) },
        fileMode: @escaping @Sendable (String) -> UInt32? = ConfigurationLoader.permissions(of:)
    ) {
        self.environment = environment
        self.readFile = readFile
        self.fileMode = fileMode
    }

    /// The permission bits of the file at `path` (following links, as reading it does).
    public static func permissions(of path: String) -> UInt32? {
        var status = stat()
        guard stat(path, &status) == 0 else { return nil }
        return UInt32(status.st_mode) & 0o7777
    }

    /// Loads the file at `path` (it must exist) and validates it.
    public func load(path: String) -> Result<(Configuration, [Source], warnings: [String]), ConfigurationError> {
        let text: String
        do {
            text = try readFile(path)
        } catch {
            return .failure(ConfigurationError(problems: ["cannot read the configuration file \(path): \(Self.reason(error))"]))
        }
        return load(text: text, fileName: path)
    }

    /// Validates configuration text; `fileName` is only used in messages.
    public func load(text: String, fileName: String) -> Result<(Configuration, [Source], warnings: [String]), ConfigurationError> {
        let file: INIFile
        switch INIFile.parse(text) {
        case .success(let parsed): file = parsed
        case .failure(let error):
            return .failure(ConfigurationError(problems: error.problems.map { "\(fileName) \($0)" }))
        }

        var problems: [String] = []
        var warnings: [String] = []
        let known = Set(Self.keys.map(\.name))
        let secretFileKeys = Set(Self.keys.filter(\.secret).map { $0.name + "_file" })
        for key in file.order where !known.contains(key) && !secretFileKeys.contains(key) {
            let line = file.entries[key]!.line
            let hint = Self.closest(to: key, in: known.union(secretFileKeys)).map { " (did you mean \($0)?)" } ?? ""
            problems.append("\(fileName) line \(line): unknown key \(key)\(hint)")
        }
        let knownVariables = Set(Self.keys.map(\.environmentName) + Self.keys.filter(\.secret).map { $0.environmentName + "_FILE" } + ["PFC_CONFIG"])
        for name in environment.keys.sorted() where name.hasPrefix("PFC_") && !name.hasPrefix("PFC_TEST_") && !knownVariables.contains(name) {
            warnings.append("environment variable \(name) is not a known setting and is ignored")
        }

        // Resolve each setting: environment first, then the file, then a secret's *_file.
        var values: [String: ResolvedSettings.Value] = [:]
        for setting in Self.keys {
            if let value = environment[setting.environmentName] {
                values[setting.name] = .init(text: value, origin: "environment \(setting.environmentName)")
            } else if let entry = file.entries[setting.name] {
                values[setting.name] = .init(text: entry.value, origin: "\(fileName) line \(entry.line)")
            }
            if setting.secret, values[setting.name] == nil {
                let fileKey = setting.name + "_file"
                let fromEnvironment = environment[setting.environmentName + "_FILE"]
                let path = fromEnvironment ?? file.entries[fileKey]?.value
                if let path, !path.isEmpty {
                    // Other users must not read a secret (nor replace it): group access is
                    // enough for a web server's group (mod_fcgid runs us as www-data).
                    if let mode = fileMode(path), mode & 0o006 != 0 {
                        let origin =
                            fromEnvironment != nil
                            ? "environment \(setting.environmentName)_FILE"
                            : "\(fileName) line \(file.entries[fileKey]?.line ?? 0)"
                        problems.append(
                            "\(fileKey) = \(path) (\(origin)): the file is \(mode & 0o002 != 0 ? "writable" : "readable") by every user "
                                + "(mode \(String(format: "%04o", mode))); allow only the service's user and group: chmod o-rwx \(path)")
                        continue
                    }
                    do {
                        var secret = try readFile(path)
                        while secret.hasSuffix("\n") || secret.hasSuffix("\r") { secret.removeLast() }
                        values[setting.name] = .init(text: secret, origin: "file \(path)")
                    } catch {
                        problems.append("\(setting.name): cannot read the secret file \(path): \(Self.reason(error))")
                    }
                }
            }
        }

        var settings = ResolvedSettings(values: values)
        let configuration = Self.configuration(from: &settings)
        problems += settings.problems
        if problems.isEmpty {
            if configuration.stripe.webhookSecrets.isEmpty {
                warnings.append("stripe.webhook_secret is not set: every webhook delivery will be answered 503 until it is")
            }
            if configuration.licensing.keyPepper == nil || configuration.licensing.keyEncryptionKey == nil {
                warnings.append("licensing.key_pepper or licensing.key_encryption_key is not set: no license key can be issued until both are")
            }
            if configuration.mail.from == nil {
                warnings.append("mail.from is not set: license emails wait in the outbox until mail is configured")
            }
            if configuration.stripe.secretKey == nil {
                warnings.append("stripe.secret_key is not set: sessions that need Stripe's API (line items) cannot be fulfilled until it is")
            }
        }
        let sources = Self.keys.compactMap { setting -> Source? in
            guard let resolved = values[setting.name] else { return nil }
            let display = setting.secret ? (resolved.text.isEmpty ? "(empty)" : "(set)") : resolved.text
            return Source(key: setting.name, origin: resolved.origin, display: display)
        }
        if !problems.isEmpty { return .failure(ConfigurationError(problems: problems)) }
        return .success((configuration, sources, warnings))
    }

    /// Applies every setting in the table to the defaults, then the rules between settings.
    private static func configuration(from settings: inout ResolvedSettings) -> Configuration {
        // database.user and database.name are required settings: these blanks never reach a caller.
        var configuration = Configuration(database: ConnectionOptions(user: "", database: ""))
        for setting in ConfigurationSettings.all {
            guard let value = settings.text(setting.name, acceptingEmpty: setting.parse.acceptsEmpty) else {
                if setting.parse.isRequired { settings.reportMissing(setting) }
                continue
            }
            var reporter = SettingReporter()
            setting.parse.apply(value, &reporter, &configuration)
            for message in reporter.refusals { settings.refuse(setting.name, message) }
        }
        ConfigurationSettings.crossChecks(configuration, &settings)
        return configuration
    }

    private static func reason(_ error: any Error) -> String {
        let nsError = error as NSError
        if let underlying = nsError.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(underlying.code)))
        }
        return nsError.localizedDescription
    }

    /// The known key nearest to a misspelt one (edit distance ≤ 3).
    static func closest(to key: String, in candidates: Set<String>) -> String? {
        func distance(_ a: [Character], _ b: [Character]) -> Int {
            var previous = Array(0...b.count)
            for (i, x) in a.enumerated() {
                var current = [i + 1]
                for (j, y) in b.enumerated() {
                    current.append(min(previous[j + 1] + 1, current[j] + 1, previous[j] + (x == y ? 0 : 1)))
                }
                previous = current
            }
            return previous[b.count]
        }
        let target = Array(key)
        var best: (name: String, distance: Int)?
        for candidate in candidates.sorted() {
            let d = distance(target, Array(candidate))
            if d <= 3, d < best?.distance ?? Int.max { best = (candidate, d) }
        }
        return best?.name
    }
}
