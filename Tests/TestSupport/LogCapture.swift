import Logging
import Synchronization

/// Collects log lines in memory so a test can assert what was (and was not) logged.
public final class LogCapture: Sendable {
    private let lines = Mutex<[String]>([])

    public init() {}

    /// A logger whose every event lands here, rendered as `level message key=value…`.
    public func logger(label: String = "test") -> Logger {
        Logger(label: label) { _ in CapturingHandler(capture: self) }
    }

    public var all: [String] { lines.withLock { $0 } }

    public var text: String { all.joined(separator: "\n") }

    fileprivate func append(_ line: String) { lines.withLock { $0.append(line) } }

    private struct CapturingHandler: LogHandler {
        let capture: LogCapture
        var logLevel: Logger.Level = .trace
        var metadata: Logger.Metadata = [:]

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            var merged = metadata
            if let extra = event.metadata { merged.merge(extra) { $1 } }
            let fields = merged.keys.sorted().map { "\($0)=\(merged[$0]!)" }.joined(separator: " ")
            capture.append("\(event.level) \(event.message) \(fields)")
        }
    }
}
