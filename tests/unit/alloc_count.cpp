// The global operator new and delete of the test binaries that count allocations
// (alloc_count.h).

#include "alloc_count.h"

#include <atomic>
#include <cstdlib>
#include <new>

namespace dynpcm::testutil {
namespace {
thread_local bool t_counting = false;
std::atomic<bool (*)() noexcept> g_pred{nullptr};
std::atomic<uint64_t> g_allocs{0};
std::atomic<uint64_t> g_frees{0};

bool counting() noexcept {
    if (t_counting) return true;
    const auto pred = g_pred.load(std::memory_order_relaxed);
    return pred && pred();
}
}  // namespace

CountHere::CountHere() noexcept { t_counting = true; }
CountHere::~CountHere() { t_counting = false; }
void count_threads_where(bool (*pred)() noexcept) noexcept { g_pred.store(pred, std::memory_order_relaxed); }
uint64_t allocations() noexcept { return g_allocs.load(std::memory_order_relaxed); }
uint64_t frees() noexcept { return g_frees.load(std::memory_order_relaxed); }
void reset_allocation_counts() noexcept {
    g_allocs.store(0, std::memory_order_relaxed);
    g_frees.store(0, std::memory_order_relaxed);
}
void note_allocation() noexcept {
    if (counting()) g_allocs.fetch_add(1, std::memory_order_relaxed);
}
void note_free() noexcept {
    if (counting()) g_frees.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace dynpcm::testutil

namespace {
void* checked(void* p) {
    if (!p) throw std::bad_alloc();
    return p;
}
void* allocate(std::size_t n) {
    dynpcm::testutil::note_allocation();
    return checked(std::malloc(n ? n : 1));
}
void* allocate(std::size_t n, std::align_val_t a) {
    dynpcm::testutil::note_allocation();
    const auto al = static_cast<std::size_t>(a);
    return checked(std::aligned_alloc(al, ((n ? n : 1) + al - 1) / al * al));
}
// Out of line, so that the compiler does not see operator new's memory reach free() and warn
// about a mismatch (-Wmismatched-new-delete): here they are the same allocator.
[[gnu::noinline]] void release(void* p) noexcept {
    if (!p) return;
    dynpcm::testutil::note_free();
    std::free(p);
}
}  // namespace

void* operator new(std::size_t n) { return allocate(n); }
void* operator new[](std::size_t n) { return allocate(n); }
void* operator new(std::size_t n, std::align_val_t a) { return allocate(n, a); }
void* operator new[](std::size_t n, std::align_val_t a) { return allocate(n, a); }
void operator delete(void* p) noexcept { release(p); }
void operator delete[](void* p) noexcept { release(p); }
void operator delete(void* p, std::size_t) noexcept { release(p); }
void operator delete[](void* p, std::size_t) noexcept { release(p); }
void operator delete(void* p, std::align_val_t) noexcept { release(p); }
void operator delete[](void* p, std::align_val_t) noexcept { release(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { release(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { release(p); }
