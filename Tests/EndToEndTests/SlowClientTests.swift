import Foundation
import TestSupport
import Testing

/// Apache's mod_proxy_fcgi passes request bodies on as they arrive, so a client that uploads
/// slowly keeps its FastCGI connection busy for as long as it likes. Such clients must not hold
/// the workers: everyone else is still answered promptly, and the slow uploads end in an error.
@Suite("Slow clients through Apache mod_proxy_fcgi")
struct SlowClientTests {
    static let readTimeout = 2

    @Test func sixtyFourTricklingUploadsDoNotHoldFourWorkers() throws {
        let stack = try Stack(
            workers: 4,
            extra: """

                [server]
                request_read_timeout_seconds = \(Self.readTimeout)

                [licensing]
                key_pepper = slow-clients-pepper-0123456789abcdef
                """)
        let apache = try ApacheServer(.proxyFCGI(socket: stack.service.socketPath))
        let port = apache.port
        let outcomes = Outcomes()
        let trickling = Thread {
            Simultaneously.run(
                64, prepare: { _ in TricklingUpload.connect(port: port) },
                body: { _, fd in
                    guard let fd else { return outcomes.add(.notConnected) }
                    outcomes.add(TricklingUpload.run(fd: fd, path: "/payments/license/verify", bodyLength: 60, interval: 0.2, limit: 30))
                })
            outcomes.finish()
        }
        trickling.start()
        usleep(500_000)  // every upload is under way: more than there are workers

        // Meanwhile everyone else is answered at once, for longer than the uploads' time limit.
        let until = Date().addingTimeInterval(Double(Self.readTimeout) + 2)
        var rounds = 0
        while Date() < until {
            rounds += 1
            let live = try timed { try HTTPClient.send(port: port, path: "/payments/livez", timeout: 10) }
            #expect(live.reply.status == 200, "\(live.reply.text)")
            #expect(live.seconds < 2, "livez took \(live.seconds) s with slow uploads in flight")
            let verify = try timed {
                try HTTPClient.send(
                    port: port, method: "POST", path: "/payments/license/verify",
                    headers: [("Content-Type", "application/x-www-form-urlencoded")],
                    body: Array("license_key=PFC-AAAAAAA-BBBBBBB-CCCCCCC-DDDDDDD&site_url=https://a.example.com".utf8), timeout: 10)
            }
            #expect(verify.reply.status == 200, "\(verify.reply.text)")
            #expect(verify.reply.json["status"] as? String == "invalid")
            #expect(verify.seconds < 2, "verify took \(verify.seconds) s with slow uploads in flight")
            usleep(250_000)
        }
        #expect(rounds >= 4)

        // Every slow upload ended soon after its time was up, with our 408 (relayed by Apache,
        // because the service reads off the rest before it closes), none hung.
        #expect(outcomes.waitForAll(seconds: 40))
        let all = outcomes.all
        #expect(all.count == 64)
        #expect(all.allSatisfy { !$0.hung && $0.status == 408 }, "\(all)")
        #expect(all.allSatisfy { $0.seconds < Double(Self.readTimeout) + 5 }, "\(all)")
        #expect(stack.service.log.components(separatedBy: "status=408").count - 1 == 64)
    }

    private func timed(_ body: () throws -> HTTPClient.Reply) throws -> (reply: HTTPClient.Reply, seconds: Double) {
        let started = Date()
        let reply = try body()
        return (reply, Date().timeIntervalSince(started))
    }
}

/// Outcomes collected from many threads.
final class Outcomes: @unchecked Sendable {
    // Guarded by `condition`'s lock.
    private let condition = NSCondition()
    private var items: [TricklingUpload.Outcome] = []
    private var finished = false

    func add(_ outcome: TricklingUpload.Outcome) {
        condition.lock()
        items.append(outcome)
        condition.unlock()
    }

    func finish() {
        condition.lock()
        finished = true
        condition.broadcast()
        condition.unlock()
    }

    func waitForAll(seconds: Double) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        let deadline = Date().addingTimeInterval(seconds)
        while !finished { if !condition.wait(until: deadline) { return false } }
        return true
    }

    var all: [TricklingUpload.Outcome] {
        condition.lock()
        defer { condition.unlock() }
        return items
    }
}
