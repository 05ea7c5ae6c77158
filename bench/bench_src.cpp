// Sample-rate converter candidates for the realtime path: speexdsp against soxr, measured.
//
//   bench_src [--report | --report-only] [google benchmark flags]
//
// --report prints, before the benchmarks run, the tables the choice rests on:
//   latency   impulse position in the output stream, output held back per period, library figure
//   quality   sine level error, THD+N and worst spur (own FFT, 4-term Blackman-Harris window,
//             coherent tone), passband edge, alias rejection on 48000->16000
//   rt-safety malloc-family / operator new / libgomp lock calls counted by interposition,
//             init vs first call vs steady state vs variable period sizes; per-call time spread
//   ratio     changing the ratio on the fly (speex_resampler_set_rate_frac, soxr_set_io_ratio)
// The benchmarks time one streaming call per iteration (one period of 1024 input frames,
// float interleaved) and report as counters ns_per_out_frame (CPU time per output frame, all
// channels of the frame), out_frames per call and allocs (malloc-family + new calls) per call.

#include <benchmark/benchmark.h>
#include <dlfcn.h>
#include <malloc.h>
#include <soxr.h>
#include <speex/speex_resampler.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <complex>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <new>
#include <numbers>
#include <string>
#include <vector>

// ------------------------------------------------------------------------------------------
// Allocation and lock counting by interposition. The executable's definitions win over libc's
// for every shared object (speexdsp and soxr call malloc/calloc/realloc/free through the PLT).

namespace {
std::atomic<std::uint64_t> g_malloc_calls{0};  // malloc, calloc, realloc, memalign family
std::atomic<std::uint64_t> g_free_calls{0};
std::atomic<std::uint64_t> g_new_calls{0};  // global operator new (all forms)
std::atomic<std::uint64_t> g_omp_lock_calls{0};
std::atomic<std::uint64_t> g_gomp_parallel_calls{0};

void bump(std::atomic<std::uint64_t>& c) { c.fetch_add(1, std::memory_order_relaxed); }
}  // namespace

extern "C" {
void* __libc_malloc(std::size_t);
void* __libc_calloc(std::size_t, std::size_t);
void* __libc_realloc(void*, std::size_t);
void __libc_free(void*);
void* __libc_memalign(std::size_t, std::size_t);

void* malloc(std::size_t n) noexcept {
    bump(g_malloc_calls);
    return __libc_malloc(n);
}
void* calloc(std::size_t n, std::size_t s) noexcept {
    bump(g_malloc_calls);
    return __libc_calloc(n, s);
}
void* realloc(void* p, std::size_t n) noexcept {
    bump(g_malloc_calls);
    return __libc_realloc(p, n);
}
void free(void* p) noexcept {
    if (p != nullptr) bump(g_free_calls);
    __libc_free(p);
}
void* aligned_alloc(std::size_t a, std::size_t n) noexcept {
    bump(g_malloc_calls);
    return __libc_memalign(a, n);
}
void* memalign(std::size_t a, std::size_t n) noexcept {
    bump(g_malloc_calls);
    return __libc_memalign(a, n);
}
int posix_memalign(void** out, std::size_t a, std::size_t n) noexcept {
    bump(g_malloc_calls);
    void* p = __libc_memalign(a, n);
    if (p == nullptr) return ENOMEM;
    *out = p;
    return 0;
}

// libsoxr links libgomp; count whether its lock / parallel-region entry points are used on
// the processing path. Forwarded to the real ones.
void omp_set_lock(void* lock) {
    bump(g_omp_lock_calls);
    using Fn = void (*)(void*);
    static Fn real = reinterpret_cast<Fn>(dlsym(RTLD_NEXT, "omp_set_lock"));
    real(lock);
}
void GOMP_parallel(void (*fn)(void*), void* data, unsigned num_threads, unsigned flags) {
    bump(g_gomp_parallel_calls);
    using Fn = void (*)(void (*)(void*), void*, unsigned, unsigned);
    static Fn real = reinterpret_cast<Fn>(dlsym(RTLD_NEXT, "GOMP_parallel"));
    real(fn, data, num_threads, flags);
}
}  // extern "C"

