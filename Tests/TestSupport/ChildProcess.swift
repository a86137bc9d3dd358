import Foundation

/// A program the tests start, with posix_spawn and waitpid directly (Foundation's `Process`
/// busy-waits on Linux when a child's exit notification is missed, and hands its own signal
/// mask to children). The child starts with no blocked signals and default dispositions, as
/// a service manager would start it; its output goes to a log file the test can read.
public final class ChildProcess: @unchecked Sendable {
    public let pid: pid_t
    public let logPath: String
    private let lock = NSLock()
    private var exitStatus: Int32?

    /// Starts `executable` with `arguments`; `environment` adds to this process's environment.
    public init(
        _ executable: String, _ arguments: [String], environment: [String: String] = [:],
        logPath: String, stdinPath: String = "/dev/null"
    ) throws {
        self.logPath = logPath
        pid = try Self.spawn(executable, arguments, environment: environment, stdinPath: stdinPath, outputPath: logPath)
    }

    private static func spawn(
        _ executable: String, _ arguments: [String], environment: [String: String],
        stdinPath: String, outputPath: String
    ) throws -> pid_t {
        var env = ProcessInfo.processInfo.environment
        env.merge(environment) { $1 }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, stdinPath, O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        var allSignals = sigset_t()
        sigfillset(&allSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid = pid_t()
        let status = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        guard status == 0 else { throw TestSupportError("cannot start \(executable): \(String(cString: strerror(status)))") }
        return pid
    }

    /// Whether the program is still running (reaps it when it has exited).
    public var isRunning: Bool { status == nil }

    /// The exit status once the program has exited (128 + signal when killed by one).
    public var status: Int32? {
        lock.lock()
        defer { lock.unlock() }
        if let exitStatus { return exitStatus }
        var raw: Int32 = 0
        guard waitpid(pid, &raw, WNOHANG) == pid else { return nil }
        let signal = raw & 0x7f
        exitStatus = signal == 0 ? (raw >> 8) & 0xff : 128 + signal
        return exitStatus
    }

    /// What the program wrote so far.
    public var output: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// Sends `signal` (0: none, just wait) and waits up to `seconds` for the exit; returns the
    /// exit status, or nil when it had to be killed.
    @discardableResult
    public func stop(signal: Int32 = SIGTERM, seconds: Double = 15) -> Int32? {
        if isRunning, signal != 0 { kill(pid, signal) }
        if TestPaths.waitUntil(seconds: seconds, { !isRunning }) { return status }
        kill(pid, SIGKILL)
        _ = TestPaths.waitUntil(seconds: 5) { !isRunning }
        return nil
    }

    /// Sends a signal without waiting.
    public func signal(_ signal: Int32) { kill(pid, signal) }

    deinit {
        if isRunning {
            kill(pid, SIGKILL)
            _ = TestPaths.waitUntil(seconds: 5) { !isRunning }
        }
    }

    /// Runs a program to completion (at most `seconds`) and returns its status and output.
    public static func run(
        _ executable: String, _ arguments: [String], environment: [String: String] = [:],
        input: String? = nil, seconds: Double = 60
    ) throws -> (status: Int32, output: String) {
        let scratch = "/tmp/pfc-run-\(UUID().uuidString)"
        defer {
            unlink(scratch + ".out")
            unlink(scratch + ".in")
        }
        var stdinPath = "/dev/null"
        if let input {
            try input.write(toFile: scratch + ".in", atomically: true, encoding: .utf8)
            stdinPath = scratch + ".in"
        }
        let child = try ChildProcess(executable, arguments, environment: environment, logPath: scratch + ".out", stdinPath: stdinPath)
        let status = child.stop(signal: 0, seconds: seconds) ?? -1
        return (status, child.output)
    }
}
