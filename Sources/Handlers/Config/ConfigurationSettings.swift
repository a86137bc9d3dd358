import Foundation
import Logging
import MariaStore

/// Every setting the service knows, in the order `check-config` lists them and README's
/// configuration reference shows them (`check-config --reference` prints that table, and a test
/// holds README to it). Rules that involve two settings are in `crossChecks`, after the table.
public enum ConfigurationSettings {
    public static let all: [Setting] = [
        Setting(
            "server.listen", default: .notSet,
            .custom { value, reporter, configuration in
                configuration.server.listen = value
                if !value.hasPrefix("/"), !AddressSyntax.isHostPort(value) {
                    reporter.refuse("must be an absolute unix socket path (/run/payments-fcgi/payments.sock) or host:port (127.0.0.1:9000)")
                }
            }, "unix socket path or `host:port`; none: the socket inherited on fd 0 (mod_fcgid) or CGI"),
        Setting(
            "server.workers", default: "8", .integer(in: 1...256, \.server.workers),
            "worker threads, each with its own database connection (1–256)"),
        Setting(
            "server.mount_prefix", default: "/payments",
            .custom(acceptingEmpty: true) { value, reporter, configuration in
                if value.isEmpty || value == "/" {
                    configuration.server.mountPrefix = ""
                } else if value.hasPrefix("/"), !value.contains("?"), !value.contains(" ") {
                    configuration.server.mountPrefix = value
                } else {
                    reporter.refuse("must be a path starting with / (for example /payments), or / for the site root")
                }
            }, "the path the service is mounted at on the site (`/` for the root)"),
        Setting(
            "server.max_body_bytes", default: "262144", .integer(in: 1024...(16 * 1024 * 1024), \.server.maxBodyBytes),
            "larger request bodies get 413 without being read (1 KiB–16 MiB)"),
        Setting(
            "server.socket_mode", default: "0660",
            .custom { value, reporter, configuration in
                if let mode = Int(value, radix: 8), (0...0o777).contains(mode) {
                    configuration.server.socketMode = mode
                } else {
                    reporter.refuse("must be an octal permission such as 0660")
                }
            }, "permissions of the unix socket (nginx's or Apache's user must be able to write it)"),
        Setting(
            "server.drain_timeout_seconds", default: "30", .integer(in: 0...600, \.server.drainTimeoutSeconds),
            "how long requests in flight may take to finish after SIGTERM"),
        Setting(
            "server.request_read_timeout_seconds", default: "10", .integer(in: 1...300, \.server.requestReadTimeoutSeconds),
            "how long a request may take to arrive whole from the web server (1–300): a body still arriving then is answered "
                + "`408 request_timeout`; a request whose head has not arrived is closed"),
        Setting(
            "server.allowed_peers", default: .notSet, .ipAddresses(\.server.allowedPeers, whose: "the web servers'"),
            "with a TCP `listen`: the web servers' IP addresses, comma-separated; any other peer is disconnected as soon as it "
                + "connects. Required unless `listen` is a loopback address (`serve` refuses to start, exit 1)"),
        Setting(
            "server.liveness_listen", default: .notSet,
            .custom { value, reporter, configuration in
                configuration.server.livenessListen = value
                if !value.hasPrefix("/") { reporter.refuse("must be an absolute unix socket path (/run/payments-fcgi/liveness.sock)") }
            },
            "a second unix socket, answered by one thread that never waits for the database: every request on it gets the `/livez` "
                + "answer (the nginx snippet routes `/payments/livez` there). Not used under mod_fcgid"),

        Setting(
            "database.socket", default: .notSet, .text(\.database.socket),
            "MariaDB's unix socket; when set, host and port are not used"),
        Setting("database.host", default: "127.0.0.1", .text(\.database.host), "MariaDB host"),
        Setting("database.port", default: "3306", .integer(in: 1...65535, \.database.port), "MariaDB port"),
        // After socket, host and port: the first server listed takes their place.
        Setting(
            "database.hosts", default: .notSet,
            .custom { value, reporter, configuration in
                guard let endpoints = AddressSyntax.databaseEndpoints(value), let first = endpoints.first else {
                    reporter.refuse(
                        "must list servers separated by commas, each a socket path (/run/mysqld/mysqld.sock) or host[:port] (10.0.0.2:3306, [fd00::2]:3306)")
                    return
                }
                switch first {
                case .socket(let path): configuration.database.socket = path
                case .tcp(let host, let port): (configuration.database.host, configuration.database.port) = (host, port)
                }
                configuration.database.alternates = Array(endpoints.dropFirst())
            },
            "instead of socket/host/port: several servers holding the same database, comma-separated, each `host[:port]` (3306 "
                + "when omitted, IPv6 in brackets) or a socket path. Tried in this order; when the server in use is lost or refuses "
                + "work (a Galera node that is not synced, 1047), the next connection tries the servers after it. List only servers "
                + "that take writes (the nodes of a Galera cluster), never a replica (see \"Several web servers, one database cluster\")"),
        Setting(
            "database.name", default: .required, .required(\.database.database),
            "the database (one of its own is recommended; WordPress's works too: the tables carry a prefix)"),
        Setting("database.user", default: .required, .required(\.database.user), "the database user"),
        Setting(
            "database.password", secret: true, default: .empty, .text(\.database.password, acceptingEmpty: true),
            "secret: use `password_file` or `PFC_DATABASE_PASSWORD`"),
        Setting(
            "database.table_prefix", default: "pfc_",
            .custom { value, reporter, configuration in
                if let prefix = TablePrefix(value) {
                    configuration.tablePrefix = prefix
                } else {
                    reporter.refuse("must be 1 to 32 letters, digits or underscores")
                }
            }, "prefix of every table (1–32 letters, digits, `_`)"),
        Setting(
            "database.connect_timeout_seconds", default: "5", .integer(in: 1...120, \.database.connectTimeoutSeconds),
            "connect and login timeout"),
        Setting(
            "database.lock_wait_timeout_seconds", default: "10", .integer(in: 1...300, \.database.lockWaitTimeoutSeconds),
            "InnoDB row-lock wait before the transaction is retried"),

        Setting(
            "stripe.webhook_secret", secret: true, default: .notSet,
            .custom { value, reporter, configuration in
                let secrets = Setting.Parse.items(value)
                configuration.stripe.webhookSecrets = secrets
                if !secrets.allSatisfy({ $0.hasPrefix("whsec_") }) {
                    reporter.refuse("must be the endpoint's signing secret (whsec_…); separate several with commas")
                } else if !secrets.allSatisfy({ $0.utf8.count >= minimumSecretLength }) {
                    reporter.refuse("each secret must be at least \(minimumSecretLength) characters (Stripe's whsec_ secrets are longer)")
                }
            }, "secret, each ≥ 24 characters: the endpoint's signing secret(s), `whsec_…`, comma-separated while rolling"),
        Setting(
            "stripe.mode", default: "test", .choice(\.stripe.mode, ignoringCase: true, otherwise: "must be test or live"),
            "`test` or `live`: events of the other mode are recorded, never applied"),
        Setting(
            "stripe.tolerance_seconds", default: "300", .integer(in: 1...86_400, \.stripe.toleranceSeconds),
            "how far a signature's timestamp may be from now, either way"),
        Setting(
            "stripe.secret_key", secret: true, default: .notSet,
            .custom { value, reporter, configuration in
                // Kept even when refused: its mode is compared with stripe.mode in crossChecks.
                if stripeMode(ofKey: value) == nil {
                    reporter.refuse("must be a Stripe secret key (sk_test_…, sk_live_…) or restricted key (rk_…)")
                }
                configuration.stripe.secretKey = value
            }, "secret: `sk_…`/`rk_…` of the same mode, for Stripe API calls (line items)"),
        Setting(
            "stripe.api_base", default: "https://api.stripe.com",
            .custom { value, reporter, configuration in
                if isHTTPSOrLocal(value) {
                    configuration.stripe.apiBase = value.hasSuffix("/") ? String(value.dropLast()) : value
                } else {
                    reporter.refuse("must be an https:// URL (plain http only for a local test server)")
                }
            }, "Stripe's API (tests point it at a local fake)"),
        Setting(
            "stripe.api_version", default: "2026-05-27.dahlia", .text(\.stripe.apiVersion),
            "the `Stripe-Version` every call pins"),
        Setting(
            "stripe.timeout_seconds", default: "10", .integer(in: 1...120, \.stripe.timeoutSeconds),
            "one attempt of a call to Stripe (a deadline, however the server trickles); retried up to 3 times with backoff"),
        Setting(
            "stripe.total_timeout_seconds", default: "20", .integer(in: 1...300, \.stripe.totalTimeoutSeconds),
            "a whole call, retries included; keep it below the web server's read timeout (30 s in the shipped files)"),
        Setting(
            "stripe.concurrent_calls", default: "2", .integer(in: 1...256, \.stripe.concurrentCalls),
            "Stripe calls request handlers of one process may have in flight; more are answered 503 at once (the webhook is not counted)"),

        Setting(
            "licensing.key_pepper", secret: true, default: .notSet,
            .randomText(\.licensing.keyPepper, atLeast: 32, advice: " (openssl rand -hex 32)"),
            "secret, ≥ 32 characters: keys are stored as HMAC-SHA256 under it (never change it: stored keys would stop matching)"),
        Setting(
            "licensing.key_prefix", default: "PFC",
            .custom { value, reporter, configuration in
                if (2...8).contains(value.count), value.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) {
                    configuration.licensing.keyPrefix = value.uppercased()
                } else {
                    reporter.refuse("must be 2 to 8 letters or digits")
                }
            }, "the prefix shown on keys"),
        Setting(
            "licensing.key_encryption_key", secret: true, default: .notSet, .key32(\.licensing.keyEncryptionKey),
            "secret, 64 hex characters: seals a new key until its email is sent"),
        Setting(
            "licensing.past_due_grace_days", default: "7", .integer(in: 0...90, \.licensing.pastDueGraceDays),
            "days a subscription license outlives its period while a renewal is retried"),
        Setting(
            "licensing.signing_key", secret: true, default: .notSet, .key32(\.licensing.signingKey),
            "secret, 64 hex characters: the Ed25519 seed that signs license answers (none: unsigned)"),
        Setting(
            "licensing.staging_limit", default: "3", .integer(in: 0...100, \.licensing.stagingLimit),
            "staging sites per license that use no seat"),
        Setting(
            "licensing.staging_domains", default: .notSet, .list(\.licensing.stagingDomains),
            "more staging host suffixes, comma-separated"),
        Setting(
            "licensing.stale_days", default: "90", .integer(in: 1...3650, \.licensing.staleDays),
            "an activation unseen this long frees its seat"),
        Setting(
            "licensing.churn_limit", default: "10", .integer(in: 1...1000, \.licensing.churnLimit),
            "activations plus deactivations per license per 24 h"),
        Setting(
            "licensing.lease_hours", default: "72", .integer(in: 1...8760, \.licensing.leaseHours),
            "`valid_until` of an active answer (never past the license's expiry)"),
        Setting(
            "licensing.cache_ttl_seconds", default: "43200", .integer(in: 60...604_800, \.licensing.cacheTTLSeconds),
            "`cache_ttl` of an active answer (others: at most an hour)"),
        Setting(
            "licensing.failed_lookups_per_address", default: "20", .integer(in: 1...100_000, \.licensing.failedLookupsPerAddress),
            "failed key lookups per client address per 10 minutes"),
        Setting(
            "licensing.failed_lookups_per_network", default: "100", .integer(in: 1...1_000_000, \.licensing.failedLookupsPerNetwork),
            "failed key lookups per /24 (IPv6: /64) per 10 minutes"),

