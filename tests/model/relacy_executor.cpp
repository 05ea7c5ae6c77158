// Relacy model test of dynpcm::SerialExecutor (include/dynpcm/rt/serial_executor.h): flat
// combining for a BE written by the control path (run: take ownership, waiting if needed) and
// the realtime thread (post: push to a lock-free queue, try to own once, never wait).
// Claims checked: every posted command runs exactly once, and commands and control functions
// never overlap (each owner sees everything the previous owners wrote).
//
// Part A runs the REAL template, SerialExecutor<Cmd, 4, RlPolicy>. Its queue, though, is
// dynpcm::EventQueue, which uses std::atomic directly: Relacy cannot see those operations (they
// execute atomically and sequentially consistently between Relacy's scheduling points). So
// Part A checks what goes through the policy -- the ownership flag and its release/acquire
// hand-over from one owner to the next -- but it cannot check the seq_cst fences in post() and
// drain_and_leave(), whose partner accesses are in the queue. (Dropping those fences in Part A
// would pass: the model cannot see the store-buffering they prevent.)
//
// Part B therefore models the executor's post / drain_and_leave / re-check protocol line for
// line (ModelExecutor below, same statements and orderings as serial_executor.h) around
// RlEventQueue, a copy of EventQueue's algorithm (Vyukov's bounded MPSC queue, same orderings)
// written with rl::atomic and rl::var, so Relacy explores the queue's memory orderings too.
// Library headers are not edited; if serial_executor.h or event_queue.h change, update the
// mirrors here.
//
// Each part also runs WEAKENED variants that must fail: relaxed ownership hand-over (data race
// on the BE state), no fence in post(), no fence in drain_and_leave(), no fences at all, no
// re-check on leave (a command is lost: the after() check fails). The program exits 0 only if
// every correct variant passes and every weakened one fails as expected.
//
// Build: -std=c++20 -fno-sized-deallocation -fno-lifetime-dse, no sanitizers.

#include "dynpcm/rt/serial_executor.h"

#include "relacy_harness.h"

namespace dynpcm::model {
namespace {

constexpr size_t kQueue = 4;  // >= the most commands in flight in any test: none is dropped
constexpr int kMaxIds = 4;

struct Cmd {
    uint32_t id;
};

/// What the executor serialises: the BE's bookkeeping, touched only by the current owner.
struct Be {
    rl::var<int> state;          // every command and every control function writes it
    rl::var<int> runs[kMaxIds];  // how many times each command ran
    bool posted[kMaxIds] = {};   // post() accepted it (plain: each written by one thread, read in after())

    void init() {
        state(RL_INFO) = 0;
        for (auto& r : runs) r(RL_INFO) = 0;
    }
    void apply(uint32_t id) {
        runs[id](RL_INFO) = runs[id](RL_INFO) + 1;
        state(RL_INFO) = state(RL_INFO) + 1;
    }
    void control() { state(RL_INFO) = state(RL_INFO) + 100; }
    /// After every thread finished: each accepted command ran exactly once, none was lost.
    void check(int ids, int control_runs) {
        int total = 0;
        for (int id = 0; id < ids; ++id) {
            RL_ASSERT(posted[id]);                 // the queue is big enough: nothing dropped
            const int n = runs[id](RL_INFO);
            const bool command_lost = n == 0;      // stranded in the queue
            const bool command_ran_twice = n > 1;
            RL_ASSERT(!command_lost);
            RL_ASSERT(!command_ran_twice);
            total += n;
        }
        RL_ASSERT(state(RL_INFO) == total + 100 * control_runs);
    }
};

// ---- Part A: the real SerialExecutor ------------------------------------------------------

/// One control thread calling run() kControlRuns times; kRt realtime threads posting kPosts
/// commands each.
template <class Policy, int kRt, int kPosts, int kControlRuns>
struct RealExecutorTest : rl::test_suite<RealExecutorTest<Policy, kRt, kPosts, kControlRuns>, 1 + kRt> {
    static_assert(kRt * kPosts <= kMaxIds && kRt * kPosts <= static_cast<int>(kQueue));
    InPlace<SerialExecutor<Cmd, kQueue, Policy>> exec;
    Be be;

