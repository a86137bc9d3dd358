import Foundation

/// At most two password checks (scrypt: about a quarter of a second and 32 MiB each) run at
/// once in a process, plus one kept for browsers that signed in before (`AdminDevice`). Without
/// it a flood of sign-ins from many addresses would hold every worker in scrypt, and webhooks
/// and license checks would wait behind them; with it a sign-in waits at most a fifth of a
/// second for a slot and is then refused with 503, and the seller's own browser still has its
/// slot.
final class PasswordCheckGate: @unchecked Sendable {
    static let shared = PasswordCheckGate(slots: 2)
    static let rememberedBrowsers = PasswordCheckGate(slots: 1)

    private let semaphore: DispatchSemaphore

    init(slots: Int) {
        semaphore = DispatchSemaphore(value: slots)
    }

    /// Runs `body` in a slot; nil when none freed up within `wait` seconds.
    func run<T>(wait: Double = 0.2, _ body: () throws -> T) rethrows -> T? {
        guard semaphore.wait(timeout: .now() + wait) == .success else { return nil }
        defer { semaphore.signal() }
        return try body()
    }
}