void* operator new(std::size_t n) {
    bump(g_new_calls);
    void* p = std::malloc(n == 0 ? 1 : n);
    if (p == nullptr) throw std::bad_alloc();
    return p;
}
void* operator new[](std::size_t n) { return ::operator new(n); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
    bump(g_new_calls);
    return std::malloc(n == 0 ? 1 : n);
}
void* operator new[](std::size_t n, const std::nothrow_t& t) noexcept { return ::operator new(n, t); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

namespace {

struct AllocSnap {
    std::uint64_t mallocs, frees, news, omp_locks, gomp_par;
    std::size_t in_use;  // mallinfo2().uordblks + hblkhd
    static AllocSnap take() {
        const struct mallinfo2 mi = mallinfo2();
        return {g_malloc_calls.load(), g_free_calls.load(), g_new_calls.load(), g_omp_lock_calls.load(),
                g_gomp_parallel_calls.load(), mi.uordblks + mi.hblkhd};
    }
};
struct AllocDelta {
    std::uint64_t mallocs, frees, news, omp_locks, gomp_par;
    long long bytes;
};
AllocDelta operator-(const AllocSnap& b, const AllocSnap& a) {
    return {b.mallocs - a.mallocs, b.frees - a.frees, b.news - a.news, b.omp_locks - a.omp_locks,
            b.gomp_par - a.gomp_par, static_cast<long long>(b.in_use) - static_cast<long long>(a.in_use)};
}

// ------------------------------------------------------------------------------------------
// The two candidates behind one streaming interface (interleaved float, per-channel frames).

enum class Lib { Speex, Soxr };

struct Setting {
    const char* name;
    Lib lib;
    int speex_quality;
    unsigned long soxr_recipe;
    unsigned long soxr_flags;
    unsigned log2_min_dft = 0, log2_large_dft = 0;  // soxr runtime spec; 0 = library default
};

const Setting kSettings[] = {
    {"speex_q3", Lib::Speex, 3, 0, 0},
    {"speex_q5", Lib::Speex, 5, 0, 0},
    {"speex_q8", Lib::Speex, 8, 0, 0},
    {"speex_q10", Lib::Speex, 10, 0, 0},
    {"soxr_qq", Lib::Soxr, 0, SOXR_QQ, 0},
    {"soxr_lq", Lib::Soxr, 0, SOXR_LQ, 0},
    {"soxr_mq", Lib::Soxr, 0, SOXR_MQ, 0},
    {"soxr_hq", Lib::Soxr, 0, SOXR_HQ, 0},
    {"soxr_vhq", Lib::Soxr, 0, SOXR_VHQ, 0},
    {"soxr_hq_minph", Lib::Soxr, 0, SOXR_HQ | SOXR_MINIMUM_PHASE, 0},
    {"soxr_hq_d8", Lib::Soxr, 0, SOXR_HQ, 0, 8, 8},  // smallest DFT blocks: less output held back
    {"soxr_hq_vr", Lib::Soxr, 0, SOXR_HQ, SOXR_VR},
};

class Resampler {
public:
    virtual ~Resampler() = default;
    // One library call. consumed/produced are frames per channel.
    virtual bool call(const float* in, std::size_t in_frames, std::size_t& consumed, float* out,
                      std::size_t out_cap, std::size_t& produced) = 0;
    virtual double library_latency() = 0;  // output frames, as the library reports it
    virtual std::string engine() const = 0;
};

class SpeexResampler final : public Resampler {
public:
    SpeexResampler(unsigned ch, unsigned in_rate, unsigned out_rate, int q) {
        int err = 0;
        st_ = speex_resampler_init(ch, in_rate, out_rate, q, &err);
        if (st_ == nullptr || err != RESAMPLER_ERR_SUCCESS) {
            std::fprintf(stderr, "speex_resampler_init: %s\n", speex_resampler_strerror(err));
            std::abort();
        }
    }
    ~SpeexResampler() override { speex_resampler_destroy(st_); }
    SpeexResampler(const SpeexResampler&) = delete;
    SpeexResampler& operator=(const SpeexResampler&) = delete;

    bool call(const float* in, std::size_t in_frames, std::size_t& consumed, float* out, std::size_t out_cap,
              std::size_t& produced) override {
        auto il = static_cast<spx_uint32_t>(in_frames);
        auto ol = static_cast<spx_uint32_t>(out_cap);
        const int err = speex_resampler_process_interleaved_float(st_, in, &il, out, &ol);
        consumed = il;
        produced = ol;
        return err == RESAMPLER_ERR_SUCCESS;
    }
    double library_latency() override { return speex_resampler_get_output_latency(st_); }
    std::string engine() const override { return "speexdsp"; }
    SpeexResamplerState* state() { return st_; }

private:
    SpeexResamplerState* st_ = nullptr;
};

class SoxrResampler final : public Resampler {
public:
    SoxrResampler(unsigned ch, double in_rate, double out_rate, unsigned long recipe, unsigned long flags,
                  unsigned log2_min_dft = 0, unsigned log2_large_dft = 0) {
        const soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
        const soxr_quality_spec_t qs = soxr_quality_spec(recipe, flags);
        soxr_runtime_spec_t rs = soxr_runtime_spec(1);  // single thread: the RT thread
        if (log2_min_dft != 0) rs.log2_min_dft_size = log2_min_dft;
        if (log2_large_dft != 0) rs.log2_large_dft_size = log2_large_dft;
        soxr_error_t err = nullptr;
        s_ = soxr_create(in_rate, out_rate, ch, &err, &io, &qs, &rs);
        if (s_ == nullptr || err != nullptr) {
            std::fprintf(stderr, "soxr_create: %s\n", soxr_strerror(err));
            std::abort();
        }
    }
    ~SoxrResampler() override { soxr_delete(s_); }
    SoxrResampler(const SoxrResampler&) = delete;
    SoxrResampler& operator=(const SoxrResampler&) = delete;

    bool call(const float* in, std::size_t in_frames, std::size_t& consumed, float* out, std::size_t out_cap,
              std::size_t& produced) override {
        // `in` is never null here: a null input means end-of-stream (flush) to soxr_process.
        consumed = produced = 0;
        const soxr_error_t err = soxr_process(s_, in, in_frames, &consumed, out, out_cap, &produced);
        return err == nullptr;
    }
    double library_latency() override { return soxr_delay(s_); }
    std::string engine() const override { return soxr_engine(s_); }
    soxr_t handle() { return s_; }

private:
    soxr_t s_ = nullptr;
};

bool supports_drift(const Setting& s) { return s.lib == Lib::Speex || (s.soxr_flags & SOXR_VR) != 0; }

// A conversion, optionally with the output clock off by `ppm` (drift compensation): the ratio
// out/in becomes den/num with num = in*100, den = out*100 + out*ppm/1e4, set after creation
// (speex_resampler_set_rate_frac, which moves speex off its direct table onto the interpolated
// one; soxr_set_io_ratio on a SOXR_VR resampler).
struct Conv {
    unsigned in, out;
    int ppm = 0;
    std::uint32_t num() const { return in * 100u; }
    std::uint32_t den() const {
        return out * 100u + static_cast<std::uint32_t>(std::lround(static_cast<double>(out) * ppm / 1e4));
    }
    double ratio() const { return static_cast<double>(den()) / static_cast<double>(num()); }  // out/in
    std::string name() const {
        return std::to_string(in) + "to" + std::to_string(out) + (ppm != 0 ? "p" + std::to_string(ppm) + "ppm" : "");
    }
};

std::unique_ptr<Resampler> make(const Setting& s, unsigned ch, const Conv& c) {
    if (s.lib == Lib::Speex) {
        auto r = std::make_unique<SpeexResampler>(ch, c.in, c.out, s.speex_quality);
        if (c.ppm != 0 && speex_resampler_set_rate_frac(r->state(), c.num(), c.den(), c.in, c.out) != 0) std::abort();
        return r;
    }
    auto r = std::make_unique<SoxrResampler>(ch, c.in, c.out, s.soxr_recipe, s.soxr_flags, s.log2_min_dft,
                                             s.log2_large_dft);
    if (c.ppm != 0 && soxr_set_io_ratio(r->handle(), 1.0 / c.ratio(), 0) != nullptr) std::abort();
    return r;
}

// Push one period (all of it, re-offering what the library did not take, as an engine would).
// Returns frames produced; out must hold out_cap frames.
std::size_t push_period(Resampler& r, const float* in, std::size_t frames, unsigned ch, float* out,
                        std::size_t out_cap) {
    std::size_t in_done = 0, out_done = 0;
    for (int guard = 0; in_done < frames && guard < 64; ++guard) {
        std::size_t c = 0, p = 0;
        if (!r.call(in + in_done * ch, frames - in_done, c, out + out_done * ch, out_cap - out_done, p)) {
            std::fprintf(stderr, "process call failed\n");
            std::abort();
        }
        in_done += c;
        out_done += p;
        if (c == 0 && p == 0) break;
    }
    if (in_done != frames) {
        std::fprintf(stderr, "resampler did not accept a whole period (%zu of %zu)\n", in_done, frames);
        std::abort();
    }
    return out_done;
}

struct StreamResult {
    std::vector<float> out;             // interleaved
    std::vector<std::size_t> produced;  // per period
};

StreamResult stream(Resampler& r, const std::vector<float>& in, unsigned ch, std::size_t period, double ratio) {
    StreamResult res;
    const std::size_t frames = in.size() / ch;
    const auto cap = static_cast<std::size_t>(std::ceil(static_cast<double>(period) * ratio)) + 16384;
    std::vector<float> buf(cap * ch);
    res.out.reserve(static_cast<std::size_t>(static_cast<double>(frames) * ratio + 32768.0) * ch);
    for (std::size_t pos = 0; pos < frames; pos += period) {
        const std::size_t n = std::min(period, frames - pos);
        const std::size_t got = push_period(r, in.data() + pos * ch, n, ch, buf.data(), cap);
        res.out.insert(res.out.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(got * ch));
        res.produced.push_back(got);
    }
    return res;
}

// ------------------------------------------------------------------------------------------
// Spectrum analysis: iterative radix-2 FFT, periodic 4-term Blackman-Harris window. Test tones
// are placed on an exact output bin, so the fundamental occupies exactly bins k-3..k+3 and
// everything else in the spectrum is distortion, aliasing/imaging or noise.

using cd = std::complex<double>;

void fft(std::vector<cd>& a) {
    const std::size_t n = a.size();
    for (std::size_t i = 1, j = 0; i < n; ++i) {
        std::size_t bit = n >> 1;
        for (; (j & bit) != 0; bit >>= 1) j ^= bit;
        j ^= bit;
        if (i < j) std::swap(a[i], a[j]);
    }
    std::vector<cd> tw(n / 2);
    for (std::size_t k = 0; k < n / 2; ++k) {
        const double ang = -2.0 * std::numbers::pi * static_cast<double>(k) / static_cast<double>(n);
        tw[k] = cd(std::cos(ang), std::sin(ang));
    }
    for (std::size_t len = 2; len <= n; len <<= 1) {
        const std::size_t half = len / 2, step = n / len;
        for (std::size_t i = 0; i < n; i += len) {
            for (std::size_t k = 0; k < half; ++k) {
                const cd u = a[i + k];
                const cd v = a[i + k + half] * tw[k * step];
                a[i + k] = u + v;
                a[i + k + half] = u - v;
            }
        }
    }
}

constexpr double kBh[4] = {0.35875, 0.48829, 0.14128, 0.01168};

struct ToneResult {
    double freq = 0;          // exact test frequency (Hz)
    double level_db = 0;      // output amplitude relative to input amplitude
    double thdn_db = 0;       // (everything but the fundamental) / fundamental, dBc
    double spur_db = 0;       // worst single bin outside the fundamental, dBc
    double spur_hz = 0;
    double total_db = 0;      // total output power relative to the input tone's power (alias test)
};

// Analyse channel 0 of `x` (interleaved, ch channels) from frame `start`, n frames (power of 2).
ToneResult analyse(const std::vector<float>& x, unsigned ch, std::size_t start, std::size_t n, std::size_t bin,
                   double rate, double in_amp) {
    std::vector<cd> a(n);
    double wsum = 0, w2sum = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const double t = 2.0 * std::numbers::pi * static_cast<double>(i) / static_cast<double>(n);
        const double w = kBh[0] - kBh[1] * std::cos(t) + kBh[2] * std::cos(2 * t) - kBh[3] * std::cos(3 * t);
        wsum += w;
        w2sum += w * w;
        a[i] = cd(static_cast<double>(x[(start + i) * ch]) * w, 0.0);
    }
    fft(a);
    ToneResult r;
    const std::size_t lo = bin >= 4 ? bin - 4 : 0, hi = bin + 4;
    double fund = 0, rest = 0, total = 0, worst = 0;
    std::size_t worst_bin = 0;
    for (std::size_t j = 0; j <= n / 2; ++j) {
        const double p = std::norm(a[j]) * ((j == 0 || j == n / 2) ? 1.0 : 2.0);  // one-sided
        total += p;
        if (j >= lo && j <= hi) {
            fund += p;
        } else {
            rest += p;
            if (p > worst) {
                worst = p;
                worst_bin = j;
            }
        }
    }
    const double peak = 2.0 * std::norm(a[bin]);
    const double amp = 2.0 * std::abs(a[bin]) / wsum;  // coherent tone: |X[k]| = A/2 * sum(w)
    r.freq = static_cast<double>(bin) * rate / static_cast<double>(n);
    r.level_db = 20.0 * std::log10(amp / in_amp);
    r.thdn_db = 10.0 * std::log10(rest / fund);
    r.spur_db = 10.0 * std::log10(worst / peak);
    r.spur_hz = static_cast<double>(worst_bin) * rate / static_cast<double>(n);
    // A sine of amplitude A has windowed one-sided energy sum = n * sum(w^2) * A^2 / 2.
    r.total_db = 10.0 * std::log10(total / (static_cast<double>(n) * w2sum * in_amp * in_amp / 2.0));
    return r;
}

std::vector<float> make_sine(double freq, double rate, std::size_t frames, unsigned ch, double amp) {
    std::vector<float> v(frames * ch);
    for (std::size_t i = 0; i < frames; ++i) {
        const double s = amp * std::sin(2.0 * std::numbers::pi * freq * static_cast<double>(i) / rate);
        for (unsigned c = 0; c < ch; ++c) v[i * ch + c] = static_cast<float>(s);
    }
    return v;
}

constexpr double kAmp = 0.5;  // -6 dBFS
constexpr std::size_t kPeriod = 1024;

// Feed a sine whose frequency `out_freq` lands on an exact bin of the n-point output analysis
// (or, with alias_of_rate, a tone at alias_of_rate - that frequency, i.e. above the output
// Nyquist, which can only show up folded onto that bin).
// Frequencies are per output sample: cycles/output sample = cycles/input sample * num/den.
ToneResult tone_test(const Setting& s, const Conv& c, double target_hz, std::size_t n, bool alias = false) {
    constexpr unsigned ch = 2;
    const double out_rate = c.out;
    const auto bin = static_cast<std::size_t>(std::llround(target_hz * static_cast<double>(n) / out_rate));
    const double nu_out = (alias ? static_cast<double>(n - bin) : static_cast<double>(bin)) / static_cast<double>(n);
    const double f_in = nu_out * c.ratio() * c.in;  // Hz at the input rate
    const std::size_t skip = 16384;  // output frames: start-up transient and filter fill
    const auto in_frames = static_cast<std::size_t>(static_cast<double>(n + skip) / c.ratio()) + 16 * kPeriod;
    auto r = make(s, ch, c);
    const auto res = stream(*r, make_sine(f_in, c.in, in_frames, ch, kAmp), ch, kPeriod, c.ratio());
    if (res.out.size() / ch < skip + n) {
        std::fprintf(stderr, "%s: not enough output\n", s.name);
        std::abort();
    }
    ToneResult t = analyse(res.out, ch, skip, n, bin, out_rate, kAmp);
    t.freq = f_in;
    return t;
}

// ------------------------------------------------------------------------------------------
// Latency.

struct LatencyResult {
    double impulse_delay = 0;  // impulse peak position in the output stream minus its ideal position
    double onset = 0;          // first output sample above -80 dB of the peak, minus ideal position
    double held_min = 0, held_max = 0;  // steady state: ideal output so far minus output delivered
    double library = 0;        // speex_resampler_get_output_latency / soxr_delay (steady state)
    std::size_t out_min = 0, out_max = 0;  // frames delivered per 1024-frame period
};

LatencyResult latency_test(const Setting& s, unsigned in_rate, unsigned out_rate) {
    constexpr unsigned ch = 2;
    const double ratio = static_cast<double>(out_rate) / in_rate;
    // Impulse at an input frame whose ideal output position is an integer, mid-stream.
    std::size_t t_imp = 20 * kPeriod + 17;
    while (std::fabs(static_cast<double>(t_imp) * ratio - std::round(static_cast<double>(t_imp) * ratio)) > 1e-9)
        ++t_imp;
    const std::size_t frames = 60 * kPeriod;
    std::vector<float> in(frames * ch, 0.0f);
    in[t_imp * ch] = 1.0f;
    in[t_imp * ch + 1] = 1.0f;

    LatencyResult L;
    auto r = make(s, ch, Conv{in_rate, out_rate});
    const auto cap = static_cast<std::size_t>(std::ceil(kPeriod * ratio)) + 16384;
    std::vector<float> buf(cap * ch), out;
    std::size_t fed = 0, got_total = 0;
    L.held_min = 1e30;
    L.held_max = -1e30;
    L.out_min = SIZE_MAX;
    for (std::size_t pos = 0; pos < frames; pos += kPeriod) {
        const std::size_t got = push_period(*r, in.data() + pos * ch, kPeriod, ch, buf.data(), cap);
        out.insert(out.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(got * ch));
        fed += kPeriod;
        got_total += got;
        if (pos >= 8 * kPeriod) {  // steady state
            const double held = static_cast<double>(fed) * ratio - static_cast<double>(got_total);
            L.held_min = std::min(L.held_min, held);
            L.held_max = std::max(L.held_max, held);
            L.out_min = std::min(L.out_min, got);
            L.out_max = std::max(L.out_max, got);
        }
    }
    L.library = r->library_latency();
    std::size_t pk = 0;
    double pv = 0;
    for (std::size_t i = 0; i < out.size() / ch; ++i) {
        const double v = std::fabs(static_cast<double>(out[i * ch]));
        if (v > pv) {
            pv = v;
            pk = i;
        }
    }
    double frac = 0;
    if (pk > 0 && pk + 1 < out.size() / ch) {  // parabolic refinement of the peak
        const double ym = static_cast<double>(out[(pk - 1) * ch]), y0 = static_cast<double>(out[pk * ch]),
                     yp = static_cast<double>(out[(pk + 1) * ch]);
        const double den = ym - 2 * y0 + yp;
        if (den != 0) frac = 0.5 * (ym - yp) / den;
    }
    const double ideal = static_cast<double>(t_imp) * ratio;
    L.impulse_delay = static_cast<double>(pk) + frac - ideal;
    for (std::size_t i = 0; i < out.size() / ch; ++i) {
        if (std::fabs(static_cast<double>(out[i * ch])) > pv * 1e-4) {
            L.onset = static_cast<double>(i) - ideal;
            break;
        }
    }
    return L;
}

// ------------------------------------------------------------------------------------------
// Realtime safety: allocations per phase, and per-call time spread.

std::uint32_t g_rng = 0x12345678u;
std::uint32_t rnd() {
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 17;
    g_rng ^= g_rng << 5;
    return g_rng;
}

std::vector<float> noise(std::size_t frames, unsigned ch) {
    std::vector<float> v(frames * ch);
    for (auto& x : v) x = static_cast<float>(static_cast<double>(rnd()) / 4294967296.0 - 0.5);
    return v;
}

double thread_cpu_us() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) * 1e-3;
}

