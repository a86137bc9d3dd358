import Foundation

/// Strings collected from many threads at once (answers of concurrent requests).
public final class Statuses: @unchecked Sendable {
    // Guarded by `lock`.
    private let lock = NSLock()
    private var items: [String] = []

    public init() {}

    public func add(_ item: String) {
        lock.lock()
        items.append(item)
        lock.unlock()
    }

    public var all: [String] {
        lock.lock()
        defer { lock.unlock() }
        return items
    }
}
