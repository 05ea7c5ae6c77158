#pragma once
// Allocation counting for tests that prove a realtime path never allocates. Linking
// alloc_count.cpp into a test binary replaces its global operator new and delete; they count
// the calls made by threads that have counting on. That the counter sees what it should is
// shown by AlsaRt.TheCounterSeesAllocations (operator new, malloc, alsa-lib) and
// RtAllocation.CounterCatchesAnAllocationOnTheInterruptPath.

#include <cstdint>

// Whether malloc, calloc and realloc count too (alloc_count.cpp interposes them on glibc).
// Sanitizer runtimes own malloc, so those builds count operator new only.
#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
#define DYNPCM_TEST_SANITIZED_MALLOC 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define DYNPCM_TEST_SANITIZED_MALLOC 1
#endif
#if defined(__GLIBC__) && !defined(DYNPCM_TEST_SANITIZED_MALLOC)
#define DYNPCM_TEST_COUNTS_MALLOC 1
#endif


namespace dynpcm::testutil {

/// Counts the calling thread's allocations and frees while it lives.
class CountHere {
public:
    CountHere() noexcept;
    ~CountHere();
    CountHere(const CountHere&) = delete;
    CountHere& operator=(const CountHere&) = delete;
};

/// Also counts on every thread for which `pred()` holds (e.g. threads tagged rt); null: none.
void count_threads_where(bool (*pred)() noexcept) noexcept;

uint64_t allocations() noexcept;
uint64_t frees() noexcept;
void reset_allocation_counts() noexcept;

/// One allocation or free, counted if the calling thread counts (operator new and delete call
/// these; so may a test's own malloc interposition).
void note_allocation() noexcept;
void note_free() noexcept;

}  // namespace dynpcm::testutil