struct RtResult {
    AllocDelta init{}, first{}, warm{}, steady{}, varper{};
    double mean_us = 0, p99_us = 0, max_us = 0;
};

RtResult rt_test(const Setting& s, unsigned in_rate, unsigned out_rate, unsigned ch) {
    const double ratio = static_cast<double>(out_rate) / in_rate;
    const std::size_t max_period = 4096;
    const std::vector<float> in = noise(max_period * 8, ch);
    const auto cap = static_cast<std::size_t>(std::ceil(max_period * ratio)) + 32768;
    std::vector<float> out(cap * ch);
    std::vector<double> times;
    times.reserve(4000);
    RtResult R;
    auto src = [&](std::size_t i, std::size_t n) { return in.data() + ((i * kPeriod) % (in.size() / ch - n)) * ch; };

    const AllocSnap a0 = AllocSnap::take();
    auto r = make(s, ch, Conv{in_rate, out_rate});
    const AllocSnap a1 = AllocSnap::take();
    push_period(*r, src(0, kPeriod), kPeriod, ch, out.data(), cap);
    const AllocSnap a2 = AllocSnap::take();
    for (std::size_t i = 1; i < 50; ++i) push_period(*r, src(i, kPeriod), kPeriod, ch, out.data(), cap);
    const AllocSnap a3 = AllocSnap::take();
    for (std::size_t i = 0; i < 3000; ++i) {
        // Thread CPU time: the machine is shared, so wall time would mostly show preemption.
        const double t0 = thread_cpu_us();
        push_period(*r, src(i, kPeriod), kPeriod, ch, out.data(), cap);
        times.push_back(thread_cpu_us() - t0);
    }
    const AllocSnap a4 = AllocSnap::take();
    for (std::size_t i = 0; i < 1000; ++i) {
        const std::size_t n = 1 + rnd() % max_period;
        push_period(*r, src(i, n), n, ch, out.data(), cap);
    }
    const AllocSnap a5 = AllocSnap::take();
    R.init = a1 - a0;
    R.first = a2 - a1;
    R.warm = a3 - a2;
    R.steady = a4 - a3;
    R.varper = a5 - a4;
    double sum = 0;
    for (const double t : times) sum += t;
    R.mean_us = sum / static_cast<double>(times.size());
    std::sort(times.begin(), times.end());
    R.p99_us = times[times.size() * 99 / 100];
    R.max_us = times.back();
    return R;
}

