import Foundation
import Logging
import MariaStore

/// Reads the INI file, applies `PFC_SECTION_KEY` environment overrides, validates every value
/// and reports all problems at once, each naming its key and where it came from.
///
/// Secrets (`database.password`) may also come from a file named by `…_file` (or the
/// `PFC_…_FILE` variable), so they need not sit in the main file or in `ps` output.
public struct ConfigurationLoader {
    /// One known key: its documentation lives in README's configuration reference.
    public struct Key: Sendable {
        public let name: String
        public let secret: Bool

        /// The environment variable that overrides it: `database.password` → `PFC_DATABASE_PASSWORD`.
        public var environmentName: String {
            "PFC_" + name.uppercased().replacingOccurrences(of: ".", with: "_")
        }
    }

    public static let keys: [Key] = [
        Key(name: "server.listen", secret: false),
        Key(name: "server.workers", secret: false),
        Key(name: "server.mount_prefix", secret: false),
        Key(name: "server.max_body_bytes", secret: false),
        Key(name: "server.socket_mode", secret: false),
        Key(name: "server.drain_timeout_seconds", secret: false),
        Key(name: "server.request_read_timeout_seconds", secret: false),
        Key(name: "server.allowed_peers", secret: false),
        Key(name: "server.liveness_listen", secret: false),
        Key(name: "database.socket", secret: false),
        Key(name: "database.host", secret: false),
        Key(name: "database.port", secret: false),
        Key(name: "database.hosts", secret: false),
        Key(name: "database.name", secret: false),
        Key(name: "database.user", secret: false),
        Key(name: "database.password", secret: true),
        Key(name: "database.table_prefix", secret: false),
        Key(name: "database.connect_timeout_seconds", secret: false),
        Key(name: "database.lock_wait_timeout_seconds", secret: false),
        Key(name: "stripe.webhook_secret", secret: true),
        Key(name: "stripe.mode", secret: false),
        Key(name: "stripe.tolerance_seconds", secret: false),
        Key(name: "stripe.secret_key", secret: true),
        Key(name: "stripe.api_base", secret: false),
        Key(name: "stripe.api_version", secret: false),
        Key(name: "stripe.timeout_seconds", secret: false),
        Key(name: "stripe.total_timeout_seconds", secret: false),
        Key(name: "stripe.concurrent_calls", secret: false),
        Key(name: "licensing.key_pepper", secret: true),
        Key(name: "licensing.key_prefix", secret: false),
        Key(name: "licensing.key_encryption_key", secret: true),
        Key(name: "licensing.past_due_grace_days", secret: false),
        Key(name: "licensing.signing_key", secret: true),
        Key(name: "licensing.staging_limit", secret: false),
        Key(name: "licensing.staging_domains", secret: false),
        Key(name: "licensing.stale_days", secret: false),
        Key(name: "licensing.churn_limit", secret: false),
        Key(name: "licensing.lease_hours", secret: false),
        Key(name: "licensing.cache_ttl_seconds", secret: false),
        Key(name: "licensing.failed_lookups_per_address", secret: false),
        Key(name: "licensing.failed_lookups_per_network", secret: false),
        Key(name: "api.key", secret: true),
        Key(name: "api.admin_key", secret: true),
        Key(name: "checkout.allowed_origins", secret: false),
        Key(name: "checkout.public_url", secret: false),
        Key(name: "checkout.return_url", secret: false),
        Key(name: "checkout.max_quantity", secret: false),
        Key(name: "checkout.key_display_minutes", secret: false),
        Key(name: "checkout.templates_dir", secret: false),
        Key(name: "woocommerce.url", secret: false),
        Key(name: "woocommerce.consumer_key", secret: true),
        Key(name: "woocommerce.consumer_secret", secret: true),
        Key(name: "mail.from", secret: false),
        Key(name: "mail.transport", secret: false),
        Key(name: "mail.smtp_host", secret: false),
        Key(name: "mail.smtp_port", secret: false),
        Key(name: "mail.smtp_security", secret: false),
        Key(name: "mail.smtp_user", secret: false),
        Key(name: "mail.smtp_password", secret: true),
        Key(name: "mail.smtp_ca_file", secret: false),
        Key(name: "mail.sendmail_path", secret: false),
        Key(name: "mail.timeout_seconds", secret: false),
        Key(name: "mail.templates_dir", secret: false),
        Key(name: "mail.site_name", secret: false),
        Key(name: "mail.account_url", secret: false),
        Key(name: "delivery.max_attempts", secret: false),
        Key(name: "delivery.retry_base_seconds", secret: false),
        Key(name: "delivery.interval_seconds", secret: false),
        Key(name: "retention.outbox_days", secret: false),
        Key(name: "retention.event_payload_days", secret: false),
        Key(name: "retention.checkout_days", secret: false),
        Key(name: "releases.directory", secret: false),
        Key(name: "releases.delivery", secret: false),
        Key(name: "releases.accel_location", secret: false),
        Key(name: "releases.link_hours", secret: false),
        Key(name: "retention.delivered_body_days", secret: false),
        Key(name: "notifications.url", secret: false),
        Key(name: "notifications.secret", secret: true),
        Key(name: "log.level", secret: false),
        Key(name: "admin.session_hours", secret: false),
        Key(name: "admin.failures_per_address", secret: false),
        Key(name: "admin.failures_per_account", secret: false),
        Key(name: "metrics.allowed_addresses", secret: false),
    ]

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

