import Logging
import MariaStore

/// The service's settings, validated. Built by `ConfigurationLoader` from the INI file and
/// `PFC_…` environment overrides.
public struct Configuration: Sendable {
    public struct Server: Sendable {
        /// A unix socket path or `host:port`; nil means "use the socket inherited on fd 0"
        /// (mod_fcgid, spawn-fcgi) or, when there is none, answer one CGI request.
        public var listen: String?
        public var workers: Int = 8
        public var mountPrefix: String = "/payments"
        public var maxBodyBytes: Int = 256 * 1024
        /// Permissions of a unix socket we create (octal in the file, e.g. 0660).
        public var socketMode: Int = 0o660
        /// Seconds to let requests in flight finish after SIGTERM before exiting anyway.
        public var drainTimeoutSeconds: Int = 30
        /// Seconds a request may take to arrive whole (head and body) from the web server; a
        /// body still arriving then is answered 408, a head still arriving is dropped.
        public var requestReadTimeoutSeconds: Int = 10
        /// The only peer addresses a TCP `listen` accepts FastCGI from (the web servers); empty:
        /// any, which is allowed only on a loopback address.
        public var allowedPeers: [String] = []
        /// A second socket answered by one thread that never waits for the database, with the
        /// `/livez` answer for every request (the web server routes `/livez` there).
        public var livenessListen: String?

        public init() {}

        /// Why serving on `listen` would be unsafe with these settings, or nil: a TCP address
        /// other than loopback without `allowed_peers` lets anyone who can reach it speak
        /// FastCGI to us, and so claim any `REMOTE_ADDR` (and with it get past the per-address
        /// limits).
        public func exposureProblem(listen: String) -> String? {
            guard !listen.hasPrefix("/"), allowedPeers.isEmpty else { return nil }
            let host = listen.split(separator: ":", omittingEmptySubsequences: false).dropLast().joined(separator: ":")
            if Self.isLoopback(host) { return nil }
            return "server.listen = \(listen) takes FastCGI from every host that can reach it, and such a host could claim any client "
                + "address: set server.allowed_peers to the web server's addresses, or listen on a unix socket or 127.0.0.1"
        }

        /// `localhost`, 127.0.0.0/8 and ::1. An empty host or `*` means every interface.
        static func isLoopback(_ host: String) -> Bool {
            let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
            if bare == "localhost" || bare == "::1" { return true }
            let octets = bare.split(separator: ".", omittingEmptySubsequences: false)
            return octets.count == 4 && octets.first == "127" && octets.allSatisfy { UInt8($0) != nil }
        }
    }

    /// Stripe: the webhook endpoint's secrets and the API the service calls.
    public struct Stripe: Sendable {
        public enum Mode: String, Sendable { case test, live }
        /// Endpoint secrets (`whsec_…`); several while a rolled secret is still valid.
        public var webhookSecrets: [String] = []
        /// Events from the other mode are recorded and answered `other_mode`, never applied.
        public var mode: Mode = .test
        public var toleranceSeconds: Int64 = 300
        /// The API secret key (`sk_…` or a restricted `rk_…`); nil: no API calls possible.
        public var secretKey: String?
        /// Stripe's API; tests point it at a local fake that speaks the same wire format.
        public var apiBase: String = "https://api.stripe.com"
        /// The API version every request pins (`Stripe-Version`).
        public var apiVersion: String = "2026-05-27.dahlia"
        /// Seconds one attempt may take.
        public var timeoutSeconds: Int = 10
        /// Seconds a whole call may take, retries included: below the web server's read timeout
        /// (30 s in the shipped nginx and Apache files), so callers hear our answer.
        public var totalTimeoutSeconds: Int = 20
        /// Stripe calls the request handlers of one process may have in flight at once; more
        /// are answered 503 at once, so license checks and webhooks keep their workers.
        public var concurrentCalls: Int = 2

        public init() {}
    }

    /// License keys.
    public struct Licensing: Sendable {
        /// Keys are stored only as HMAC-SHA256 under this pepper; nil: no key can be issued.
        public var keyPepper: String?
        public var keyPrefix: String = "PFC"
        /// 32 bytes that seal a new key while it waits for its email; nil: no key can be issued.
        public var keyEncryptionKey: [UInt8]?
        /// Days a subscription's license stays valid past its period end while a renewal
        /// payment is retried (`past_due`).
        public var pastDueGraceDays: Int = 7
        /// Signs every license answer (Ed25519, from a 32-byte seed); nil: answers are unsigned.
        public var signingKey: [UInt8]?
        /// Staging and development copies of a site that do not use a seat, per license.
        public var stagingLimit: Int = 3
        /// More host suffixes that count as staging (agency preview domains).
        public var stagingDomains: [String] = []
        /// Activations not seen by a verify for this many days free their seat.
        public var staleDays: Int = 90
        /// Activations plus deactivations allowed per license per 24 hours.
        public var churnLimit: Int = 10
        /// How long a plugin may keep trusting a signed `active` answer while we are unreachable.
        public var leaseHours: Int = 72
        /// How long a plugin may cache an answer before asking again.
        public var cacheTTLSeconds: Int = 43_200
        /// Failed key lookups allowed per client address, and per /24 network, per 10 minutes.
        public var failedLookupsPerAddress: Int = 20
        public var failedLookupsPerNetwork: Int = 100

        public init() {}
    }