    void before() { be.init(); }
    void thread(unsigned index) {
        auto run_cmd = [this](const Cmd& c) { be.apply(c.id); };
        if (index == 0) {
            for (int r = 0; r < kControlRuns; ++r) exec->run([this] { be.control(); }, run_cmd);
        } else {
            for (int k = 0; k < kPosts; ++k) {
                const uint32_t id = (index - 1) * kPosts + static_cast<uint32_t>(k);
                be.posted[id] = exec->post(Cmd{id}, run_cmd);
            }
        }
    }
    void after() { be.check(kRt * kPosts, kControlRuns); }
};

// ---- Part B: the protocol around an rl-visible queue ---------------------------------------

/// dynpcm::EventQueue<uint32_t, N>'s algorithm with rl::atomic / rl::var (see event_queue.h;
/// the orderings are the same, statement for statement).
template <size_t N>
class RlEventQueue {
    static_assert(N >= 2 && (N & (N - 1)) == 0);

public:
    RlEventQueue() {
        for (size_t i = 0; i < N; ++i) slots_[i].seq.store(i, rl::mo_relaxed, RL_INFO);
    }

    bool push(uint32_t v) {
        size_t pos = tail_.load(rl::mo_relaxed, RL_INFO);
        for (;;) {
            Slot& s = slots_[pos & (N - 1)];
            const size_t seq = s.seq.load(rl::mo_acquire, RL_INFO);
            const auto diff = static_cast<std::ptrdiff_t>(seq) - static_cast<std::ptrdiff_t>(pos);
            if (diff == 0) {
                if (tail_.compare_exchange_weak(pos, pos + 1, rl::mo_relaxed, RL_INFO)) {
                    s.value(RL_INFO) = v;
                    s.seq.store(pos + 1, rl::mo_release, RL_INFO);
                    return true;
                }
            } else if (diff < 0) {
                return false;  // full: dropped
            } else {
                pos = tail_.load(rl::mo_relaxed, RL_INFO);
            }
        }
    }

    bool pop(uint32_t& out) {
        const size_t head = head_.load(rl::mo_relaxed, RL_INFO);
        Slot& s = slots_[head & (N - 1)];
        const size_t seq = s.seq.load(rl::mo_acquire, RL_INFO);
        if (seq != head + 1) return false;
        out = s.value(RL_INFO);
        s.seq.store(head + N, rl::mo_release, RL_INFO);
        head_.store(head + 1, rl::mo_relaxed, RL_INFO);
        return true;
    }

    bool empty_hint() const {
        const size_t head = head_.load(rl::mo_relaxed, RL_INFO);
        return slots_[head & (N - 1)].seq.load(rl::mo_seq_cst, RL_INFO) != head + 1;
    }

private:
    struct Slot {
        rl::atomic<size_t> seq;
        rl::var<uint32_t> value;
    };
    Slot slots_[N];
    rl::atomic<size_t> tail_{0};
    rl::atomic<size_t> head_{0};
};

/// Which parts of SerialExecutor's protocol the model keeps (all true: the real code).
struct Protocol {
    bool fence_in_post = true;
    bool fence_in_leave = true;
    bool recheck = true;
};

/// SerialExecutor's run / post / try_own / drain_and_leave, statement for statement, over
/// RlEventQueue, with switches that remove one piece of the protocol.
template <class P, Protocol kProto>
class ModelExecutor {
public:
    template <class Fn, class Exec>
    void run(Fn&& fn, Exec&& exec) {
        if (!try_own()) sleepers_.wait_until([this] { return try_own(); });
        fn();
        drain_and_leave(exec);
    }

    template <class Exec>
    bool post(uint32_t cmd, Exec&& exec) {
        if (try_own()) {
            drain(exec);
            exec(cmd);
            drain_and_leave(exec);
            return true;
        }
        if (!queue_.push(cmd)) return false;
        if (kProto.fence_in_post) P::fence(P::seq_cst);
        if (try_own()) drain_and_leave(exec);
        return true;
    }

private:
    bool try_own() {
        bool free = false;
        return P::cas(owned_, free, true, P::acquire);
    }

    template <class Exec>
    void drain(Exec& exec) {
        uint32_t c = 0;
        while (queue_.pop(c)) exec(c);
    }

    template <class Exec>
    void drain_and_leave(Exec& exec) {
        for (;;) {
            drain(exec);
            P::store(owned_, false, P::release);
            if (kProto.fence_in_leave) P::fence(P::seq_cst);
            sleepers_.wake_after_fence();
            if (!kProto.recheck || queue_.empty_hint() || !try_own()) return;
        }
    }