// ------------------------------------------------------------------------------------------
// Changing the ratio on the fly (drift compensation): allocations and cost of the call itself,
// and of the processing after it.

void ratio_report() {
    constexpr unsigned ch = 2;
    const std::vector<float> in = noise(kPeriod * 8, ch);
    const std::size_t cap = 32768;
    std::vector<float> out(cap * ch);
    auto run = [&](Resampler& r, std::size_t periods) {
        for (std::size_t i = 0; i < periods; ++i)
            push_period(r, in.data() + (i % 7) * kPeriod * ch, kPeriod, ch, out.data(), cap);
    };
    auto us_since = [](std::chrono::steady_clock::time_point t0) {
        return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
    };
    std::printf("\n== Ratio change on the fly (44100->48000 stereo, after 50 periods) ==\n");
    std::printf("%-14s %-34s %8s %8s %10s %14s\n", "setting", "change", "result", "allocs", "call_us",
                "allocs_next100");
    for (const Setting& s : kSettings) {
        if (s.lib == Lib::Speex) {
            SpeexResampler r(ch, 44100, 48000, s.speex_quality);
            run(r, 50);
            // ratio_num/ratio_den = in/out. Exact 147/160 -> +50 ppm -> +60 ppm -> back to exact.
            const struct {
                const char* what;
                spx_uint32_t num, den;
            } steps[] = {{"exact -> +50ppm (48002.4/44100)", 441000, 480024},
                         {"+50ppm -> +60ppm", 441000, 480029},
                         {"+60ppm -> exact", 441000, 480000}};
            for (const auto& st : steps) {
                const AllocSnap b = AllocSnap::take();
                const auto t0 = std::chrono::steady_clock::now();
                const int err = speex_resampler_set_rate_frac(r.state(), st.num, st.den, 44100, 48000);
                const double us = us_since(t0);
                const AllocDelta d = AllocSnap::take() - b;
                const AllocSnap b2 = AllocSnap::take();
                run(r, 100);
                const AllocDelta d2 = AllocSnap::take() - b2;
                std::printf("%-14s %-34s %8s %8llu %10.1f %14llu\n", s.name, st.what,
                            err == RESAMPLER_ERR_SUCCESS ? "ok" : "error",
                            static_cast<unsigned long long>(d.mallocs + d.news), us,
                            static_cast<unsigned long long>(d2.mallocs + d2.news));
            }
        } else {
            SoxrResampler r(ch, 44100, 48000, s.soxr_recipe, s.soxr_flags);
            run(r, 50);
            const double steps[] = {44100.0 / 48000.0 / (1 + 50e-6), 44100.0 / 48000.0 / (1 + 60e-6),
                                    44100.0 / 48000.0};
            const char* what[] = {"exact -> +50ppm (slew 1024)", "+50ppm -> +60ppm (slew 1024)",
                                  "+60ppm -> exact (slew 1024)"};
            const int n_steps = (s.soxr_flags & SOXR_VR) != 0 ? 3 : 1;  // fixed-rate soxr: first refusal only
            for (int i = 0; i < n_steps; ++i) {
                const AllocSnap b = AllocSnap::take();
                const auto t0 = std::chrono::steady_clock::now();
                const soxr_error_t err = soxr_set_io_ratio(r.handle(), steps[i], 1024);
                const double us = us_since(t0);
                const AllocDelta d = AllocSnap::take() - b;
                const AllocSnap b2 = AllocSnap::take();
                run(r, 100);
                const AllocDelta d2 = AllocSnap::take() - b2;
                std::printf("%-14s %-34s %8s %8llu %10.1f %14llu%s%s\n", s.name, what[i], err == nullptr ? "ok" : "error",
                            static_cast<unsigned long long>(d.mallocs + d.news), us,
                            static_cast<unsigned long long>(d2.mallocs + d2.news), err ? "  " : "",
                            err ? err : "");
            }
        }
    }
}

