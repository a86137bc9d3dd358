import Foundation
import TestSupport
import Testing

/// FastCGI over TCP: whoever can reach the port could speak FastCGI to the service and claim
/// any client address, so only the web servers' addresses may.
@Suite("FastCGI over TCP (server.allowed_peers)")
struct TCPListenTests {
    let directory = TestPaths.scratchDirectory("tcp")

    func healthz(from source: String, port: Int) throws -> FastCGIClient.Reply? {
        let client = try FastCGIClient(port: port, source: source, timeout: 5)
        try client.send(
            FastCGIClient.beginRequest()
                + FastCGIClient.params(FastCGIClient.standardParams(method: "GET", uri: "/payments/livez")) + FastCGIClient.stdin([]))
        return client.readReply()
    }

    func configuration(listen: String?, extra: String = "") throws -> String {
        let config = directory + "/payments-\(UUID().uuidString.prefix(8)).ini"
        try ServiceProcess.writeConfiguration(at: config, database: try MariaDBServer.shared.createDatabase("tcp"), listen: listen, extra: extra)
        return config
    }

    func serve(listen: String, extra: String) throws -> ChildProcess {
        let config = try configuration(listen: listen, extra: extra)
        return try ChildProcess(TestPaths.binary, ["serve", "--config", config], logPath: config + ".log")
    }

    @Test func onlyAllowedPeersAreAnswered() throws {
        let port = TestPaths.freePort()
        let child = try serve(listen: "127.0.0.1:\(port)", extra: "\n[server]\nallowed_peers = 127.0.0.1\n")
        defer { child.stop() }
        #expect(TestPaths.waitUntil(seconds: 10) { HTTPClient.canConnect(port: port) }, "\(child.output)")

        let allowed = try healthz(from: "127.0.0.1", port: port)
        #expect(allowed?.status == 200)
        #expect(allowed?.text == #"{"status":"ok"}"#)
        // 127.0.0.2 is this machine too, but not on the list: disconnected without an answer.
        #expect(try healthz(from: "127.0.0.2", port: port) == nil)
        #expect(child.output.contains("refused a FastCGI connection from a peer not in server.allowed_peers"))
        #expect(child.output.contains("peer=127.0.0.2"))
        #expect(try healthz(from: "127.0.0.1", port: port)?.status == 200)
    }

    @Test func everyInterfaceWithAnAllowListAnswersOnlyTheListedPeer() throws {
        let port = TestPaths.freePort()
        let child = try serve(listen: "0.0.0.0:\(port)", extra: "\n[server]\nallowed_peers = 127.0.0.2\n")
        defer { child.stop() }
        #expect(TestPaths.waitUntil(seconds: 10) { HTTPClient.canConnect(port: port) }, "\(child.output)")
        #expect(try healthz(from: "127.0.0.2", port: port)?.status == 200)
        #expect(try healthz(from: "127.0.0.1", port: port) == nil)
    }

    @Test func everyInterfaceWithoutAnAllowListDoesNotStart() throws {
        let port = TestPaths.freePort()
        let config = try configuration(listen: nil)
        for arguments in [["--listen", "0.0.0.0:\(port)"], ["--listen", "192.0.2.1:\(port)"]] {
            let run = try ChildProcess.run(TestPaths.binary, ["serve", "--config", config] + arguments, seconds: 20)
            #expect(run.status == 1, "\(arguments): \(run.output)")
            #expect(run.output.contains("server.listen = \(arguments[1])"), "\(run.output)")
            #expect(run.output.contains("set server.allowed_peers"), "\(run.output)")
        }
        let file = try configuration(listen: "0.0.0.0:\(port)")
        let fromFile = try ChildProcess.run(TestPaths.binary, ["serve", "--config", file], seconds: 20)
        #expect(fromFile.status == 1)
        #expect(fromFile.output.contains("server.allowed_peers"))
        let checked = try ChildProcess.run(TestPaths.binary, ["check-config", "--offline", "--config", file])
        #expect(checked.status == 1)
        #expect(checked.output.contains("set server.allowed_peers"))
        #expect(!HTTPClient.canConnect(port: port))
    }
}
