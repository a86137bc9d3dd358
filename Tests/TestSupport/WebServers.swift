import Foundation

/// Renders a deployment file from `nginx/` or `apache/` for a test: the file is used as it is,
/// only its default paths and ports replaced.
public enum DeploymentFile {
    public static func render(_ relativePath: String, replacing replacements: [String: String]) throws -> String {
        var text = try String(contentsOf: TestPaths.repositoryRoot.appendingPathComponent(relativePath), encoding: .utf8)
        for (original, replacement) in replacements {
            guard text.contains(original) else { throw TestSupportError("\(relativePath) no longer mentions \(original)") }
            text = text.replacingOccurrences(of: original, with: replacement)
        }
        return text
    }
}

/// A real nginx serving `nginx/wordpress-site.conf` with `nginx/payments-fcgi.conf` included
/// (and `payments-fastcgi.conf` in its locations, `payments-http.conf` at http level), on a
/// loopback port, in front of a service socket.
public final class NginxServer: @unchecked Sendable {
    public let port: Int
    public let directory: String
    private let child: ChildProcess

    /// `livenessSocket` defaults to `liveness.sock` beside the service socket (as
    /// `ServiceProcess` configures `server.liveness_listen`).
    /// A real WordPress behind the site's `location ~ \.php$` (`WordPressSite`): its files, its
    /// PHP-FPM socket, and the Debian configuration name nginx passes as `WORDPRESS_CONFIG`.
    public struct WordPress: Sendable {
        public let root: String
        public let phpSocket: String
        public let configName: String
    }

    /// `releasesDirectory` is what `releases.directory` names (the internal location's alias).
    /// `edits`: text of `nginx/payments-fcgi.conf` replaced as a seller would edit it
    /// (uncommenting the admin page's address restriction, say).
    public init(
        serviceSocket: String, livenessSocket: String? = nil, releasesDirectory: String = "/nonexistent/releases",
        wordpress: WordPress? = nil, edits: [String: String] = [:]
    ) throws {
        let liveness = livenessSocket ?? (serviceSocket as NSString).deletingLastPathComponent + "/liveness.sock"
        (directory, port, child) = try WebServerStart.retryingOnPortClash {
            try Self.start(
                serviceSocket: serviceSocket, livenessSocket: liveness, releasesDirectory: releasesDirectory, wordpress: wordpress,
                edits: edits)
        }
    }

    private static func start(
        serviceSocket: String, livenessSocket: String, releasesDirectory: String,
        wordpress: WordPress?, edits: [String: String]
    ) throws -> (String, Int, ChildProcess) {
        let directory = TestPaths.scratchDirectory("nginx")
        let port = TestPaths.freePort()
        let paymentsLog = ["/var/log/nginx/payments.access.log": directory + "/payments.access.log"]
        let snippet = try DeploymentFile.render(
            "nginx/payments-fcgi.conf",
            replacing: paymentsLog.merging([
                "unix:/run/payments-fcgi/payments.sock": "unix:\(serviceSocket)",
                "unix:/run/payments-fcgi/liveness.sock": "unix:\(livenessSocket)",
                "/etc/nginx/snippets/payments-fastcgi.conf": directory + "/payments-fastcgi.conf",
                "alias /var/lib/payments-fcgi/releases/;": "alias \(releasesDirectory)/;",
            ]) { $1 }.merging(edits) { $1 })
        try snippet.write(toFile: directory + "/payments-fcgi.conf", atomically: true, encoding: .utf8)
        try DeploymentFile.render("nginx/payments-fastcgi.conf", replacing: paymentsLog)
            .write(toFile: directory + "/payments-fastcgi.conf", atomically: true, encoding: .utf8)
        try DeploymentFile.render("nginx/payments-http.conf", replacing: [:])
            .write(toFile: directory + "/payments-http.conf", atomically: true, encoding: .utf8)
        var serving: [String: String] = [:]
        if let wordpress {
            serving = [
                "root /var/www/wordpress;": "root \(wordpress.root);",
                "fastcgi_pass unix:/run/php/php-fpm.sock;": "fastcgi_pass unix:\(wordpress.phpSocket);\n"
                    + "        fastcgi_param WORDPRESS_CONFIG \(wordpress.configName);",
            ]
        }
        let site = try DeploymentFile.render(
            "nginx/wordpress-site.conf",
            replacing: serving.merging([
                "listen 80;": "listen 127.0.0.1:\(port);",
                "/etc/nginx/snippets/payments-fcgi.conf": directory + "/payments-fcgi.conf",
                "/var/log/nginx/wordpress.access.log": directory + "/access.log",
                "/var/log/nginx/wordpress.error.log": directory + "/error.log",
            ]) { $1 })
        try site.write(toFile: directory + "/site.conf", atomically: true, encoding: .utf8)
        let user = geteuid() == 0 ? "user root;\n" : ""
        let main = """
            \(user)worker_processes 2;
            pid \(directory)/nginx.pid;
            error_log \(directory)/error.log info;
            events { worker_connections 1024; }
            http {
                default_type application/octet-stream;
                access_log \(directory)/access.log;
                client_body_temp_path \(directory)/client_body;
                fastcgi_temp_path \(directory)/fastcgi;
                proxy_temp_path \(directory)/proxy;
                uwsgi_temp_path \(directory)/uwsgi;
                scgi_temp_path \(directory)/scgi;
                include \(directory)/payments-http.conf;
                include \(directory)/site.conf;
            }
            """
        try main.write(toFile: directory + "/nginx.conf", atomically: true, encoding: .utf8)
        let child = try ChildProcess(
            "/usr/sbin/nginx", ["-p", directory, "-c", directory + "/nginx.conf", "-g", "daemon off;"],
            logPath: directory + "/stderr.log")
        try WebServerStart.waitForPort(port, child: child, name: "nginx")
        return (directory, port, child)
    }

