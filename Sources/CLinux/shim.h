// Linux process controls Swift cannot call directly: prctl(2) is variadic, and Swift does not
// import variadic C functions. Each wrapper passes fixed arguments and returns prctl's result
// (0, or -1 with errno set).
#include <sys/prctl.h>

/// prctl(PR_SET_DUMPABLE, dumpable): 0 forbids core dumps and ptrace by other processes of the
/// same user, and makes /proc/PID files root-owned, so memory holding secrets stays in memory.
static inline int pfc_set_dumpable(int dumpable) {
    return prctl(PR_SET_DUMPABLE, (unsigned long)dumpable, 0UL, 0UL, 0UL);
}
