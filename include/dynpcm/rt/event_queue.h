#pragma once
/// EventQueue<T, N>: a bounded multi-producer, single-consumer queue of trivially copyable
/// records, of N slots or of a capacity given at construction (a queue sized to a card). The realtime thread reports what happened (state changes, xruns, pointer errors)
/// through it without locking, allocating or formatting; a control thread drains and formats.
///
/// Producers claim a slot with one CAS on the tail and publish it with a per-slot sequence
/// (Vyukov's bounded queue). A full queue drops the record and counts it: the RT thread never
/// waits for the consumer.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <type_traits>

namespace dynpcm {

template <typename T, size_t N>
class EventQueue {
    static_assert(N >= 2 && (N & (N - 1)) == 0, "N must be a power of two, at least 2");
    static_assert(std::is_trivially_copyable_v<T>);

public:
    /// A queue of at least `capacity` slots (rounded up to a power of two; N by default).
    /// Thread: control. Allocates: yes, once.
    explicit EventQueue(size_t capacity = N) : size_(round_up(capacity)), slots_(new Slot[size_]) {
        for (size_t i = 0; i < size_; ++i) slots_[i].seq.store(i, std::memory_order_relaxed);
    }
    EventQueue(const EventQueue&) = delete;
    EventQueue& operator=(const EventQueue&) = delete;

    /// Appends `v`, or drops it when full. Thread: any (rt-safe). Blocking: lock-free.
    /// Allocates: no.
    bool push(const T& v) noexcept {
        size_t pos = tail_.load(std::memory_order_relaxed);
        for (;;) {
            Slot& s = slots_[pos & (size_ - 1)];
            const size_t seq = s.seq.load(std::memory_order_acquire);
            const auto diff = static_cast<std::ptrdiff_t>(seq) - static_cast<std::ptrdiff_t>(pos);
            if (diff == 0) {
                if (tail_.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) {
                    s.value = v;
                    s.seq.store(pos + 1, std::memory_order_release);
                    return true;
                }
            } else if (diff < 0) {
                dropped_.fetch_add(1, std::memory_order_relaxed);
                return false;
            } else {
                pos = tail_.load(std::memory_order_relaxed);
            }
        }
    }

    /// Takes the oldest record. Thread: one consumer at a time (consumers may change, with a
    /// release/acquire hand-over between them). Blocking: wait-free. Allocates: no.
    std::optional<T> pop() noexcept {
        const size_t head = head_.load(std::memory_order_relaxed);
        Slot& s = slots_[head & (size_ - 1)];
        const size_t seq = s.seq.load(std::memory_order_acquire);
        if (seq != head + 1) return std::nullopt;
        T v = s.value;
        s.seq.store(head + size_, std::memory_order_release);
        head_.store(head + 1, std::memory_order_relaxed);
        return v;
    }

    /// True if there was no record to pop when looked at. Thread: any. Blocking: wait-free.
    bool empty_hint() const noexcept {
        const size_t head = head_.load(std::memory_order_relaxed);
        return slots_[head & (size_ - 1)].seq.load(std::memory_order_seq_cst) != head + 1;
    }

    /// Records lost because the queue was full. Thread: any.
    uint64_t dropped() const noexcept { return dropped_.load(std::memory_order_relaxed); }
    /// Slots. Thread: any.
    size_t capacity() const noexcept { return size_; }

private:
    static size_t round_up(size_t n) noexcept {
        size_t p = 2;
        while (p < n) p <<= 1;
        return p;
    }

    struct Slot {
        std::atomic<size_t> seq{0};
        T value{};
    };
    const size_t size_;
    const std::unique_ptr<Slot[]> slots_;
    alignas(64) std::atomic<size_t> tail_{0};
    alignas(64) std::atomic<size_t> head_{0};
    std::atomic<uint64_t> dropped_{0};
};

}  // namespace dynpcm
