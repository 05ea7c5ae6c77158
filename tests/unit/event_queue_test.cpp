// EventQueue<T, N>: bounded MPSC queue; FIFO, drop-on-full, wrap-around, and concurrent producers.

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <thread>
#include <vector>

#include "dynpcm/rt/event_queue.h"

namespace {

using dynpcm::EventQueue;

struct Record {
    uint32_t producer;
    uint32_t seq;
};

TEST(EventQueue, NewQueueIsEmptyAndHasDroppedNothing) {
    EventQueue<int, 8> q;
    EXPECT_FALSE(q.pop().has_value());
    EXPECT_EQ(q.dropped(), 0U);
}

TEST(EventQueue, PopsInFifoOrder) {
    EventQueue<int, 8> q;
    for (int i = 1; i <= 5; ++i) ASSERT_TRUE(q.push(i * 10));
    for (int i = 1; i <= 5; ++i) {
        const std::optional<int> v = q.pop();
        ASSERT_TRUE(v.has_value());
        EXPECT_EQ(*v, i * 10);
    }
    EXPECT_FALSE(q.pop().has_value());
}

TEST(EventQueue, CarriesWholeTriviallyCopyableRecords) {
    EventQueue<Record, 4> q;
    ASSERT_TRUE(q.push({7, 123456789}));
    const auto r = q.pop();
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->producer, 7U);
    EXPECT_EQ(r->seq, 123456789U);
}

TEST(EventQueue, FullQueueDropsNewRecordsAndCountsThem) {
    EventQueue<int, 4> q;
    for (int i = 0; i < 4; ++i) ASSERT_TRUE(q.push(i));
    EXPECT_EQ(q.dropped(), 0U);
    EXPECT_FALSE(q.push(100));
    EXPECT_FALSE(q.push(101));
    EXPECT_FALSE(q.push(102));
    EXPECT_EQ(q.dropped(), 3U);
    // The records already queued survive untouched, and the dropped ones never appear.
    for (int i = 0; i < 4; ++i) {
        const auto v = q.pop();
        ASSERT_TRUE(v.has_value());
        EXPECT_EQ(*v, i);
    }
    EXPECT_FALSE(q.pop().has_value());
    EXPECT_EQ(q.dropped(), 3U);
}

TEST(EventQueue, PopFreesASlotForTheNextPush) {
    EventQueue<int, 2> q;
    ASSERT_TRUE(q.push(1));
    ASSERT_TRUE(q.push(2));
    EXPECT_FALSE(q.push(3));
    ASSERT_EQ(q.pop(), std::optional<int>(1));
    EXPECT_TRUE(q.push(4));
    EXPECT_FALSE(q.push(5));
    EXPECT_EQ(q.pop(), std::optional<int>(2));
    EXPECT_EQ(q.pop(), std::optional<int>(4));
    EXPECT_FALSE(q.pop().has_value());
    EXPECT_EQ(q.dropped(), 2U);
}

TEST(EventQueue, TwoSlotQueueHoldsTwoRecordsAndDropsTheRest) {
    // The smallest size allowed (a one-slot queue cannot tell full from free and is rejected
    // at compile time).
    EventQueue<int, 2> q;
    ASSERT_TRUE(q.push(1));
    ASSERT_TRUE(q.push(2));
    EXPECT_FALSE(q.push(3)) << "a full two-slot queue accepted a third record";
    EXPECT_EQ(q.dropped(), 1U);
    EXPECT_EQ(q.pop(), std::optional<int>(1));
    EXPECT_EQ(q.pop(), std::optional<int>(2));
    EXPECT_FALSE(q.pop().has_value());
    EXPECT_TRUE(q.push(4));
    EXPECT_EQ(q.pop(), std::optional<int>(4));
}