// ------------------------------------------------------------------------------------------

void report() {
    std::printf("speexdsp (libspeexdsp %s), soxr %s; float32 interleaved, stereo, period %zu input frames\n",
                SRC_BENCH_SPEEXDSP_VERSION, soxr_version(), kPeriod);
    {
        SoxrResampler hq(2, 44100, 48000, SOXR_HQ, 0), vhq(2, 44100, 48000, SOXR_VHQ, 0),
            vr(2, 44100, 48000, SOXR_HQ, SOXR_VR);
        std::printf("soxr engines: HQ=%s VHQ=%s HQ|VR=%s\n", hq.engine().c_str(), vhq.engine().c_str(),
                    vr.engine().c_str());
    }

    // Measurement floor: a float32 sine at the output rate, no resampler.
    {
        const std::size_t n = 131072;
        const auto bin = static_cast<std::size_t>(std::llround(1000.0 * n / 48000));
        const auto x = make_sine(static_cast<double>(bin) * 48000 / n, 48000, n, 1, kAmp);
        const ToneResult t = analyse(x, 1, 0, n, bin, 48000, kAmp);
        std::printf("measurement floor (float32 sine, no resampler): level %.4f dB, THD+N %.1f dBc, spur %.1f dBc\n",
                    t.level_db, t.thdn_db, t.spur_db);
    }

    std::printf("\n== Latency (stereo, 1024-frame periods; output frames) ==\n");
    std::printf("impulse = impulse peak position in the output stream minus ideal; onset = first sample above\n"
                "-80 dB of the peak (pre-ringing); held = ideal output so far minus output delivered, over steady\n"
                "periods (output the library is still holding back); total = impulse + held max; lib = speex\n"
                "get_output_latency / soxr_delay.\n");
    const struct {
        unsigned in, out;
    } convs[] = {{44100, 48000}, {48000, 16000}, {16000, 48000}, {8000, 48000}};
    std::printf("%-14s %-12s %9s %9s %9s %9s %9s %9s %13s\n", "setting", "conversion", "impulse", "onset",
                "held_min", "held_max", "total", "lib", "out/period");
    for (const Setting& s : kSettings) {
        for (const auto& c : convs) {
            const LatencyResult L = latency_test(s, c.in, c.out);
            char conv[32], op[32];
            std::snprintf(conv, sizeof conv, "%u>%u", c.in, c.out);
            std::snprintf(op, sizeof op, "%zu..%zu", L.out_min, L.out_max);
            std::printf("%-14s %-12s %9.1f %9.1f %9.1f %9.1f %9.1f %9.1f %13s\n", s.name, conv, L.impulse_delay,
                        L.onset, L.held_min, L.held_max, L.impulse_delay + L.held_max, L.library, op);
        }
    }

    std::printf("\n== Quality (stereo streaming, 1024-frame periods; -6 dBFS sines on exact output bins,\n"
                "   131072-point (16 kHz out: 32768-point) FFT, 4-term Blackman-Harris, channel 0) ==\n");
    std::printf("lvl = level error at the fundamental (dB); thdn = THD+N over the whole output band (dBc);\n"
                "spur = worst single bin outside the fundamental (dBc) @ its frequency; 20k = level of a 20 kHz\n"
                "sine 44100->48000 (dB); 48k>16k: 1k thdn, level at 7 kHz, alias = output power of a 10 kHz\n"
                "input (folds to 6 kHz) relative to the input tone (dB); 16k>48k 1k thdn (images).\n");
    std::printf("%-16s | %7s %7s %7s %6s | %7s %7s %7s %6s | %7s %7s | %7s %7s %7s | %7s\n", "setting", "1k lvl",
                "1k thdn", "1k spur", "@Hz", "10k lvl", "10kthdn", "10kspur", "@Hz", "20k lvl", "20kthdn", "1k thdn",
                "7k lvl", "alias", "1k thdn");
    std::printf("%-16s | %-29s | %-29s | %-15s | %-23s | %7s\n", "", "44100>48000 1 kHz", "44100>48000 10 kHz",
                "44100>48000 20k", "48000>16000", "16k>48k");
    auto row = [](const char* name, const Setting& s, int ppm) {
        const ToneResult a = tone_test(s, Conv{44100, 48000, ppm}, 1000, 131072);
        const ToneResult b = tone_test(s, Conv{44100, 48000, ppm}, 10000, 131072);
        const ToneResult e = tone_test(s, Conv{44100, 48000, ppm}, 20000, 131072);
        const ToneResult d1 = tone_test(s, Conv{48000, 16000, ppm}, 1000, 32768);
        const ToneResult d7 = tone_test(s, Conv{48000, 16000, ppm}, 7000, 32768);
        const ToneResult da = tone_test(s, Conv{48000, 16000, ppm}, 6000, 32768, true);
        const ToneResult u1 = tone_test(s, Conv{16000, 48000, ppm}, 1000, 131072);
        std::printf("%-16s | %7.3f %7.1f %7.1f %6.0f | %7.3f %7.1f %7.1f %6.0f | %7.2f %7.1f | %7.1f %7.2f %7.1f | %7.1f\n",
                    name, a.level_db, a.thdn_db, a.spur_db, a.spur_hz, b.level_db, b.thdn_db, b.spur_db, b.spur_hz,
                    e.level_db, e.thdn_db, d1.thdn_db, d7.level_db, da.total_db, u1.thdn_db);
    };
    for (const Setting& s : kSettings) row(s.name, s, 0);
    std::printf("with the output clock +50 ppm off (drift compensation: speex interpolated table, soxr VR):\n");
    for (const Setting& s : kSettings) {
        if (!supports_drift(s)) continue;
        row((std::string(s.name) + "+50ppm").c_str(), s, 50);
    }

    std::printf("\n== Realtime safety (44100->48000 stereo; counted by malloc/calloc/realloc/memalign and\n"
                "   operator new interposition; mallinfo2 in-use delta as cross-check) ==\n");
    std::printf("init = create; first = first 1024-frame call; warm = calls 2..50; steady = next 3000 calls;\n"
                "varper = 1000 calls with random period sizes 1..4096. Cells are malloc-family/new calls.\n"
                "omp = libgomp omp_set_lock + GOMP_parallel calls in steady state. Call cost over the 3000\n"
                "steady calls in thread CPU time (includes ~0.3 us of clock_gettime overhead).\n");
    std::printf("%-14s %9s %7s %7s %9s %9s %11s %5s %9s %9s %9s\n", "setting", "init", "first", "warm", "steady",
                "varper", "steady_B", "omp", "mean_us", "p99_us", "max_us");
    for (const Setting& s : kSettings) {
        const RtResult R = rt_test(s, 44100, 48000, 2);
        auto cell = [](const AllocDelta& d) {
            char b[32];
            std::snprintf(b, sizeof b, "%llu/%llu", static_cast<unsigned long long>(d.mallocs),
                          static_cast<unsigned long long>(d.news));
            return std::string(b);
        };
        std::printf("%-14s %9s %7s %7s %9s %9s %11lld %5llu %9.2f %9.2f %9.2f\n", s.name, cell(R.init).c_str(),
                    cell(R.first).c_str(), cell(R.warm).c_str(), cell(R.steady).c_str(), cell(R.varper).c_str(),
                    R.steady.bytes, static_cast<unsigned long long>(R.steady.omp_locks + R.steady.gomp_par),
                    R.mean_us, R.p99_us, R.max_us);
    }
    std::printf("48000->16000, 8 channels, malloc/new calls warm/steady/varper:\n");
    for (const Setting& s : kSettings) {
        const RtResult R = rt_test(s, 48000, 16000, 8);
        std::printf("  %-14s %llu/%llu/%llu\n", s.name, static_cast<unsigned long long>(R.warm.mallocs + R.warm.news),
                    static_cast<unsigned long long>(R.steady.mallocs + R.steady.news),
                    static_cast<unsigned long long>(R.varper.mallocs + R.varper.news));
    }

    ratio_report();
    std::printf("\n");
    std::fflush(stdout);
}

