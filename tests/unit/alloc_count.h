#pragma once
// Allocation counting for tests that prove a realtime path never allocates. Linking
// alloc_count.cpp into a test binary replaces its global operator new and delete; they count
// the calls made by threads that have counting on. That the counter sees what it should is
// shown by AlsaRt.TheCounterSeesAllocations (operator new, malloc, alsa-lib) and
// RtAllocation.CounterCatchesAnAllocationOnTheInterruptPath.

#include <cstdint>

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