TEST(EventQueue, WrapsAroundOverManyPushPopCycles) {
    EventQueue<uint32_t, 4> q;
    uint32_t next_push = 0;
    uint32_t next_pop = 0;
    // Varying batch sizes (1..4) so head and tail land on every slot index many times.
    for (int cycle = 0; cycle < 20000; ++cycle) {
        const int batch = 1 + cycle % 4;
        for (int i = 0; i < batch; ++i) ASSERT_TRUE(q.push(next_push++)) << "cycle " << cycle;
        for (int i = 0; i < batch; ++i) {
            const auto v = q.pop();
            ASSERT_TRUE(v.has_value()) << "cycle " << cycle;
            ASSERT_EQ(*v, next_pop++) << "cycle " << cycle;
        }
        ASSERT_FALSE(q.pop().has_value());
    }
    EXPECT_EQ(next_pop, next_push);
    EXPECT_EQ(q.dropped(), 0U);
}

TEST(EventQueue, WrapAroundWhileFullStillDropsCorrectly) {
    EventQueue<int, 4> q;
    uint64_t expected_drops = 0;
    int value = 0;
    int expect = 0;
    for (int cycle = 0; cycle < 1000; ++cycle) {
        // Fill beyond capacity, then drain completely.
        for (int i = 0; i < 6; ++i) {
            if (i < 4) {
                ASSERT_TRUE(q.push(value++));
            } else {
                ASSERT_FALSE(q.push(-1));
                ++expected_drops;
            }
        }
        for (int i = 0; i < 4; ++i) ASSERT_EQ(q.pop(), std::optional<int>(expect++));
        ASSERT_FALSE(q.pop().has_value());
    }
    EXPECT_EQ(q.dropped(), expected_drops);
}

TEST(EventQueue, TwoProducersOneConsumerDeliverEveryRecordExactlyOnce) {
    constexpr uint32_t kPerProducer = 100000;
    constexpr uint32_t kProducers = 2;
    EventQueue<Record, 256> q;
    std::atomic<bool> go{false};
    std::atomic<bool> stop{false};  // set if the consumer gives up, so producers cannot hang

    auto producer = [&](uint32_t id) {
        while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
        for (uint32_t s = 0; s < kPerProducer; ++s) {
            // A full queue drops; retry so every record is eventually delivered.
            while (!q.push(Record{id, s})) {
                if (stop.load(std::memory_order_relaxed)) return;
                std::this_thread::yield();
            }
        }
    };

    std::vector<std::thread> threads;
    for (uint32_t id = 0; id < kProducers; ++id) threads.emplace_back(producer, id);

    std::array<std::vector<uint8_t>, kProducers> seen;
    for (auto& s : seen) s.assign(kPerProducer, 0);
    std::array<int64_t, kProducers> last{-1, -1};
    uint32_t received = 0;
    uint32_t duplicates = 0;
    uint32_t out_of_order = 0;
    uint32_t garbage = 0;

    go.store(true, std::memory_order_release);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (received < kPerProducer * kProducers) {
        const auto r = q.pop();
        if (!r) {
            if (std::chrono::steady_clock::now() > deadline) break;
            std::this_thread::yield();
            continue;
        }
        ++received;
        if (r->producer >= kProducers || r->seq >= kPerProducer) {
            ++garbage;
            continue;
        }
        if (seen[r->producer][r->seq]++ != 0) ++duplicates;
        // Each producer's records keep their relative order.
        if (static_cast<int64_t>(r->seq) <= last[r->producer]) ++out_of_order;
        last[r->producer] = r->seq;
    }
    stop.store(true, std::memory_order_relaxed);
    for (auto& t : threads) t.join();

    EXPECT_EQ(received, kPerProducer * kProducers);
    EXPECT_EQ(garbage, 0U);
    EXPECT_EQ(duplicates, 0U);
    EXPECT_EQ(out_of_order, 0U);
    for (uint32_t id = 0; id < kProducers; ++id) {
        uint32_t missing = 0;
        for (uint8_t s : seen[id])
            if (s == 0) ++missing;
        EXPECT_EQ(missing, 0U) << "producer " << id;
    }
    EXPECT_FALSE(q.pop().has_value()) << "extra records after all were received";
}

}  // namespace
