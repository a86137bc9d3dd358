import Foundation

/// Where domain code gets the time. Injected through `Context`, so tests can move time.
public protocol TimeSource: Sendable {
    var now: Date { get }
}

/// The real wall clock.
public struct SystemTime: TimeSource {
    public init() {}
    public var now: Date { Date() }
}
