import Foundation

/// At most two password checks (scrypt: about a quarter of a second and 32 MiB each) run at
/// once in a process. Without it a flood of sign-ins from many addresses would hold every
/// worker, and webhooks and license checks would wait behind them; with it the flood waits
/// here, briefly, and is refused with 503 beyond that.
final class PasswordCheckGate: @unchecked Sendable {
    static let shared = PasswordCheckGate(slots: 2)

    private let semaphore: DispatchSemaphore

    init(slots: Int) {
        semaphore = DispatchSemaphore(value: slots)
    }

    /// Runs `body` in a slot; nil when none freed up within `wait` seconds.
    func run<T>(wait: Double = 1, _ body: () throws -> T) rethrows -> T? {
        guard semaphore.wait(timeout: .now() + wait) == .success else { return nil }
        defer { semaphore.signal() }
        return try body()
    }
}
