import Foundation
import MariaStore

/// A real WordPress — Debian's `wordpress` package, run by its own PHP-FPM on a private MariaDB
/// database, offline — for a test to serve through `NginxServer` and drive with
/// `Tests/oracles/wordpress_site.php`.
///
/// Debian's `wp-config.php` reads `/etc/wordpress/config-NAME.php`, NAME coming from
/// `WORDPRESS_CONFIG` (nginx passes it; the driver sets it): each site gets a NAME of its own,
/// and its file is removed when the site goes. Plugins, uploads and the debug log live in the
/// site's own `wp-content`, in its scratch folder.
public final class WordPressSite: @unchecked Sendable {
    public let directory: String
    public let configName: String
    public let phpSocket: String
    public var contentDirectory: String { directory + "/wp-content" }
    public var pluginDirectory: String { contentDirectory + "/plugins" }
    public var debugLogPath: String { directory + "/debug.log" }
    private let database: ConnectionOptions
    private let fpm: ChildProcess
    private var configPath: String { "/etc/wordpress/config-\(configName).php" }
    /// host:port the site answers at, once `install` was told.
    public private(set) var host = ""

    /// Starts PHP-FPM for a site on `database`.
    public init(database: ConnectionOptions) throws {
        self.database = database
        directory = TestPaths.scratchDirectory("wordpress")
        configName = "pfc-test-" + (directory as NSString).lastPathComponent.split(separator: "-").last!
        phpSocket = directory + "/php-fpm.sock"
        for folder in ["plugins", "mu-plugins", "upgrade", "uploads"] {
            try FileManager.default.createDirectory(atPath: directory + "/wp-content/" + folder, withIntermediateDirectories: true)
        }
        // Offline: WordPress.org's "nothing new" answers come from a must-use plugin.
        try FileManager.default.copyItem(
            atPath: TestPaths.repositoryRoot.appendingPathComponent("Tests/oracles/wordpress-org-offline.php").path,
            toPath: directory + "/wp-content/mu-plugins/wordpress-org-offline.php")
        // As root, PHP-FPM's pool runs as root too (-R): the tests' files are root's.
        let user = geteuid() == 0 ? "user = root\ngroup = root\n" : ""
        try """
        [global]
        pid = \(directory)/php-fpm.pid
        error_log = \(directory)/php-fpm.log
        daemonize = no
        [site]
        \(user)listen = \(phpSocket)
        listen.mode = 0666
        pm = static
        pm.max_children = 2
        catch_workers_output = yes
        php_admin_flag[log_errors] = on
        php_admin_value[error_log] = \(directory)/php-errors.log
        """.write(toFile: directory + "/php-fpm.conf", atomically: true, encoding: .utf8)
        guard let binary = try FileManager.default.contentsOfDirectory(atPath: "/usr/sbin").filter({ $0.hasPrefix("php-fpm") }).sorted().last else {
            throw TestSupportError("php-fpm is not installed (scripts/install-packages)")
        }
        fpm = try ChildProcess("/usr/sbin/" + binary, ["-F", "-R", "-y", directory + "/php-fpm.conf"], logPath: directory + "/php-fpm.stderr.log")
        let socket = phpSocket
        guard TestPaths.waitUntil(seconds: 10, { FileManager.default.fileExists(atPath: socket) }) else {
            throw TestSupportError("php-fpm did not start: \(fpm.output)")
        }
    }

    /// What `NginxServer` needs to serve this site.
    public var serving: NginxServer.WordPress {
        NginxServer.WordPress(root: "/usr/share/wordpress", phpSocket: phpSocket, configName: configName)
    }

    /// Writes the site's configuration for `host` (127.0.0.1:port), installs WordPress and
    /// activates `plugins` (their files already in `pluginDirectory`).
    public func install(host: String, plugins: [String], extraConfiguration: String = "") throws {
        self.host = host
        let socket = database.socket ?? ""
        var salts = ""
        for name in ["AUTH_KEY", "SECURE_AUTH_KEY", "LOGGED_IN_KEY", "NONCE_KEY", "AUTH_SALT", "SECURE_AUTH_SALT", "LOGGED_IN_SALT", "NONCE_SALT"] {
            salts += "define('\(name)', '\(UUID().uuidString)\(UUID().uuidString)');\n"
        }
        try """
        <?php
        define('DB_NAME', '\(database.database)');
        define('DB_USER', '\(database.user)');
        define('DB_PASSWORD', '\(database.password)');
        define('DB_HOST', 'localhost:\(socket)');
        define('WP_HOME', 'http://\(host)');
        define('WP_SITEURL', 'http://\(host)');
        define('WP_CONTENT_DIR', '\(contentDirectory)');
        define('WP_CONTENT_URL', 'http://\(host)/wp-content');
        define('WP_DEBUG', true);
        define('WP_DEBUG_LOG', '\(debugLogPath)');
        define('WP_DEBUG_DISPLAY', false);
        // Offline: only this machine (the site itself, the store) may be asked anything.
        define('WP_HTTP_BLOCK_EXTERNAL', true);
        define('FS_METHOD', 'direct');
        define('DISABLE_WP_CRON', true);
        define('AUTOMATIC_UPDATER_DISABLED', true);
        \(salts)\(extraConfiguration)
        $table_prefix = 'wp_';
        """.write(toFile: configPath, atomically: true, encoding: .utf8)
        let installed = try run("install", plugins)
        guard installed["installed"] as? Bool == true, installed["activated"] as? Bool == true else {
            throw TestSupportError("WordPress did not install: \(installed)\n\(debugLog)")
        }
    }

    /// Runs a command of `Tests/oracles/wordpress_site.php` and returns its JSON answer.
    @discardableResult
    public func run(_ command: String, _ arguments: [String] = []) throws -> [String: Any] {
        let driver = TestPaths.repositoryRoot.appendingPathComponent("Tests/oracles/wordpress_site.php").path
        let result = try ChildProcess.run("/usr/bin/php", [driver, configName, host, command] + arguments, seconds: 120)
        let line = result.output.split(separator: "\n").last.map(String.init) ?? ""
        guard result.status == 0, let json = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] else {
            throw TestSupportError("wordpress_site.php \(command) failed (\(result.status)): \(result.output)")
        }
        return json
    }

    /// WordPress's debug log (WP_DEBUG_LOG): PHP's warnings and notices, from the command line and PHP-FPM.
    public var debugLog: String { (try? String(contentsOfFile: debugLogPath, encoding: .utf8)) ?? "" }

    /// PHP-FPM's own logs (workers' errors before WordPress takes over).
    public var fpmLog: String {
        ["php-fpm.log", "php-errors.log", "php-fpm.stderr.log"].map { (try? String(contentsOfFile: directory + "/" + $0, encoding: .utf8)) ?? "" }
            .joined(separator: "\n")
    }

    public func stop() {
        fpm.stop(signal: SIGQUIT, seconds: 5)
        try? FileManager.default.removeItem(atPath: configPath)
    }

    deinit { stop() }
}
