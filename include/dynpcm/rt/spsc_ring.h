#pragma once
/// SpscRing: a bounded single-producer single-consumer ring of trivially copyable items,
/// wait-free on both sides. The realtime thread uses it to hand samples to and from disk
/// threads (the wav backend) and between the two ends of an FE->BE port.
///
/// Thread: one producer and one consumer at a time, either of which may be the rt thread.
/// Storage is allocated by the constructor (control) and never again.

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstring>
#include <type_traits>
#include <vector>

namespace dynpcm {

template <class T>
class SpscRing {
    static_assert(std::is_trivially_copyable_v<T>);

public:
    /// Holds up to `capacity` items. Thread: control. Allocates: yes.
    explicit SpscRing(size_t capacity) : buf_(capacity + 1) {}
    SpscRing(const SpscRing&) = delete;
    SpscRing& operator=(const SpscRing&) = delete;

    size_t capacity() const noexcept { return buf_.size() - 1; }

    /// Items ready to pop / room to push. Thread: either side. Blocking: wait-free.
    size_t readable() const noexcept {
        const size_t w = write_.load(std::memory_order_acquire), r = read_.load(std::memory_order_acquire);
        return w >= r ? w - r : w + buf_.size() - r;
    }
    size_t writable() const noexcept { return capacity() - readable(); }

    /// Copies up to `n` items in; returns how many fit. Thread: producer. Blocking: wait-free.
    /// Allocates: no.
    size_t push(const T* src, size_t n) noexcept {
        const size_t r = read_.load(std::memory_order_acquire);
        size_t w = write_.load(std::memory_order_relaxed);
        const size_t room = (r > w ? r - w : r + buf_.size() - w) - 1;
        n = std::min(n, room);
        if (n == 0) return 0;
        const size_t first = std::min(n, buf_.size() - w);
        std::memcpy(&buf_[w], src, first * sizeof(T));
        std::memcpy(&buf_[0], src + first, (n - first) * sizeof(T));
        w += n;
        if (w >= buf_.size()) w -= buf_.size();
        write_.store(w, std::memory_order_release);
        return n;
    }
    /// Pushes `n` zero-valued items (or fewer if full). Thread: producer.
    size_t push_zeros(size_t n) noexcept {
        const size_t r = read_.load(std::memory_order_acquire);
        size_t w = write_.load(std::memory_order_relaxed);
        const size_t room = (r > w ? r - w : r + buf_.size() - w) - 1;
        n = std::min(n, room);
        if (n == 0) return 0;
        const size_t first = std::min(n, buf_.size() - w);
        std::memset(static_cast<void*>(&buf_[w]), 0, first * sizeof(T));
        std::memset(static_cast<void*>(&buf_[0]), 0, (n - first) * sizeof(T));
        w += n;
        if (w >= buf_.size()) w -= buf_.size();
        write_.store(w, std::memory_order_release);
        return n;
    }
    /// Copies up to `n` items out; returns how many there were. Thread: consumer.
    /// Blocking: wait-free. Allocates: no.
    size_t pop(T* dst, size_t n) noexcept {
        const size_t w = write_.load(std::memory_order_acquire);
        size_t r = read_.load(std::memory_order_relaxed);
        const size_t have = w >= r ? w - r : w + buf_.size() - r;
        n = std::min(n, have);
        if (n == 0) return 0;  // dst may then be null (an empty vector's data())
        const size_t first = std::min(n, buf_.size() - r);
        std::memcpy(dst, &buf_[r], first * sizeof(T));
        std::memcpy(dst + first, &buf_[0], (n - first) * sizeof(T));
        r += n;
        if (r >= buf_.size()) r -= buf_.size();
        read_.store(r, std::memory_order_release);
        return n;
    }
    /// Drops up to `n` items. Thread: consumer.
    size_t skip(size_t n) noexcept {
        const size_t w = write_.load(std::memory_order_acquire);
        size_t r = read_.load(std::memory_order_relaxed);
        const size_t have = w >= r ? w - r : w + buf_.size() - r;
        n = std::min(n, have);
        r += n;
        if (r >= buf_.size()) r -= buf_.size();
        read_.store(r, std::memory_order_release);
        return n;
    }

private:
    std::vector<T> buf_;
    alignas(64) std::atomic<size_t> write_{0};
    alignas(64) std::atomic<size_t> read_{0};
};

}  // namespace dynpcm