        Setting(
            "api.key", secret: true, default: .notSet,
            .randomText(\.api.key, atLeast: minimumSecretLength, advice: " (openssl rand -hex 24)"),
            "secret, ≥ 24 characters: what the WordPress site sends as `Authorization: Bearer …`"),
        Setting(
            "api.admin_key", secret: true, default: .notSet, .randomText(\.api.adminKey, atLeast: minimumSecretLength),
            "secret, ≥ 24 characters: the key for `POST /refunds` (none: refunds through the API are off)"),

        Setting(
            "checkout.allowed_origins", default: .notSet,
            .custom { value, reporter, configuration in
                configuration.checkout.allowedOrigins = Setting.Parse.items(value)
                for origin in configuration.checkout.allowedOrigins where CheckoutURLs.origin(of: origin) != origin {
                    reporter.refuse("\(origin) is not an origin (scheme://host[:port], no path)")
                }
            }, "origins success, cancel and return URLs may use, comma-separated (`https://shop.example.com`)"),
        Setting(
            "checkout.public_url", default: .notSet, .url(\.checkout.publicURL),
            "this service's public address (`https://shop.example.com/payments`), for its success page and package links "
                + "(none: package links use the scheme and host the request came to)"),
        Setting(
            "checkout.return_url", default: .notSet, .text(\.checkout.returnURL),
            "\"back to the shop\" links and the default cancel and portal return URL"),
        Setting(
            "checkout.max_quantity", default: "100", .integer(in: 1...10_000, \.checkout.maxQuantity),
            "the largest quantity a checkout may ask for"),
        Setting(
            "checkout.key_display_minutes", default: "60", .integer(in: 0...10_080, \.checkout.keyDisplayMinutes),
            "how long the success page may show a new key (0: never)"),
        Setting(
            "checkout.templates_dir", default: .notSet, .text(\.checkout.templatesDir),
            "folder with `page.html` replacing the success page's frame"),

