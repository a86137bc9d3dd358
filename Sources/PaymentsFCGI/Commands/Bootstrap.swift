import Handlers
import Logging

enum Bootstrap {
    /// Routes swift-log to standard error at `level`. Call once, before threads start.
    static func logging(level: Logger.Level) -> Logger {
        LoggingSystem.bootstrap { label in LineLogHandler(label: label, level: level) }
        return Logger(label: "payments-fcgi")
    }

    /// A logger for operator commands: only errors, and they go to standard error.
    static func quietLogger() -> Logger {
        var logger = Logger(label: "payments-fcgi") { label in LineLogHandler(label: label, level: .error) }
        logger.logLevel = .error
        return logger
    }
}