    /// nginx's access log (what a site operator would see).
    public var accessLog: String { (try? String(contentsOfFile: directory + "/access.log", encoding: .utf8)) ?? "" }

    /// Every access log nginx writes here (the http level's, the site's, the payments one), by file name.
    public var accessLogs: [String: String] { WebServerLogs.read(directory, matching: "access") }

    /// nginx's error log.
    public var errorLog: String { (try? String(contentsOfFile: directory + "/error.log", encoding: .utf8)) ?? "" }

    public func stop() { child.stop(signal: SIGQUIT) }

    deinit { child.stop(signal: SIGTERM, seconds: 5) }
}

/// A real Apache serving one of the `apache/` configurations on a loopback port.
public final class ApacheServer: @unchecked Sendable {
    public enum Mode {
        /// `apache/payments-proxy-fcgi.conf` in front of a running service's socket (and its
        /// liveness socket, by default `liveness.sock` beside it).
        case proxyFCGI(socket: String, liveness: String? = nil)
        /// `apache/payments-fcgid.conf`: Apache spawns the binary itself with this config file.
        case fcgid(configPath: String)
    }

    public let port: Int
    public let directory: String
    private let child: ChildProcess

    /// `releasesDirectory` is what `releases.directory` names (X-Sendfile's allowed path).
    public init(_ mode: Mode, releasesDirectory: String = "/nonexistent/releases") throws {
        (directory, port, child) = try WebServerStart.retryingOnPortClash { try Self.start(mode, releasesDirectory: releasesDirectory) }
    }