    /// Server-to-server callers (the WordPress site).
    public struct API: Sendable {
        /// The key the WordPress site sends as `Authorization: Bearer …`; nil: those endpoints answer 401.
        public var key: String?
        /// A second key for money-moving calls (refunds); nil: refunds through the API are off.
        public var adminKey: String?

        public init() {}
    }

    /// Creating Checkout Sessions and the success page.
    public struct Checkout: Sendable {
        /// Origins (scheme://host[:port]) that success and cancel URLs may point to.
        public var allowedOrigins: [String] = []
        /// This service's public address (`https://shop.example.com/payments`), for its own success page.
        public var publicURL: String?
        /// Where "back to the shop" links go.
        public var returnURL: String?
        public var maxQuantity = 100
        /// Minutes the success page may show a new license key before it only says it was emailed.
        public var keyDisplayMinutes = 60
        /// Folder with `success.html` replacing the built-in page.
        public var templatesDir: String?

        public init() {}
    }

    /// WooCommerce REST credentials, to mark orders paid or refunded.
    public struct WooCommerce: Sendable {
        public var url: String?
        public var consumerKey: String?
        public var consumerSecret: String?

        public init() {}
    }

    /// Outgoing mail (license keys, receipts) through the outbox.
    public struct Mail: Sendable {
        public enum Transport: String, Sendable { case smtp, sendmail }
        public enum Security: String, Sendable { case plain, starttls, tls }
        /// nil: no mail is sent (messages wait in the outbox until mail is configured).
        public var from: String?
        public var transport: Transport = .smtp
        public var smtpHost = "127.0.0.1"
        public var smtpPort = 587
        public var smtpSecurity: Security = .starttls
        public var smtpUser: String?
        public var smtpPassword: String?
        public var smtpCAFile: String?
        public var sendmailPath = "/usr/sbin/sendmail"
        public var timeoutSeconds = 20
        /// Folder of template files overriding the built-in ones (`license_email.subject|txt|html`).
        public var templatesDir: String?
        /// Shown in emails: the shop's name, and where buyers manage their account.
        public var siteName = "our shop"
        public var accountURL: String?

        public init() {}
    }

    /// The outbox deliverer: retries and its thread in `serve`.
    public struct Delivery: Sendable {
        /// Attempts before a message is marked dead.
        public var maxAttempts = 12
        /// First retry delay; it doubles each attempt (with jitter), up to six hours.
        public var retryBaseSeconds = 30
        /// Seconds between looks at the outbox from `serve`'s deliverer thread; 0 disables it.
        public var intervalSeconds = 5

        public init() {}
    }

    /// How long what only grows is kept (`payments-fcgi prune`).
    public struct Retention: Sendable {
        /// Delivered and dead outbox messages (they hold buyers' addresses).
        public var outboxDays = 90
        /// Payloads kept for failed events (for `events replay`).
        public var eventPayloadDays = 90
        /// Records of checkouts that never became an order.
        public var checkoutDays = 60
        /// Delivered messages keep their body (which may name the buyer) this long, then only
        /// their kind, dates and id until `outboxDays`.
        public var deliveredBodyDays = 30

        public init() {}
    }

    /// Release packages plugins update to (`payments-fcgi release add`).
    public struct Releases: Sendable {
        /// How the web server or the service sends a package once its link checks out.
        public enum Delivery: String, Sendable, CaseIterable {
            /// nginx: `X-Accel-Redirect` to the `internal` location `accelLocation`.
            case xAccelRedirect = "x-accel-redirect"
            /// Apache with mod_xsendfile: `X-Sendfile` with the file's full path.
            case xSendfile = "x-sendfile"
            /// The service reads the file and writes it out, a bounded buffer at a time.
            case stream
        }

        /// Where release files are kept: outside the web root, readable by the service (and,
        /// for X-Accel-Redirect and X-Sendfile, by the web server).
        public var directory = "/var/lib/payments-fcgi/releases"
        public var delivery: Delivery = .stream
        /// The nginx `internal` location that maps onto `directory`.
        public var accelLocation = "/payments-releases/"
        /// Hours a package link stays good.
        public var linkHours = 24

        public init() {}
    }

    /// Signed notifications to the seller's WordPress site.
    public struct Notifications: Sendable {
        public var url: String?
        public var secret: String?

        public init() {}
    }

    /// The admin page (`/admin/`): sessions and sign-in throttling.
    public struct Admin: Sendable {
        /// Hours a session lasts from sign-in.
        public var sessionHours = 8
        /// Failed sign-ins allowed per 15 minutes from one address, and for one account.
        public var failuresPerAddress = 20
        public var failuresPerAccount = 10

        public init() {}
    }

    /// `GET /metrics` (Prometheus): off unless addresses are listed.
    public struct Metrics: Sendable {
        /// Client addresses (`REMOTE_ADDR`) that may scrape; empty: the endpoint answers 404.
        public var allowedAddresses: [String] = []

        public init() {}
    }

    public var server = Server()
    public var admin = Admin()
    public var metrics = Metrics()
    public var api = API()
    public var checkout = Checkout()
    public var woocommerce = WooCommerce()
    public var mail = Mail()
    public var delivery = Delivery()
    public var retention = Retention()
    public var notifications = Notifications()
    public var releases = Releases()
    public var stripe = Stripe()
    public var licensing = Licensing()
    public var database: ConnectionOptions
    public var tablePrefix: TablePrefix = .standard
    public var logLevel: Logger.Level = .info

    public init(database: ConnectionOptions) {
        self.database = database
    }
}
