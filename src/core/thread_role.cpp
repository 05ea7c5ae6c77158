#include "dynpcm/core/thread_role.h"

#include <cstdio>
#include <cstdlib>

namespace dynpcm {

namespace {
thread_local ThreadRole t_role = ThreadRole::Unknown;
}

void set_thread_role(ThreadRole role) noexcept { t_role = role; }
ThreadRole thread_role() noexcept { return t_role; }

void detail::thread_role_violation(const char* expected, const char* function) noexcept {
    // A programming error, not a runtime condition: fail loudly where it happened.
    std::fprintf(stderr, "dynpcm: %s() must be called from a '%s' thread\n", function, expected);
    std::abort();
}

}  // namespace dynpcm