    private static func start(_ mode: Mode, releasesDirectory: String) throws -> (String, Int, ChildProcess) {
        let directory = TestPaths.scratchDirectory("apache")
        let port = TestPaths.freePort()
        let modules = "/usr/lib/apache2/modules"
        var loads = ["mpm_event", "authz_core", "alias", "headers", "setenvif"]
        let paymentsLog = ["/var/log/apache2/payments.access.log": directory + "/payments.access.log"]
        let include: String
        switch mode {
        case .proxyFCGI(let socket, let liveness):
            loads += ["proxy", "proxy_fcgi"]
            // Debian's libapache2-mod-xsendfile: release packages sent with X-Sendfile.
            if FileManager.default.fileExists(atPath: modules + "/mod_xsendfile.so") { loads.append("xsendfile") }
            include = try DeploymentFile.render(
                "apache/payments-proxy-fcgi.conf",
                replacing: paymentsLog.merging([
                    "XSendFilePath /var/lib/payments-fcgi/releases": "XSendFilePath \(releasesDirectory)",
                    "unix:/run/payments-fcgi/payments.sock": "unix:\(socket)",
                    "unix:/run/payments-fcgi/liveness.sock": "unix:\(liveness ?? (socket as NSString).deletingLastPathComponent + "/liveness.sock")",
                ]) { $1 })
        case .fcgid(let configPath):
            loads += ["fcgid"]
            let binary = URL(fileURLWithPath: TestPaths.binary)
            include = try DeploymentFile.render(
                "apache/payments-fcgid.conf",
                replacing: paymentsLog.merging([
                    "/etc/payments-fcgi/payments.ini": configPath,
                    "\"/usr/local/bin/payments-fcgi\"": "\"\(binary.path)\"",
                    "\"/usr/local/bin\"": "\"\(binary.deletingLastPathComponent().path)\"",
                ]) { $1 })
            try FileManager.default.createDirectory(atPath: directory + "/fcgid", withIntermediateDirectories: true)
            if geteuid() == 0 { _ = try? ChildProcess.run("/bin/chown", ["www-data:www-data", directory + "/fcgid"]) }
        }
        try include.write(toFile: directory + "/payments.conf", atomically: true, encoding: .utf8)
        let user = geteuid() == 0 ? "User www-data\nGroup www-data\n" : ""
        let main = """
            ServerRoot \(directory)
            ServerName localhost
            Listen 127.0.0.1:\(port)
            PidFile \(directory)/apache.pid
            DefaultRuntimeDir \(directory)
            Mutex file:\(directory) default
            ErrorLog \(directory)/error.log
            LogLevel info
            LogFormat "%h %r %>s" plain
            # As the apache/ files say every other CustomLog must: skip what they log redacted.
            CustomLog \(directory)/access.log plain env=!payments_log_path
            \(user)\(loads.map { "LoadModule \($0)_module \(modules)/mod_\($0).so" }.joined(separator: "\n"))
            <IfModule fcgid_module>
                FcgidIPCDir \(directory)/fcgid
                FcgidProcessTableFile \(directory)/fcgid/table
            </IfModule>
            Include \(directory)/payments.conf
            """
        try main.write(toFile: directory + "/apache.conf", atomically: true, encoding: .utf8)
        let child = try ChildProcess(
            "/usr/sbin/apache2", ["-f", directory + "/apache.conf", "-DFOREGROUND"],
            logPath: directory + "/stderr.log")
        try WebServerStart.waitForPort(port, child: child, name: "apache")
        return (directory, port, child)
    }

    public var errorLog: String { (try? String(contentsOfFile: directory + "/error.log", encoding: .utf8)) ?? "" }

    /// Every access log Apache writes here (the server's and the payments one), by file name.
    public var accessLogs: [String: String] { WebServerLogs.read(directory, matching: "access") }

    public func stop() { child.stop(signal: SIGTERM) }

    deinit { child.stop(signal: SIGTERM, seconds: 5) }
}

/// The log files a web server wrote into its folder.
enum WebServerLogs {
    static func read(_ directory: String, matching part: String) -> [String: String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        var logs: [String: String] = [:]
        for name in names where name.contains(part) && name.hasSuffix(".log") {
            logs[name] = (try? String(contentsOfFile: directory + "/" + name, encoding: .utf8)) ?? ""
        }
        return logs
    }
}

/// Starting a web server on a port picked a moment earlier can lose a race with another
/// program; such a start is simply tried again on another port.
enum WebServerStart {
    struct PortClash: Error {}

    static func retryingOnPortClash<T>(_ start: () throws -> T) throws -> T {
        for _ in 0..<4 {
            do { return try start() } catch is PortClash { continue }
        }
        return try start()
    }

    static func waitForPort(_ port: Int, child: ChildProcess, name: String) throws {
        let up = TestPaths.waitUntil(seconds: 10) { HTTPClient.canConnect(port: port) || !child.isRunning }
        if up && child.isRunning { return }
        child.stop(signal: SIGKILL, seconds: 2)
        if child.output.contains("Address already in use") { throw PortClash() }
        throw TestSupportError("\(name) did not start: \(child.output)")
    }
}