        Setting("woocommerce.url", default: .notSet, .url(\.woocommerce.url), "the WooCommerce site, for order updates"),
        Setting(
            "woocommerce.consumer_key", secret: true, default: .notSet, .text(\.woocommerce.consumerKey),
            "secret: the consumer key of its REST API key pair"),
        Setting(
            "woocommerce.consumer_secret", secret: true, default: .notSet, .text(\.woocommerce.consumerSecret),
            "secret: the consumer secret of its REST API key pair"),

        Setting(
            "mail.from", default: .notSet,
            .custom { value, reporter, configuration in
                configuration.mail.from = value
                if !value.contains("@") { reporter.refuse("must be an email address, optionally with a name: Shop <shop@example.com>") }
            }, "sender, `Shop <shop@example.com>` (none: emails wait in the outbox)"),
        Setting(
            "mail.transport", default: "smtp", .choice(\.mail.transport, otherwise: "must be smtp or sendmail"),
            "`smtp` or `sendmail`"),
        Setting("mail.smtp_host", default: "127.0.0.1", .text(\.mail.smtpHost), "the SMTP server"),
        Setting("mail.smtp_port", default: "587", .integer(in: 1...65535, \.mail.smtpPort), "the SMTP server's port"),
        Setting(
            "mail.smtp_security", default: "starttls", .choice(\.mail.smtpSecurity, otherwise: "must be starttls, tls or plain"),
            "`starttls` (required), `tls` (implicit, port 465) or `plain`"),
        Setting("mail.smtp_user", default: .notSet, .text(\.mail.smtpUser), "the user for SMTP AUTH"),
        Setting(
            "mail.smtp_password", secret: true, default: .notSet, .text(\.mail.smtpPassword, acceptingEmpty: true),
            "secret: the password for SMTP AUTH"),
        Setting(
            "mail.smtp_ca_file", default: .described("system CAs"), .text(\.mail.smtpCAFile),
            "a CA file to trust for the SMTP server's certificate"),
        Setting(
            "mail.sendmail_path", default: "/usr/sbin/sendmail", .text(\.mail.sendmailPath),
            "the sendmail program (may include arguments)"),
        Setting(
            "mail.timeout_seconds", default: "20", .integer(in: 1...300, \.mail.timeoutSeconds),
            "connect timeout (the whole exchange: three times that)"),
        Setting(
            "mail.templates_dir", default: .notSet, .text(\.mail.templatesDir),
            "folder of template files replacing the built-in ones"),
        Setting("mail.site_name", default: "our shop", .text(\.mail.siteName), "the shop's name in emails"),
        Setting(
            "mail.account_url", default: .notSet, .text(\.mail.accountURL),
            "where buyers manage purchases and subscriptions (shown in emails)"),

