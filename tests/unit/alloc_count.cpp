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

#if defined(DYNPCM_TEST_COUNTS_MALLOC)
extern "C" {
void* __libc_malloc(std::size_t n);
void* __libc_calloc(std::size_t n, std::size_t size);
void* __libc_realloc(void* p, std::size_t n);
void __libc_free(void* p);
}
#endif

namespace {
// operator new counts once: it takes glibc's malloc directly when malloc itself counts too.
void* raw_malloc(std::size_t n) {
#if defined(DYNPCM_TEST_COUNTS_MALLOC)
    return __libc_malloc(n);
#else
    return std::malloc(n);
#endif
}
void* checked(void* p) {
    if (!p) throw std::bad_alloc();
    return p;
}
void* allocate(std::size_t n) {
    dynpcm::testutil::note_allocation();
    return checked(raw_malloc(n ? n : 1));
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
// The nothrow forms too (std::stable_sort's temporary buffer uses them): a runtime's own nothrow
// new paired with the delete above is a mismatch ASan reports.
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
    try {
        return allocate(n);
    } catch (...) {
        return nullptr;
    }
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
    try {
        return allocate(n);
    } catch (...) {
        return nullptr;
    }
}
void operator delete(void* p, const std::nothrow_t&) noexcept { release(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { release(p); }

// C libraries (alsa-lib, libsamplerate) allocate with malloc, not operator new: on glibc,
// interpose malloc and friends (forwarding to glibc's own entry points) so that their
// allocations count too.
#if defined(DYNPCM_TEST_COUNTS_MALLOC)
extern "C" {
void* malloc(std::size_t n) noexcept {
    dynpcm::testutil::note_allocation();
    return __libc_malloc(n);
}
void* calloc(std::size_t n, std::size_t size) noexcept {
    dynpcm::testutil::note_allocation();
    return __libc_calloc(n, size);
}
void* realloc(void* p, std::size_t n) noexcept {
    dynpcm::testutil::note_allocation();
    return __libc_realloc(p, n);
}
void free(void* p) noexcept { __libc_free(p); }
}
#endif