// ------------------------------------------------------------------------------------------
// Speed: one iteration = one streaming call of 1024 input frames.

void bm_process(benchmark::State& state, const Setting& s, const Conv& conv, unsigned ch) {
    const double ratio = conv.ratio();
    const std::vector<float> in = noise(kPeriod * 16, ch);
    const auto cap = static_cast<std::size_t>(std::ceil(kPeriod * ratio)) + 16384;
    std::vector<float> out(cap * ch);
    auto r = make(s, ch, conv);
    for (std::size_t i = 0; i < 64; ++i)  // warm up: filters full, FIFOs at their steady size
        push_period(*r, in.data() + (i % 16) * kPeriod * ch, kPeriod, ch, out.data(), cap);
    std::size_t produced = 0, i = 0;
    const AllocSnap a = AllocSnap::take();
    for (auto _ : state) {
        produced += push_period(*r, in.data() + (i++ % 16) * kPeriod * ch, kPeriod, ch, out.data(), cap);
        benchmark::DoNotOptimize(out.data());
        benchmark::ClobberMemory();
    }
    const AllocDelta d = AllocSnap::take() - a;
    state.counters["ns_per_out_frame"] =
        benchmark::Counter(static_cast<double>(produced) * 1e-9, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
    state.counters["out_frames"] =
        benchmark::Counter(static_cast<double>(produced), benchmark::Counter::kAvgIterations);
    state.counters["allocs"] =
        benchmark::Counter(static_cast<double>(d.mallocs + d.news), benchmark::Counter::kAvgIterations);
}

void register_benchmarks() {
    const struct {
        Conv conv;
        unsigned ch;
    } cases[] = {{{44100, 48000}, 2}, {{48000, 16000}, 2}, {{16000, 48000}, 2}, {{8000, 48000}, 2},
                 {{44100, 48000, 50}, 2}, {{44100, 48000}, 1}, {{44100, 48000}, 8}};
    for (const auto& c : cases) {
        for (const Setting& s : kSettings) {
            if (c.conv.ppm != 0 && !supports_drift(s)) continue;
            const std::string name =
                std::string("BM_src/") + s.name + "/" + c.conv.name() + "/ch" + std::to_string(c.ch);
            benchmark::RegisterBenchmark(name.c_str(), [s, c](benchmark::State& st) {
                bm_process(st, s, c.conv, c.ch);
            })->Unit(benchmark::kMicrosecond);
        }
    }
}

}  // namespace

int main(int argc, char** argv) {
    bool do_report = false, report_only = false;
    std::vector<char*> args;
    for (int i = 0; i < argc; ++i) {
        if (std::strcmp(argv[i], "--report") == 0) {
            do_report = true;
        } else if (std::strcmp(argv[i], "--report-only") == 0) {
            do_report = report_only = true;
        } else {
            args.push_back(argv[i]);
        }
    }
    if (do_report) report();
    if (report_only) return 0;
    int n = static_cast<int>(args.size());
    register_benchmarks();
    benchmark::Initialize(&n, args.data());
    if (benchmark::ReportUnrecognizedArguments(n, args.data())) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
