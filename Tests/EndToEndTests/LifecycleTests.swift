import Foundation
import Handlers
import MariaStore
import TestSupport
import Testing

@Suite("Lifecycle: signals, database outages, CGI, commands", .serialized)
struct LifecycleTests {
    @Test func sigtermFinishesTheRequestInFlightThenExitsZero() throws {
        let stack = try Stack(workers: 2)
        let client = try FastCGIClient(socketPath: stack.service.socketPath)
        // A request whose body is still arriving keeps its worker busy.
        try client.send(
            FastCGIClient.beginRequest()
                + FastCGIClient.params(FastCGIClient.standardParams(method: "GET", uri: "/payments/healthz", contentLength: "10"))
                + FastCGIClient.stdin(Array("12345".utf8), end: false))
        usleep(200_000)
        stack.service.child.signal(SIGTERM)
        #expect(TestPaths.waitUntil(seconds: 5) { stack.service.log.contains("stopping") })
        // No new connections are taken once stopping…
        #expect(TestPaths.waitUntil(seconds: 5) { !FastCGIClient.canConnect(stack.service.socketPath) })
        // …but the request in flight completes.
        try client.send(FastCGIClient.stdin(Array("67890".utf8)))
        let reply = client.readReply()
        #expect(reply?.status == 200)
        let status = stack.service.child.stop(signal: 0, seconds: 10)
        #expect(status == 0)
        #expect(stack.service.log.contains("stopped"))
        #expect(!FileManager.default.fileExists(atPath: stack.service.socketPath))
    }

    @Test func sigintStopsCleanlyToo() throws {
        let stack = try Stack(workers: 3)
        #expect(stack.service.stop(signal: SIGINT) == 0)
    }

