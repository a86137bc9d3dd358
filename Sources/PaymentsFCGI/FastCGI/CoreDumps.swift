internal import CLinux
import Glibc

/// Keeps the secrets a serving process holds (database password, webhook secrets, key pepper,
/// license keys passing through) out of core files and away from same-user debuggers.
enum CoreDumps {
    /// `prctl(PR_SET_DUMPABLE, 0)`; called before the configuration (and its secrets) is read.
    static func forbid() throws(StartupError) {
        guard pfc_set_dumpable(0) == 0 else {
            throw StartupError("cannot disable core dumps (prctl PR_SET_DUMPABLE): \(String(cString: strerror(errno)))")
        }
    }
}