    RlEventQueue<kQueue> queue_;
    typename P::template atomic<bool> owned_{false};
    BasicSleepers<P> sleepers_;
};

template <class Policy, Protocol kProto, int kRt, int kPosts, int kControlRuns>
struct ModelExecutorTest
    : rl::test_suite<ModelExecutorTest<Policy, kProto, kRt, kPosts, kControlRuns>, 1 + kRt> {
    static_assert(kRt * kPosts <= kMaxIds && kRt * kPosts <= static_cast<int>(kQueue));
    ModelExecutor<Policy, kProto> exec;
    Be be;

    void before() { be.init(); }
    void thread(unsigned index) {
        auto run_cmd = [this](uint32_t id) { be.apply(id); };
        if (index == 0) {
            for (int r = 0; r < kControlRuns; ++r) exec.run([this] { be.control(); }, run_cmd);
        } else {
            for (int k = 0; k < kPosts; ++k) {
                const uint32_t id = (index - 1) * kPosts + static_cast<uint32_t>(k);
                be.posted[id] = exec.post(id, run_cmd);
            }
        }
    }
    void after() { be.check(kRt * kPosts, kControlRuns); }
};

constexpr Protocol kReal{};
constexpr Protocol kNoFenceInPost{false, true, true};
constexpr Protocol kNoFenceInLeave{true, false, true};
constexpr Protocol kNoRecheck{true, true, false};

}  // namespace
}  // namespace dynpcm::model

int main() {
    using namespace dynpcm::model;
    const Expect pass{true, {}};
    const Expect race{false, {rl::test_result_data_race}};
    const Expect lost{false, {rl::test_result_user_assert_failed}};
    bool ok = true;

    std::printf("Relacy part A: the real SerialExecutor<Cmd, 4, RlPolicy> (its queue is invisible to Relacy)\n");
    ok &= check<RealExecutorTest<RlPolicy, 1, 2, 1>>({"A real: control 1 run, 1 rt x 2 posts", Search::Full, 0}, pass);
    ok &= check<RealExecutorTest<RlPolicy, 2, 1, 2>>({"A real: control 2 runs, 2 rt x 1 post", Search::ContextBound, 0, 3}, pass);
    ok &= check<RealExecutorTest<RlPolicy, 2, 2, 2>>({"A real: control 2 runs, 2 rt x 2 posts", Search::ContextBound, 0, 3}, pass);
    ok &= check<RealExecutorTest<RlPolicy, 2, 2, 2>>({"A real: control 2 runs, 2 rt x 2 posts", Search::Random, 200000}, pass);
    ok &= check<RealExecutorTest<RlPolicyRelaxed, 1, 2, 1>>({"A WEAKENED: relaxed ownership hand-over", Search::Full, 0}, race);

    // Part B's full search does not finish in reasonable time (the control's wait loop and
    // the queue's CAS loop multiply the schedules: > 21M iterations for one post), so it uses
    // Relacy's systematic context-bound search (every schedule with at most `bound`
    // preemptions) plus random schedules for the largest configuration.
    std::printf("Relacy part B: the executor protocol over an rl-visible copy of EventQueue\n");
    ok &= check<ModelExecutorTest<RlPolicy, kReal, 1, 1, 1>>({"B real: control 1 run, 1 rt x 1 post", Search::ContextBound, 0, 5}, pass);
    ok &= check<ModelExecutorTest<RlPolicy, kReal, 1, 2, 1>>({"B real: control 1 run, 1 rt x 2 posts", Search::ContextBound, 0, 4}, pass);
    ok &= check<ModelExecutorTest<RlPolicy, kReal, 2, 1, 2>>({"B real: control 2 runs, 2 rt x 1 post", Search::ContextBound, 0, 2}, pass);
    ok &= check<ModelExecutorTest<RlPolicy, kReal, 2, 2, 2>>({"B real: control 2 runs, 2 rt x 2 posts", Search::Random, 200000}, pass);
    ok &= check<ModelExecutorTest<RlPolicy, kNoFenceInPost, 1, 1, 1>>({"B WEAKENED: no fence in post()", Search::ContextBound, 0, 2}, lost);
    ok &= check<ModelExecutorTest<RlPolicy, kNoFenceInLeave, 1, 1, 1>>({"B WEAKENED: no fence in drain_and_leave()", Search::ContextBound, 0, 2}, lost);
    ok &= check<ModelExecutorTest<RlPolicyNoFence, kReal, 1, 1, 1>>({"B WEAKENED: every fence a no-op (policy)", Search::ContextBound, 0, 2}, lost);
    ok &= check<ModelExecutorTest<RlPolicyAcqRelFence, kReal, 1, 1, 1>>({"B WEAKENED: seq_cst fences -> acq_rel (policy)", Search::ContextBound, 0, 2}, lost);
    ok &= check<ModelExecutorTest<RlPolicy, kNoRecheck, 1, 1, 1>>({"B WEAKENED: no re-check on leave", Search::ContextBound, 0, 2}, lost);
    ok &= check<ModelExecutorTest<RlPolicyRelaxed, kReal, 1, 2, 1>>({"B WEAKENED: relaxed ownership hand-over", Search::ContextBound, 0, 2}, race);

    std::printf("%s\n", ok ? "relacy_executor: OK (real ordering verified; weakened orderings caught)"
                           : "relacy_executor: FAILED");
    return ok ? 0 : 1;
}