        Setting(
            "delivery.max_attempts", default: "12", .integer(in: 1...100, \.delivery.maxAttempts),
            "attempts before an outbox message is dead"),
        Setting(
            "delivery.retry_base_seconds", default: "30", .integer(in: 1...86_400, \.delivery.retryBaseSeconds),
            "first retry delay, doubling each attempt (at most six hours)"),
        Setting(
            "delivery.interval_seconds", default: "5", .integer(in: 0...3600, \.delivery.intervalSeconds),
            "how often `serve`'s deliverer looks at the outbox (0: off, use cron)"),

        Setting(
            "retention.outbox_days", default: "90", .integer(in: 1...3650, \.retention.outboxDays),
            "delivered and dead outbox messages (they hold buyers' addresses) are removed after this"),
        Setting(
            "retention.event_payload_days", default: "90", .integer(in: 1...3650, \.retention.eventPayloadDays),
            "payloads kept for failed events (`events replay`) are cleared after this"),
        Setting(
            "retention.checkout_days", default: "60", .integer(in: 15...3650, \.retention.checkoutDays),
            "records of checkouts that never became an order are removed after this (bank debits take up to two weeks)"),

        Setting(
            "releases.directory", default: "/var/lib/payments-fcgi/releases",
            .custom { value, reporter, configuration in
                if value.hasPrefix("/") {
                    configuration.releases.directory = value.count > 1 && value.hasSuffix("/") ? String(value.dropLast()) : value
                } else {
                    reporter.refuse("must be an absolute path")
                }
            }, "where `release add` keeps packages: outside the web root, readable by the service (and by the web server for the two below)"),
        Setting(
            "releases.delivery", default: "stream",
            .choice(
                \.releases.delivery, ignoringCase: true,
                otherwise: "must be x-accel-redirect (nginx), x-sendfile (Apache with mod_xsendfile) or stream"),
            "how a checked download is sent: `x-accel-redirect` (nginx), `x-sendfile` (Apache with mod_xsendfile) or `stream` "
                + "(the service, 64 KiB at a time)"),
        Setting(
            "releases.accel_location", default: "/payments-releases/",
            .custom { value, reporter, configuration in
                if value.hasPrefix("/") && !value.contains("..") {
                    configuration.releases.accelLocation = value.hasSuffix("/") ? value : value + "/"
                } else {
                    reporter.refuse("must be a path starting with / (the nginx internal location)")
                }
            }, "the nginx `internal` location aliased to `releases.directory`"),
        Setting("releases.link_hours", default: "24", .integer(in: 1...168, \.releases.linkHours), "how long a package link works"),
        Setting(
            "retention.delivered_body_days", default: "30", .integer(in: 1...3650, \.retention.deliveredBodyDays),
            "a delivered message's body and recipient are cleared after this (its kind and dates stay until `retention.outbox_days`)"),