    @Test func databaseGoingAwayGives503AndRecovers() throws {
        let server = try MariaDBServer.start()
        defer { try? server.down() }
        let database = try server.createDatabase("outage")
        let stack = try Stack(workers: 2, database: database)
        let nginx = try NginxServer(serviceSocket: stack.service.socketPath)
        let healthz = { try HTTPClient.send(port: nginx.port, path: "/payments/healthz") }

        for _ in 0..<4 { #expect(try healthz().status == 200) }  // both workers connected
        try server.down()
        for _ in 0..<4 {
            let reply = try healthz()
            #expect(reply.status == 503)
            #expect(reply.errorCode == "unavailable")
            #expect(reply.header("Retry-After") != nil)
        }
        #expect(stack.service.child.isRunning)
        try server.up()
        for _ in 0..<4 { #expect(try healthz().status == 200) }
    }

    @Test func databaseDownAtStartThenUp() throws {
        let server = try MariaDBServer.start()
        defer { try? server.down() }
        let database = try server.createDatabase("late")
        try server.down()
        let service = try ServiceProcess(database: database, workers: 2)
        let nginx = try NginxServer(serviceSocket: service.socketPath)
        let down = try HTTPClient.send(port: nginx.port, path: "/payments/healthz")
        #expect(down.status == 503)
        #expect(down.errorCode == "unavailable")
        try server.up()
        #expect(try HTTPClient.send(port: nginx.port, path: "/payments/healthz").status == 200)
        #expect(service.log.contains("Can't connect"))
    }

    @Test func cgiModeAnswersOneRequestAndExits() throws {
        let database = try MariaDBServer.shared.createDatabase("cgi")
        let directory = TestPaths.scratchDirectory("cgi")
        try ServiceProcess.writeConfiguration(at: directory + "/payments.ini", database: database, listen: nil)
        // Query strings without '=' arrive as arguments under CGI; they must not be parsed as options.
        let result = try ChildProcess.run(
            TestPaths.binary, ["--bogus-argument"],
            environment: [
                "GATEWAY_INTERFACE": "CGI/1.1", "PFC_CONFIG": directory + "/payments.ini",
                "REQUEST_METHOD": "GET", "REQUEST_URI": "/payments/healthz", "QUERY_STRING": "--bogus-argument",
            ])
        #expect(result.status == 0)
        #expect(result.output.contains("Status: 200 OK"))
        #expect(result.output.contains(#"{"status":"ok","database":"ok","database_server":"#))

        let post = try ChildProcess.run(
            TestPaths.binary, [],
            environment: [
                "GATEWAY_INTERFACE": "CGI/1.1", "PFC_CONFIG": directory + "/payments.ini",
                "REQUEST_METHOD": "POST", "REQUEST_URI": "/payments/nothing", "CONTENT_LENGTH": "2", "CONTENT_TYPE": "application/json",
            ], input: "{}")
        #expect(post.output.contains("Status: 404 Not Found"))
    }

    @Test func cgiWithBrokenConfigurationAnswers503() throws {
        let directory = TestPaths.scratchDirectory("cgi")
        try "[server]\nworkers = many\n".write(toFile: directory + "/payments.ini", atomically: true, encoding: .utf8)
        let result = try ChildProcess.run(
            TestPaths.binary, [],
            environment: [
                "GATEWAY_INTERFACE": "CGI/1.1", "PFC_CONFIG": directory + "/payments.ini",
                "REQUEST_METHOD": "GET", "REQUEST_URI": "/payments/healthz",
            ])
        #expect(result.output.contains("Status: 503 Service Unavailable"))
        #expect(result.output.contains("server.workers"))  // the detail goes to stderr (the web server's error log)
    }

    @Test func checkConfigReportsProblemsAndHidesSecrets() throws {
        let directory = TestPaths.scratchDirectory("cfg")
        try "[database]\nname = wp\nuser = wp\npassword = hunter2-secret\n[server]\nwokers = 2\n"
            .write(toFile: directory + "/bad.ini", atomically: true, encoding: .utf8)
        let bad = try ChildProcess.run(TestPaths.binary, ["check-config", "--config", directory + "/bad.ini"])
        #expect(bad.status == 78)
        #expect(bad.output.contains("unknown key server.wokers (did you mean server.workers?)"))
        #expect(!bad.output.contains("hunter2"))

        let database = try MariaDBServer.shared.createDatabase("cfg")
        try ServiceProcess.writeConfiguration(at: directory + "/good.ini", database: database, listen: "/tmp/x.sock")
        let good = try ChildProcess.run(TestPaths.binary, ["check-config", "--config", directory + "/good.ini"])
        #expect(good.status == 0, "\(good.output)")
        #expect(good.output.contains("database.password = (set)"))
        #expect(good.output.contains("reachable"))
        #expect(good.output.contains("migrations pending"))
        #expect(!good.output.contains("password = payments"))

        let missing = try ChildProcess.run(TestPaths.binary, ["check-config", "--config", directory + "/none.ini"])
        #expect(missing.status == 78)
        #expect(missing.output.contains("cannot read the configuration file \(directory)/none.ini"))
    }

    @Test func checkConfigPrintsTheReferenceWithoutAConfiguration() throws {
        let result = try ChildProcess.run(TestPaths.binary, ["check-config", "--reference", "--config", "/nonexistent.ini"])
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output == ConfigurationReference.markdown())
    }

    @Test func checkConfigFailsWhenTheDatabaseIsUnreachable() throws {
        let directory = TestPaths.scratchDirectory("cfg")
        let unreachable = ConnectionOptions(socket: directory + "/no.sock", user: "payments", password: "pw", database: "wp")
        try ServiceProcess.writeConfiguration(at: directory + "/p.ini", database: unreachable, listen: nil)
        let result = try ChildProcess.run(TestPaths.binary, ["check-config", "--config", directory + "/p.ini"])
        #expect(result.status == 1)
        #expect(result.output.contains("Can't connect"))
    }

    @Test func migrateTwiceAndFromTwoProcessesAtOnce() throws {
        let database = try MariaDBServer.shared.createDatabase("mig")
        let directory = TestPaths.scratchDirectory("mig")
        try ServiceProcess.writeConfiguration(at: directory + "/p.ini", database: database, listen: nil)
        let outputs = OutputBox()
        Simultaneously.run(3) { _ in
            outputs.add((try? ChildProcess.run(TestPaths.binary, ["migrate", "--config", directory + "/p.ini"])) ?? (-1, "failed to run"))
        }
        #expect(outputs.all.allSatisfy { $0.status == 0 })
        #expect(outputs.all.filter { $0.output.contains("applied migrations") }.count == 1)
        let again = try ChildProcess.run(TestPaths.binary, ["migrate", "--config", directory + "/p.ini"])
        #expect(again.output.contains("schema is up to date"))
    }

    @Test func listeningSocketInUseIsRefused() throws {
        let stack = try Stack(workers: 1)
        let second = try ChildProcess.run(TestPaths.binary, ["serve", "--config", stack.service.configPath])
        #expect(second.status == 1)
        #expect(second.output.contains("another process is already listening"))
        #expect(
            try FastCGIClient.request(
                socketPath: stack.service.socketPath,
                params: FastCGIClient.standardParams(method: "GET", uri: "/payments/healthz"))?.status == 200)
    }

    @Test func tcpListenWorks() throws {
        let database = try MariaDBServer.shared.createDatabase("tcp")
        let directory = TestPaths.scratchDirectory("tcp")
        let port = TestPaths.freePort()
        try ServiceProcess.writeConfiguration(at: directory + "/p.ini", database: database, listen: "127.0.0.1:\(port)")
        let child = try ChildProcess(TestPaths.binary, ["serve", "--config", directory + "/p.ini"], logPath: directory + "/log")
        #expect(TestPaths.waitUntil(seconds: 5) { HTTPClient.canConnect(port: port) })
        #expect(child.stop() == 0)
    }
}

final class OutputBox: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [(status: Int32, output: String)] = []
    func add(_ item: (status: Int32, output: String)) {
        lock.lock()
        items.append(item)
        lock.unlock()
    }
    var all: [(status: Int32, output: String)] {
        lock.lock()
        defer { lock.unlock() }
        return items
    }
}