    public init(environment: [String: String],
                readFile: @escaping @Sendable (String) throws -> String = { try String(contentsOfFile: $0, encoding: .utf8) },
                fileMode: @escaping @Sendable (String) -> UInt32? = ConfigurationLoader.permissions(of:)) {
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

        // Resolve each key: environment first, then the file, then a secret's *_file.
        var values: [String: (value: String, origin: String)] = [:]
        for key in Self.keys {
            if let value = environment[key.environmentName] {
                values[key.name] = (value, "environment \(key.environmentName)")
            } else if let entry = file.entries[key.name] {
                values[key.name] = (entry.value, "\(fileName) line \(entry.line)")
            }
            if key.secret, values[key.name] == nil {
                let fileKey = key.name + "_file"
                let fromEnvironment = environment[key.environmentName + "_FILE"]
                let path = fromEnvironment ?? file.entries[fileKey]?.value
                if let path, !path.isEmpty {
                    // Other users must not read a secret (nor replace it): group access is
                    // enough for a web server's group (mod_fcgid runs us as www-data).
                    if let mode = fileMode(path), mode & 0o006 != 0 {
                        let origin = fromEnvironment != nil ? "environment \(key.environmentName)_FILE"
                            : "\(fileName) line \(file.entries[fileKey]?.line ?? 0)"
                        problems.append("\(fileKey) = \(path) (\(origin)): the file is \(mode & 0o002 != 0 ? "writable" : "readable") by every user "
                            + "(mode \(String(format: "%04o", mode))); allow only the service's user and group: chmod o-rwx \(path)")
                        continue
                    }
                    do {
                        var secret = try readFile(path)
                        while secret.hasSuffix("\n") || secret.hasSuffix("\r") { secret.removeLast() }
                        values[key.name] = (secret, "file \(path)")
                    } catch {
                        problems.append("\(key.name): cannot read the secret file \(path): \(Self.reason(error))")
                    }
                }
            }
        }

        var builder = Builder(values: values)
        let configuration = builder.build()
        problems += builder.problems
        if let configuration {
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
        let sources = Self.keys.compactMap { key -> Source? in
            guard let resolved = values[key.name] else { return nil }
            let display = key.secret ? (resolved.value.isEmpty ? "(empty)" : "(set)") : resolved.value
            return Source(key: key.name, origin: resolved.origin, display: display)
        }
        if !problems.isEmpty { return .failure(ConfigurationError(problems: problems)) }
        return .success((configuration!, sources, warnings))
    }

    /// Turns resolved text values into typed settings, collecting every problem.
    private struct Builder {
        let values: [String: (value: String, origin: String)]
        var problems: [String] = []

        init(values: [String: (value: String, origin: String)]) { self.values = values }

        mutating func build() -> Configuration? {
            let name = required("database.name")
            let user = required("database.user")
            let socket = optional("database.socket")
            var options = ConnectionOptions(
                socket: socket, host: optional("database.host") ?? "127.0.0.1",
                port: integer("database.port", in: 1...65535) ?? 3306,
                user: user ?? "", password: optional("database.password", allowEmpty: true) ?? "",
                database: name ?? "")
            if let list = optional("database.hosts") {
                if socket != nil || optional("database.host") != nil || optional("database.port") != nil {
                    fail("database.hosts", "replaces database.socket, database.host and database.port: set either")
                }
                if let endpoints = Self.endpoints(list), let first = endpoints.first {
                    switch first {
                    case .socket(let path): options.socket = path
                    case .tcp(let host, let port): (options.host, options.port) = (host, port)
                    }
                    options.alternates = Array(endpoints.dropFirst())
                } else {
                    fail("database.hosts", "must list servers separated by commas, each a socket path (/run/mysqld/mysqld.sock) or host[:port] (10.0.0.2:3306, [fd00::2]:3306)")
                }
            }
            options.connectTimeoutSeconds = integer("database.connect_timeout_seconds", in: 1...120) ?? 5
            options.lockWaitTimeoutSeconds = integer("database.lock_wait_timeout_seconds", in: 1...300) ?? 10

            var configuration = Configuration(database: options)
            if let prefix = optional("database.table_prefix") {
                if let valid = TablePrefix(prefix) {
                    configuration.tablePrefix = valid
                } else {
                    fail("database.table_prefix", "must be 1 to 32 letters, digits or underscores")
                }
            }
            var server = Configuration.Server()
            server.listen = optional("server.listen")
            if let listen = server.listen, !listen.hasPrefix("/"), !Self.isHostPort(listen) {
                fail("server.listen", "must be an absolute unix socket path (/run/payments-fcgi/payments.sock) or host:port (127.0.0.1:9000)")
            }
            server.workers = integer("server.workers", in: 1...256) ?? server.workers
            server.maxBodyBytes = integer("server.max_body_bytes", in: 1024...(16 * 1024 * 1024)) ?? server.maxBodyBytes
            server.drainTimeoutSeconds = integer("server.drain_timeout_seconds", in: 0...600) ?? server.drainTimeoutSeconds
            server.requestReadTimeoutSeconds = integer("server.request_read_timeout_seconds", in: 1...300) ?? server.requestReadTimeoutSeconds
            if let peers = optional("server.allowed_peers") {
                for peer in peers.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !peer.isEmpty {
                    if let address = Self.canonicalAddress(peer) {
                        server.allowedPeers.append(address)
                    } else {
                        fail("server.allowed_peers", "\(peer) is not an IP address (list the web servers' addresses, comma-separated)")
                    }
                }
            }
            server.livenessListen = optional("server.liveness_listen")
            if let liveness = server.livenessListen {
                if !liveness.hasPrefix("/") {
                    fail("server.liveness_listen", "must be an absolute unix socket path (/run/payments-fcgi/liveness.sock)")
                } else if liveness == server.listen {
                    fail("server.liveness_listen", "must differ from server.listen")
                }
            }
            if let prefix = optional("server.mount_prefix", allowEmpty: true) {
                if prefix.isEmpty || prefix == "/" {
                    server.mountPrefix = ""
                } else if prefix.hasPrefix("/"), !prefix.contains("?"), !prefix.contains(" ") {
                    server.mountPrefix = prefix
                } else {
                    fail("server.mount_prefix", "must be a path starting with / (for example /payments), or / for the site root")
                }
            }
            if let mode = optional("server.socket_mode") {
                if let parsed = Int(mode, radix: 8), (0...0o777).contains(parsed) {
                    server.socketMode = parsed
                } else {
                    fail("server.socket_mode", "must be an octal permission such as 0660")
                }
            }
            configuration.server = server
            configuration.stripe = stripe()
            configuration.licensing = licensing()
            configuration.mail = mail()
            configuration.delivery.maxAttempts = integer("delivery.max_attempts", in: 1...100) ?? configuration.delivery.maxAttempts
            configuration.delivery.retryBaseSeconds = integer("delivery.retry_base_seconds", in: 1...86_400) ?? configuration.delivery.retryBaseSeconds
            configuration.delivery.intervalSeconds = integer("delivery.interval_seconds", in: 0...3600) ?? configuration.delivery.intervalSeconds
            configuration.retention.outboxDays = integer("retention.outbox_days", in: 1...3650) ?? configuration.retention.outboxDays
            configuration.retention.eventPayloadDays = integer("retention.event_payload_days", in: 1...3650) ?? configuration.retention.eventPayloadDays
            configuration.retention.checkoutDays = integer("retention.checkout_days", in: 15...3650) ?? configuration.retention.checkoutDays
            configuration.releases = releases()
            configuration.retention.deliveredBodyDays = integer("retention.delivered_body_days", in: 1...3650) ?? configuration.retention.deliveredBodyDays
            if let url = optional("notifications.url") {
                if url.hasPrefix("https://") || url.hasPrefix("http://127.0.0.1") || url.hasPrefix("http://localhost") {
                    configuration.notifications.url = url
                } else {
                    fail("notifications.url", "must be an https:// URL on the WordPress site (plain http only on this machine)")
                }
                if optional("notifications.secret") == nil { fail("notifications.secret", "is required with notifications.url (the receiver checks signatures with it)") }
            }
            if let secret = optional("notifications.secret") {
                if secret.utf8.count < Self.minimumSecretLength { fail("notifications.secret", "must be at least \(Self.minimumSecretLength) characters of random text") }
                configuration.notifications.secret = secret
            }
            if let key = optional("api.admin_key") {
                if key.utf8.count < Self.minimumSecretLength { fail("api.admin_key", "must be at least \(Self.minimumSecretLength) characters of random text") }
                configuration.api.adminKey = key
            }
            if let origins = optional("checkout.allowed_origins") {
                configuration.checkout.allowedOrigins = origins.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
                for origin in configuration.checkout.allowedOrigins where CheckoutURLs.origin(of: origin) != origin {
                    fail("checkout.allowed_origins", "\(origin) is not an origin (scheme://host[:port], no path)")
                }
            }
            configuration.checkout.publicURL = optional("checkout.public_url").map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
            configuration.checkout.returnURL = optional("checkout.return_url")
            configuration.checkout.maxQuantity = integer("checkout.max_quantity", in: 1...10_000) ?? configuration.checkout.maxQuantity
            configuration.checkout.keyDisplayMinutes = integer("checkout.key_display_minutes", in: 0...10_080) ?? configuration.checkout.keyDisplayMinutes
            configuration.checkout.templatesDir = optional("checkout.templates_dir")
            configuration.woocommerce.url = optional("woocommerce.url").map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
            configuration.woocommerce.consumerKey = optional("woocommerce.consumer_key")
            configuration.woocommerce.consumerSecret = optional("woocommerce.consumer_secret")
            if let key = optional("api.key") {
                if key.utf8.count < Self.minimumSecretLength { fail("api.key", "must be at least \(Self.minimumSecretLength) characters of random text (openssl rand -hex 24)") }
                configuration.api.key = key
            }
            configuration.admin.sessionHours = integer("admin.session_hours", in: 1...720) ?? configuration.admin.sessionHours
            configuration.admin.failuresPerAddress = integer("admin.failures_per_address", in: 1...10_000) ?? configuration.admin.failuresPerAddress
            configuration.admin.failuresPerAccount = integer("admin.failures_per_account", in: 1...10_000) ?? configuration.admin.failuresPerAccount
            if let addresses = optional("metrics.allowed_addresses") {
                for address in addresses.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !address.isEmpty {
                    if let canonical = Self.canonicalAddress(address) {
                        configuration.metrics.allowedAddresses.append(canonical)
                    } else {
                        fail("metrics.allowed_addresses", "\(address) is not an IP address (list the scrapers' addresses, comma-separated)")
                    }
                }
            }
            if let level = optional("log.level") {
                if let parsed = Logger.Level(rawValue: level.lowercased()) {
                    configuration.logLevel = parsed
                } else {
                    fail("log.level", "must be one of trace, debug, info, notice, warning, error, critical")
                }
            }
            return problems.isEmpty ? configuration : nil
        }

        private mutating func stripe() -> Configuration.Stripe {
            var stripe = Configuration.Stripe()
            if let secrets = optional("stripe.webhook_secret") {
                stripe.webhookSecrets = secrets.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
                if !stripe.webhookSecrets.allSatisfy({ $0.hasPrefix("whsec_") }) {
                    fail("stripe.webhook_secret", "must be the endpoint's signing secret (whsec_…); separate several with commas")
                } else if !stripe.webhookSecrets.allSatisfy({ $0.utf8.count >= Self.minimumSecretLength }) {
                    fail("stripe.webhook_secret", "each secret must be at least \(Self.minimumSecretLength) characters (Stripe's whsec_ secrets are longer)")
                }
            }
            if let mode = optional("stripe.mode") {
                if let parsed = Configuration.Stripe.Mode(rawValue: mode.lowercased()) { stripe.mode = parsed } else { fail("stripe.mode", "must be test or live") }
            }
            stripe.toleranceSeconds = Int64(integer("stripe.tolerance_seconds", in: 1...86_400) ?? 300)
            stripe.timeoutSeconds = integer("stripe.timeout_seconds", in: 1...120) ?? stripe.timeoutSeconds
            stripe.totalTimeoutSeconds = integer("stripe.total_timeout_seconds", in: 1...300) ?? stripe.totalTimeoutSeconds
            if stripe.totalTimeoutSeconds < stripe.timeoutSeconds {
                fail("stripe.total_timeout_seconds", "must be at least stripe.timeout_seconds (\(stripe.timeoutSeconds))")
            }
            stripe.concurrentCalls = integer("stripe.concurrent_calls", in: 1...256) ?? stripe.concurrentCalls
            if let key = optional("stripe.secret_key") {
                let modeOfKey = key.hasPrefix("sk_live_") || key.hasPrefix("rk_live_") ? "live" : key.hasPrefix("sk_test_") || key.hasPrefix("rk_test_") ? "test" : nil
                if modeOfKey == nil {
                    fail("stripe.secret_key", "must be a Stripe secret key (sk_test_…, sk_live_…) or restricted key (rk_…)")
                } else if modeOfKey != stripe.mode.rawValue {
                    fail("stripe.secret_key", "is a \(modeOfKey!) key but stripe.mode is \(stripe.mode.rawValue)")
                }
                stripe.secretKey = key
            }
            if let base = optional("stripe.api_base") {
                if base.hasPrefix("https://") || base.hasPrefix("http://127.0.0.1") || base.hasPrefix("http://localhost") {
                    stripe.apiBase = base.hasSuffix("/") ? String(base.dropLast()) : base
                } else {
                    fail("stripe.api_base", "must be an https:// URL (plain http only for a local test server)")
                }
            }
            if let version = optional("stripe.api_version") { stripe.apiVersion = version }
            return stripe
        }

        private mutating func mail() -> Configuration.Mail {
            var mail = Configuration.Mail()
            mail.from = optional("mail.from")
            if let from = mail.from, !from.contains("@") { fail("mail.from", "must be an email address, optionally with a name: Shop <shop@example.com>") }
            if let transport = optional("mail.transport") {
                if let parsed = Configuration.Mail.Transport(rawValue: transport) { mail.transport = parsed } else { fail("mail.transport", "must be smtp or sendmail") }
            }
            mail.smtpHost = optional("mail.smtp_host") ?? mail.smtpHost
            mail.smtpPort = integer("mail.smtp_port", in: 1...65535) ?? mail.smtpPort
            if let security = optional("mail.smtp_security") {
                if let parsed = Configuration.Mail.Security(rawValue: security) { mail.smtpSecurity = parsed } else { fail("mail.smtp_security", "must be starttls, tls or plain") }
            }
            mail.smtpUser = optional("mail.smtp_user")
            mail.smtpPassword = optional("mail.smtp_password", allowEmpty: true)
            mail.smtpCAFile = optional("mail.smtp_ca_file")
            mail.sendmailPath = optional("mail.sendmail_path") ?? mail.sendmailPath
            mail.timeoutSeconds = integer("mail.timeout_seconds", in: 1...300) ?? mail.timeoutSeconds
            mail.templatesDir = optional("mail.templates_dir")
            mail.siteName = optional("mail.site_name") ?? mail.siteName
            mail.accountURL = optional("mail.account_url")
            return mail
        }

        private mutating func releases() -> Configuration.Releases {
            var releases = Configuration.Releases()
            if let directory = optional("releases.directory") {
                if directory.hasPrefix("/") { releases.directory = directory.count > 1 && directory.hasSuffix("/") ? String(directory.dropLast()) : directory }
                else { fail("releases.directory", "must be an absolute path") }
            }
            if let delivery = optional("releases.delivery") {
                if let parsed = Configuration.Releases.Delivery(rawValue: delivery.lowercased()) { releases.delivery = parsed } else {
                    fail("releases.delivery", "must be x-accel-redirect (nginx), x-sendfile (Apache with mod_xsendfile) or stream")
                }
            }
            if let location = optional("releases.accel_location") {
                if location.hasPrefix("/") && !location.contains("..") {
                    releases.accelLocation = location.hasSuffix("/") ? location : location + "/"
                } else {
                    fail("releases.accel_location", "must be a path starting with / (the nginx internal location)")
                }
            }
            releases.linkHours = integer("releases.link_hours", in: 1...168) ?? releases.linkHours
            return releases
        }

        private mutating func licensing() -> Configuration.Licensing {
            var licensing = Configuration.Licensing()
            if let pepper = optional("licensing.key_pepper") {
                if pepper.utf8.count < 32 {
                    fail("licensing.key_pepper", "must be at least 32 characters of random text (openssl rand -hex 32)")
                }
                licensing.keyPepper = pepper
            }
            if let key = optional("licensing.key_encryption_key") {
                if let bytes = Hex.decode(key), bytes.count == 32 {
                    licensing.keyEncryptionKey = bytes
                } else {
                    fail("licensing.key_encryption_key", "must be 64 hexadecimal characters (openssl rand -hex 32)")
                }
            }
            licensing.pastDueGraceDays = integer("licensing.past_due_grace_days", in: 0...90) ?? licensing.pastDueGraceDays
            if let key = optional("licensing.signing_key") {
                if let seed = Hex.decode(key), seed.count == 32 {
                    licensing.signingKey = seed
                } else {
                    fail("licensing.signing_key", "must be 64 hexadecimal characters (openssl rand -hex 32)")
                }
            }
            licensing.stagingLimit = integer("licensing.staging_limit", in: 0...100) ?? licensing.stagingLimit
            if let domains = optional("licensing.staging_domains") {
                licensing.stagingDomains = domains.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            }
            licensing.staleDays = integer("licensing.stale_days", in: 1...3650) ?? licensing.staleDays
            licensing.churnLimit = integer("licensing.churn_limit", in: 1...1000) ?? licensing.churnLimit
            licensing.leaseHours = integer("licensing.lease_hours", in: 1...8760) ?? licensing.leaseHours
            licensing.cacheTTLSeconds = integer("licensing.cache_ttl_seconds", in: 60...604_800) ?? licensing.cacheTTLSeconds
            licensing.failedLookupsPerAddress = integer("licensing.failed_lookups_per_address", in: 1...100_000) ?? licensing.failedLookupsPerAddress
            licensing.failedLookupsPerNetwork = integer("licensing.failed_lookups_per_network", in: 1...1_000_000) ?? licensing.failedLookupsPerNetwork
            if let prefix = optional("licensing.key_prefix") {
                if (2...8).contains(prefix.count), prefix.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) {
                    licensing.keyPrefix = prefix.uppercased()
                } else {
                    fail("licensing.key_prefix", "must be 2 to 8 letters or digits")
                }
            }
            return licensing
        }

        private mutating func fail(_ key: String, _ message: String) {
            let origin = values[key]?.origin ?? "default"
            let shown = ConfigurationLoader.keys.first { $0.name == key }?.secret == true ? "(secret)" : "'\(values[key]?.value ?? "")'"
            problems.append("\(key) = \(shown) (\(origin)): \(message)")
        }

        private mutating func required(_ key: String) -> String? {
            guard let value = values[key]?.value, !value.isEmpty else {
                problems.append("\(key) is required but not set (set it in the file or in \(ConfigurationLoader.keys.first { $0.name == key }!.environmentName))")
                return nil
            }
            return value
        }

        /// Keys, peppers and signing secrets shorter than this are refused: they could be guessed.
        static let minimumSecretLength = 24

        private func optional(_ key: String, allowEmpty: Bool = false) -> String? {
            guard let value = values[key]?.value else { return nil }
            return value.isEmpty && !allowEmpty ? nil : value
        }

        private mutating func integer(_ key: String, in range: ClosedRange<Int>) -> Int? {
            guard let text = optional(key) else { return nil }
            guard let value = Int(text), range.contains(value) else {
                fail(key, "must be a whole number from \(range.lowerBound) to \(range.upperBound)")
                return nil
            }
            return value
        }

        /// An IPv4 or IPv6 address in the one spelling `inet_ntop` gives (how peers are compared).
        static func canonicalAddress(_ text: String) -> String? {
            for family in [AF_INET, AF_INET6] {
                var binary = [UInt8](repeating: 0, count: 16)
                guard inet_pton(family, text, &binary) == 1 else { continue }
                var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
                guard inet_ntop(family, binary, &buffer, socklen_t(buffer.count)) != nil else { return nil }
                return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            }
            return nil
        }

        /// `database.hosts`: servers separated by commas, each an absolute socket path or
        /// `host[:port]` (port 3306 when omitted; IPv6 hosts in brackets). Nil when any item is
        /// neither.
        static func endpoints(_ list: String) -> [DatabaseEndpoint]? {
            var endpoints: [DatabaseEndpoint] = []
            for item in list.split(separator: ",", omittingEmptySubsequences: false).map({ $0.trimmingWhitespace() }) {
                if item.hasPrefix("/") {
                    endpoints.append(.socket(item))
                    continue
                }
                var host = Substring(item)
                var port = 3306
                if item.hasPrefix("[") {
                    guard let close = item.firstIndex(of: "]") else { return nil }
                    host = item[item.index(after: item.startIndex)..<close]
                    let after = item[item.index(after: close)...]
                    if !after.isEmpty {
                        guard after.hasPrefix(":"), let number = Int(after.dropFirst()), (1...65535).contains(number) else { return nil }
                        port = number
                    }
                } else if let colon = item.firstIndex(of: ":") {
                    guard let number = Int(item[item.index(after: colon)...]), (1...65535).contains(number) else { return nil }
                    host = item[..<colon]
                    port = number
                }
                guard !host.isEmpty, host.allSatisfy({ $0.isLetter || $0.isNumber || "-.:".contains($0) }) else { return nil }
                endpoints.append(.tcp(host: String(host), port: port))
            }
            return endpoints.isEmpty ? nil : endpoints
        }

        static func isHostPort(_ text: String) -> Bool {
            guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]) else { return false }
            return (1...65535).contains(port)
        }
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
