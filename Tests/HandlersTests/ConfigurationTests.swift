import Foundation
import Handlers
import MariaStore
import Testing

@Suite("Configuration file and environment")
struct ConfigurationTests {
    static let minimal = """
        [database]
        name = wordpress
        user = payments
        """

    func load(_ text: String, environment: [String: String] = [:], files: [String: String] = [:])
        -> Result<(Configuration, [ConfigurationLoader.Source], warnings: [String]), ConfigurationError>
    {
        let loader = ConfigurationLoader(environment: environment) { path in
            guard let content = files[path] else { throw CocoaError(.fileNoSuchFile) }
            return content
        }
        return loader.load(text: text, fileName: "payments.ini")
    }

    func problems(_ text: String, environment: [String: String] = [:]) -> [String] {
        if case .failure(let error) = load(text, environment: environment) { return error.problems }
        return []
    }

    @Test func severalDatabaseServersAreTriedInTheOrderListed() throws {
        let (configuration, _, _) = try load(Self.minimal + "\nhosts = 10.0.0.2:3307, db3, [fd00::4]:3306, /run/mysqld/mysqld.sock\n").get()
        #expect(
            configuration.database.endpoints == [
                .tcp(host: "10.0.0.2", port: 3307), .tcp(host: "db3", port: 3306),
                .tcp(host: "fd00::4", port: 3306), .socket("/run/mysqld/mysqld.sock"),
            ])
        #expect(configuration.database.description == "payments@10.0.0.2:3307,db3:3306,[fd00::4]:3306,unix:/run/mysqld/mysqld.sock/wordpress")
    }

    @Test func databaseHostsRefusesMalformedServersAndAMixWithHost() {
        #expect(problems(Self.minimal + "\nhosts = db1:99999\n").contains { $0.hasPrefix("database.hosts") })
        #expect(problems(Self.minimal + "\nhosts = db1,,db2\n").contains { $0.hasPrefix("database.hosts") })
        #expect(problems(Self.minimal + "\nhosts = db1\nhost = db2\n").contains { $0.contains("replaces database.socket") })
    }

    @Test func minimalFileGetsTheDocumentedDefaults() throws {
        let (configuration, _, warnings) = try load(Self.minimal).get()
        #expect(configuration.server.listen == nil)
        #expect(configuration.server.workers == 8)
        #expect(configuration.server.mountPrefix == "/payments")
        #expect(configuration.server.maxBodyBytes == 262_144)
        #expect(configuration.server.socketMode == 0o660)
        #expect(configuration.database.host == "127.0.0.1")
        #expect(configuration.database.port == 3306)
        #expect(configuration.database.socket == nil)
        #expect(configuration.tablePrefix == .standard)
        #expect(configuration.logLevel == .info)
        #expect(configuration.stripe.webhookSecrets.isEmpty)
        #expect(configuration.stripe.mode == .test)
        #expect(configuration.stripe.toleranceSeconds == 300)
        #expect(configuration.stripe.apiBase == "https://api.stripe.com")
        #expect(configuration.licensing.keyPrefix == "PFC")
        // What is missing for payments is said, not silently tolerated.
        #expect(warnings.count == 4)
        #expect(warnings.contains("stripe.webhook_secret is not set: every webhook delivery will be answered 503 until it is"))
    }

    @Test func everyKeyIsRead() throws {
        let text = """
            # PaymentsFCGI
            [server]
            listen = /run/payments-fcgi/payments.sock
            workers = 16
            mount_prefix = /shop/payments
            max_body_bytes = 65536
            socket_mode = 0600
            drain_timeout_seconds = 5

            ; the WordPress database
            [database]
            socket = /run/mysqld/mysqld.sock
            name = wordpress
            user = payments
            password = "  p#ss word  "
            table_prefix = wp_pfc_
            connect_timeout_seconds = 3
            lock_wait_timeout_seconds = 7

            [log]
            level = debug
            """
        let (configuration, _, _) = try load(text).get()
        #expect(configuration.server.listen == "/run/payments-fcgi/payments.sock")
        #expect(configuration.server.workers == 16)
        #expect(configuration.server.mountPrefix == "/shop/payments")
        #expect(configuration.server.maxBodyBytes == 65536)
        #expect(configuration.server.socketMode == 0o600)
        #expect(configuration.server.drainTimeoutSeconds == 5)
        #expect(configuration.database.socket == "/run/mysqld/mysqld.sock")
        #expect(configuration.database.password == "  p#ss word  ")
        #expect(configuration.tablePrefix.value == "wp_pfc_")
        #expect(configuration.database.connectTimeoutSeconds == 3)
        #expect(configuration.database.lockWaitTimeoutSeconds == 7)
        #expect(configuration.logLevel == .debug)
    }

    @Test func environmentOverridesTheFile() throws {
        let (configuration, sources, _) = try load(
            Self.minimal + "\npassword = from-file\n",
            environment: ["PFC_DATABASE_PASSWORD": "from-env", "PFC_SERVER_WORKERS": "2"]
        ).get()
        #expect(configuration.database.password == "from-env")
        #expect(configuration.server.workers == 2)
        #expect(sources.first { $0.key == "database.password" }?.origin == "environment PFC_DATABASE_PASSWORD")
    }

    @Test func secretsCanComeFromAFile() throws {
        let (configuration, sources, _) = try load(
            Self.minimal + "\npassword_file = /etc/payments-fcgi/db-password\n",
            files: ["/etc/payments-fcgi/db-password": "s3cret\n"]
        ).get()
        #expect(configuration.database.password == "s3cret")
        #expect(sources.first { $0.key == "database.password" }?.display == "(set)")
    }

    @Test func secretsAreNeverShown() throws {
        let (_, sources, _) = try load(Self.minimal + "\npassword = hunter2\n").get()
        #expect(!sources.contains { $0.display.contains("hunter2") })
        let bad = problems(Self.minimal + "\npassword = hunter2\n[server]\nworkers = lots\n")
        #expect(!bad.joined().contains("hunter2"))
    }

    @Test func unknownKeysAreReportedWithASuggestion() {
        let found = problems(Self.minimal + "\n[server]\nwokers = 4\nfavourite_colour = blue\n")
        #expect(found.contains("payments.ini line 5: unknown key server.wokers (did you mean server.workers?)"))
        #expect(found.contains("payments.ini line 6: unknown key server.favourite_colour"))
    }

    @Test func unknownEnvironmentSettingsAreWarnings() throws {
        let (_, _, warnings) = try load(Self.minimal, environment: ["PFC_SERVER_WORKRES": "3"]).get()
        #expect(warnings.filter { $0.contains("PFC_") } == ["environment variable PFC_SERVER_WORKRES is not a known setting and is ignored"])
    }

    @Test func everyBadValueIsReportedAtOnce() {
        let found = problems(
            """
            [server]
            workers = 0
            listen = somewhere
            socket_mode = 999
            mount_prefix = payments
            [database]
            port = http
            table_prefix = wp-pfc
            [log]
            level = loud
            """)
        #expect(found.count == 9)
        #expect(found.contains("database.name is required but not set (set it in the file or in PFC_DATABASE_NAME)"))
        #expect(found.contains("database.user is required but not set (set it in the file or in PFC_DATABASE_USER)"))
        #expect(found.contains("server.workers = '0' (payments.ini line 2): must be a whole number from 1 to 256"))
        #expect(found.contains { $0.hasPrefix("server.listen = 'somewhere'") })
        #expect(found.contains { $0.hasPrefix("server.socket_mode = '999'") })
        #expect(found.contains { $0.hasPrefix("server.mount_prefix = 'payments'") })
        #expect(found.contains { $0.hasPrefix("database.port = 'http'") })
        #expect(found.contains { $0.hasPrefix("database.table_prefix = 'wp-pfc'") })
        #expect(found.contains { $0.hasPrefix("log.level = 'loud'") })
    }

    @Test func syntaxErrorsNameTheLine() {
        let found = problems("[database\nname wordpress\nname = a\nname = b\n")
        #expect(
            found == [
                "payments.ini line 1: a section header must look like [name]",
                "payments.ini line 2: expected 'key = value'",
                "payments.ini line 4: name is already set on line 3",
            ])
    }

    @Test func rootMountIsAllowed() throws {
        let (configuration, _, _) = try load("[server]\nmount_prefix = /\n" + Self.minimal).get()
        #expect(configuration.server.mountPrefix == "")
    }

    @Test func serverSettingsForSlowClientsPeersAndLiveness() throws {
        let (configuration, _, _) = try load(
            Self.minimal + """

                [server]
                listen = 0.0.0.0:9000
                request_read_timeout_seconds = 4
                allowed_peers = 192.0.2.10, 2001:DB8::1 ,127.0.0.1
                liveness_listen = /run/payments-fcgi/liveness.sock
                """
        ).get()
        #expect(configuration.server.requestReadTimeoutSeconds == 4)
        #expect(configuration.server.allowedPeers == ["192.0.2.10", "2001:db8::1", "127.0.0.1"])
        #expect(configuration.server.livenessListen == "/run/payments-fcgi/liveness.sock")
        #expect(try load(Self.minimal).get().0.server.requestReadTimeoutSeconds == 10)
        let found = problems(Self.minimal + "\n[server]\nrequest_read_timeout_seconds = 0\nallowed_peers = web.example.com\nliveness_listen = 127.0.0.1:9001\n")
        #expect(found.count == 3, "\(found)")
        #expect(found.contains { $0.contains("web.example.com is not an IP address") })
    }

    @Test func tcpBeyondLoopbackNeedsAllowedPeers() {
        var server = Configuration.Server()
        for listen in ["127.0.0.1:9000", "127.0.0.2:9000", "localhost:9000", "[::1]:9000", "/run/p.sock"] {
            #expect(server.exposureProblem(listen: listen) == nil, "\(listen)")
        }
        for listen in ["0.0.0.0:9000", ":9000", "*:9000", "192.0.2.5:9000", "web.internal:9000", "127.0.0.1.example.com:9000"] {
            #expect(server.exposureProblem(listen: listen)?.contains("server.allowed_peers") == true, "\(listen)")
        }
        server.allowedPeers = ["192.0.2.10"]
        #expect(server.exposureProblem(listen: "0.0.0.0:9000") == nil)
    }

    @Test func hostAndPortListenIsAccepted() throws {
        let (configuration, _, _) = try load("[server]\nlisten = 127.0.0.1:9000\n" + Self.minimal).get()
        #expect(configuration.server.listen == "127.0.0.1:9000")
    }

    @Test func stripeAndLicensingSettingsAreValidated() throws {
        let good = """
            [stripe]
            webhook_secret = whsec_current_0123456789abcdef, whsec_previous_0123456789abcdef
            mode = live
            secret_key = sk_live_123
            api_base = http://127.0.0.1:12111/
            [licensing]
            key_pepper = 0123456789abcdef0123456789abcdef
            key_prefix = shop
            key_encryption_key = 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff
            [mail]
            from = Shop <shop@example.com>
            """
        let (configuration, sources, warnings) = try load(Self.minimal + "\n" + good).get()
        #expect(configuration.stripe.webhookSecrets == ["whsec_current_0123456789abcdef", "whsec_previous_0123456789abcdef"])
        #expect(configuration.stripe.mode == .live)
        #expect(configuration.stripe.apiBase == "http://127.0.0.1:12111")
        #expect(configuration.licensing.keyPrefix == "SHOP")
        #expect(configuration.licensing.keyEncryptionKey?.count == 32)
        #expect(warnings.isEmpty)
        #expect(sources.first { $0.key == "stripe.webhook_secret" }?.display == "(set)")

        let found = problems(
            Self.minimal + """

                [stripe]
                webhook_secret = sk_test_oops
                secret_key = sk_live_123
                api_base = http://stripe.example.com
                [licensing]
                key_pepper = short
                """)
        #expect(found.count == 4)
        #expect(found.contains("stripe.secret_key = (secret) (payments.ini line 6): is a live key but stripe.mode is test"))
        #expect(!found.joined().contains("sk_test_oops"))
        #expect(!found.joined().contains("short"))
    }

    @Test func secretFilesOtherUsersCanReadAreRefused() throws {
        func load(mode: UInt32, environment: [String: String] = [:], text: String = Self.minimal + "\npassword_file = /etc/payments-fcgi/db-password\n")
            -> [String]
        {
            let loader = ConfigurationLoader(environment: environment, readFile: { _ in "s3cret\n" }, fileMode: { _ in mode })
            if case .failure(let error) = loader.load(text: text, fileName: "payments.ini") { return error.problems }
            return []
        }
        #expect(
            load(mode: 0o644) == [
                "database.password_file = /etc/payments-fcgi/db-password (payments.ini line 4): the file is readable by every user (mode 0644); allow only the service's user and group: chmod o-rwx /etc/payments-fcgi/db-password"
            ])
        #expect(load(mode: 0o662).first?.contains("writable by every user (mode 0662)") == true)
        #expect(
            load(mode: 0o604, environment: ["PFC_API_KEY_FILE": "/run/k"], text: Self.minimal).first?.hasPrefix(
                "api.key_file = /run/k (environment PFC_API_KEY_FILE): the file is readable by every user") == true)
        #expect(load(mode: 0o640).isEmpty)
        #expect(load(mode: 0o600).isEmpty)
        #expect(!load(mode: 0o644).joined().contains("s3cret"))
    }

    @Test func shortSecretsAreRefused() {
        let found = problems(
            Self.minimal + """

                [stripe]
                webhook_secret = whsec_0123456789abcdef0123, whsec_short
                [api]
                key = short-api-key
                admin_key = short-admin-key
                [licensing]
                key_pepper = short-pepper
                [notifications]
                url = https://shop.example.com/wp-json/pfc/v1/events
                secret = short-notification
                """)
        #expect(found.count == 5, "\(found)")
        for key in ["stripe.webhook_secret", "api.key", "api.admin_key", "licensing.key_pepper", "notifications.secret"] {
            #expect(found.contains { $0.hasPrefix("\(key) = (secret)") && $0.contains("at least") }, "\(key): \(found)")
        }
        #expect(!found.joined().contains("short"))
    }

    @Test func missingSecretFileIsReported() {
        let found = problems(Self.minimal + "\npassword_file = /nope\n")
        #expect(found.count == 1)
        #expect(found.first?.hasPrefix("database.password: cannot read the secret file /nope") == true)
    }

    @Test func adminAndMetricsSettingsAreReadAndChecked() throws {
        let (configuration, _, _) = try load(
            Self.minimal + "\n[admin]\nsession_hours = 2\n[metrics]\nallowed_addresses = 127.0.0.1, ::1\n[retention]\ndelivered_body_days = 7\n"
        ).get()
        #expect(configuration.admin.sessionHours == 2)
        #expect(configuration.metrics.allowedAddresses == ["127.0.0.1", "::1"])
        #expect(configuration.retention.deliveredBodyDays == 7)
        let (defaults, _, _) = try load(Self.minimal).get()
        #expect(defaults.metrics.allowedAddresses.isEmpty)
        #expect(problems(Self.minimal + "\n[metrics]\nallowed_addresses = prometheus.internal\n").contains { $0.contains("metrics.allowed_addresses") })
        #expect(problems(Self.minimal + "\n[admin]\nsession_hours = 0\n").contains { $0.contains("admin.session_hours") })
    }
}
