#pragma once
/// Thread roles and the DYNPCM_ASSERT_THREAD check.
///
/// Every public function's comment names the role that may call it:
///   - `control`: any non-realtime thread (application, control path, CLI, tests);
///   - `rt`: the realtime thread that runs the interrupt path (period elapsed, pointer update);
///   - `any`: either.
/// A thread declares its role once with set_thread_role(). DYNPCM_ASSERT_THREAD(rt) aborts when
/// a thread tagged `control` calls an rt-only function, and vice versa. Untagged threads pass,
/// so small programs need no ceremony. The checks compile in only when DYNPCM_THREAD_ASSERTS is
/// set (debug and sanitizer builds).

namespace dynpcm {

enum class ThreadRole { Unknown, Control, Rt };

/// Tags the calling thread. Thread: any. Blocking: wait-free. Allocates: no.
void set_thread_role(ThreadRole role) noexcept;
/// The calling thread's tag. Thread: any. Blocking: wait-free. Allocates: no.
ThreadRole thread_role() noexcept;

namespace detail {
[[noreturn]] void thread_role_violation(const char* expected, const char* function) noexcept;
}

}  // namespace dynpcm

#if defined(DYNPCM_THREAD_ASSERTS)
#define DYNPCM_ASSERT_THREAD(role)                                                        \
    do {                                                                                  \
        constexpr auto dynpcm_want_ = ::dynpcm::ThreadRole::DYNPCM_ROLE_##role;           \
        const auto dynpcm_have_ = ::dynpcm::thread_role();                                \
        if (dynpcm_have_ != ::dynpcm::ThreadRole::Unknown && dynpcm_have_ != dynpcm_want_) \
            ::dynpcm::detail::thread_role_violation(#role, __func__);                     \
    } while (0)
#else
#define DYNPCM_ASSERT_THREAD(role) \
    do {                           \
    } while (0)
#endif
#define DYNPCM_ROLE_control Control
#define DYNPCM_ROLE_rt Rt
