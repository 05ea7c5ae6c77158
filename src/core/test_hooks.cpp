#include <array>

#include "core/test_point.h"

namespace dynpcm {

#if defined(DYNPCM_TEST_HOOKS)
namespace detail {
std::atomic<const HookSlot*> g_test_hook{nullptr};
std::atomic<uint64_t> g_retired_reads{0};
}  // namespace detail

namespace {
// Slots are reused round-robin, never freed: a reader still calling an old hook keeps a valid
// slot (tests install far fewer than 64 hooks at once).
std::array<detail::HookSlot, 64> g_hook_slots{};
std::atomic<unsigned> g_next_hook_slot{0};
}  // namespace
#endif

uint64_t test::retired_link_reads() noexcept {
#if defined(DYNPCM_TEST_HOOKS)
    return detail::g_retired_reads.load(std::memory_order_relaxed);
#else
    return 0;
#endif
}

bool test::set_hook(Hook hook, void* context) noexcept {
#if defined(DYNPCM_TEST_HOOKS)
    if (!hook) {
        detail::g_test_hook.store(nullptr, std::memory_order_release);
        return true;
    }
    detail::HookSlot& slot = g_hook_slots[g_next_hook_slot.fetch_add(1) % g_hook_slots.size()];
    slot = detail::HookSlot{hook, context};
    detail::g_test_hook.store(&slot, std::memory_order_release);
    return true;
#else
    (void)hook;
    (void)context;
    return false;
#endif
}

}  // namespace dynpcm