        Setting(
            "notifications.url", default: .notSet,
            .custom { value, reporter, configuration in
                if isHTTPSOrLocal(value) {
                    configuration.notifications.url = value
                } else {
                    reporter.refuse("must be an https:// URL on the WordPress site (plain http only on this machine)")
                }
            }, "the WordPress endpoint that receives signed notifications"),
        Setting(
            "notifications.secret", secret: true, default: .notSet,
            .randomText(\.notifications.secret, atLeast: minimumSecretLength),
            "secret, ≥ 24 characters, for their signatures"),

        Setting(
            "log.level", default: "info",
            .choice(\.logLevel, ignoringCase: true, otherwise: "must be one of trace, debug, info, notice, warning, error, critical"),
            "`trace`, `debug`, `info`, `notice`, `warning`, `error`, `critical`"),

        Setting(
            "admin.session_hours", default: "8", .integer(in: 1...720, \.admin.sessionHours),
            "how long an admin session lasts from sign-in (1–720)"),
        Setting(
            "admin.failures_per_address", default: "20", .integer(in: 1...10_000, \.admin.failuresPerAddress),
            "failed sign-ins per 15 minutes from one client address (three times as many from its /24 or /64) before every attempt from it is refused (`429`) until the window ends"
        ),
        Setting(
            "admin.failures_per_account", default: "10", .integer(in: 1...10_000, \.admin.failuresPerAccount),
            "failed sign-ins per 15 minutes for one account before every attempt on it from a browser that never signed in to it is refused (`429`) until the window ends"
        ),

