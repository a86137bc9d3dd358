// Linux interfaces Swift's Glibc module does not bring in, or cannot call:
// - epoll and eventfd (the FastCGI arrival gate waits on many connections in one thread);
// - prctl(2), which is variadic: Swift does not import variadic C functions, so a wrapper
//   passes fixed arguments and returns prctl's result (0, or -1 with errno set).
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>

/// prctl(PR_SET_DUMPABLE, dumpable): 0 forbids core dumps and ptrace by other processes of the
/// same user, and makes /proc/PID files root-owned, so memory holding secrets stays in memory.
static inline int pfc_set_dumpable(int dumpable) {
    return prctl(PR_SET_DUMPABLE, (unsigned long)dumpable, 0UL, 0UL, 0UL);
}
