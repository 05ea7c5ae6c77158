#pragma once
// test_point(): where the library calls the test hook (include/dynpcm/core/test_hooks.h).
// Compiles to nothing unless the library is built with DYNPCM_TEST_HOOKS.

#include <atomic>
#include <cstdint>

#include "dynpcm/core/test_hooks.h"

namespace dynpcm::detail {

#if defined(DYNPCM_TEST_HOOKS)
// The hook and its context change together, through one pointer: a reader must never pair an
// old hook with a new (or cleared) context.
struct HookSlot {
    test::Hook hook;
    void* context;
};
extern std::atomic<const HookSlot*> g_test_hook;
extern std::atomic<uint64_t> g_retired_reads;
inline void test_point(test::Point p, uint32_t id) {
    if (const HookSlot* h = g_test_hook.load(std::memory_order_acquire)) h->hook(p, id, h->context);
}
#else
inline void test_point(test::Point, uint32_t) {}
#endif

}  // namespace dynpcm::detail