        Setting(
            "metrics.allowed_addresses", default: .notSet, .ipAddresses(\.metrics.allowedAddresses, whose: "the scrapers'"),
            "client addresses (`REMOTE_ADDR`) that may read `GET /metrics`, comma-separated; none: the endpoint is off (`404`)"),
    ]

    /// Rules between settings, checked once every setting is applied (`configuration` holds
    /// what was accepted; `settings` the text as given, for rules about what was set at all).
    static func crossChecks(_ configuration: Configuration, _ settings: inout ResolvedSettings) {
        if settings.text("database.hosts") != nil,
            settings.text("database.socket") != nil || settings.text("database.host") != nil || settings.text("database.port") != nil
        {
            settings.refuse("database.hosts", "replaces database.socket, database.host and database.port: set either")
        }
        if let liveness = configuration.server.livenessListen, liveness.hasPrefix("/"), liveness == configuration.server.listen {
            settings.refuse("server.liveness_listen", "must differ from server.listen")
        }
        let stripe = configuration.stripe
        if stripe.totalTimeoutSeconds < stripe.timeoutSeconds {
            settings.refuse("stripe.total_timeout_seconds", "must be at least stripe.timeout_seconds (\(stripe.timeoutSeconds))")
        }
        if let key = stripe.secretKey, let modeOfKey = stripeMode(ofKey: key), modeOfKey != stripe.mode {
            settings.refuse("stripe.secret_key", "is a \(modeOfKey.rawValue) key but stripe.mode is \(stripe.mode.rawValue)")
        }
        // Set at all, even when refused: a notification URL needs its secret either way.
        if settings.text("notifications.url") != nil, settings.text("notifications.secret") == nil {
            settings.refuse("notifications.secret", "is required with notifications.url (the receiver checks signatures with it)")
        }
    }

    /// The setting called `name`, if there is one.
    static func named(_ name: String) -> Setting? {
        all.first { $0.name == name }
    }

    /// Keys and secrets shorter than this are refused: they could be guessed.
    static let minimumSecretLength = 24

    /// Which mode a Stripe secret (`sk_…`) or restricted (`rk_…`) key belongs to; nil when it is neither.
    static func stripeMode(ofKey key: String) -> Configuration.Stripe.Mode? {
        if key.hasPrefix("sk_live_") || key.hasPrefix("rk_live_") { return .live }
        if key.hasPrefix("sk_test_") || key.hasPrefix("rk_test_") { return .test }
        return nil
    }

    /// An `https://` URL, or plain `http://` to this machine (a test server, a local receiver).
    static func isHTTPSOrLocal(_ url: String) -> Bool {
        url.hasPrefix("https://") || url.hasPrefix("http://127.0.0.1") || url.hasPrefix("http://localhost")
    }
}
