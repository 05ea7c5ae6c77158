// `dynpcm demo`: one playback stream on the simulated DMA clock, taken through the states an
// application sees: auto-start at start_threshold, pause, an underrun (xrun) and recovery,
// suspend/resume, and drain. Every state change the runtime reports is printed as it happens.

#include <fmt/format.h>

#include <cmath>
#include <numbers>
#include <thread>
#include <vector>

#include "commands.h"
#include "dynpcm/dynpcm.h"

namespace dynpcm::cli {

namespace {

struct DemoOptions {
    unsigned rate = 48000;
    unsigned period = 1024;
    unsigned periods = 4;
    double seconds = 2.0;
    bool realtime = false;
};

class Demo {
public:
    explicit Demo(const DemoOptions& o)
        : o_(o),
          clock_(SimClock::Options{.mode = o.realtime ? SimClock::Mode::Realtime : SimClock::Mode::Virtual}),
          dma_(clock_, {.name = "sim0"}),
          pcm_(Stream::Playback, constraints(), dma_, {.name = "demo", .nonblock = true}) {
        dma_.set_sink([this](const std::byte* data, Frames n) { measure(data, n); });
    }

    int run() {
        if (o_.realtime) {
            if (auto r = clock_.start(); !r) return fail(r.error());
            say(clock_.sched_fifo() ? "real-time clock thread running with SCHED_FIFO"
                                    : fmt::format("warning: {}", clock_.fifo_warning()));
        } else {
            say("virtual clock: time advances only when the demo steps it (deterministic)");
        }
        HwParams hp = pcm_.hw_params_any();
        if (auto r = configure(hp); !r) return fail(r.error());
        say(fmt::format("hw_params chosen: {}", hp.summary()));
        say(fmt::format("sw_params: {}", pcm_.sw_params_current().to_string()));

        const double third = o_.seconds / 3;
        say("application writes; the first write reaches start_threshold and starts the stream");
        stream_for(third);

        say("pause for 100 ms, then release");
        check(pcm_.pause(true));
        step(0.1);
        check(pcm_.pause(false));
        stream_for(third / 2);

        say("the application stalls for a whole buffer: the interrupt path detects the xrun");
        step(static_cast<double>(o_.period * (o_.periods + 1)) / o_.rate);
        drain_events();
        auto w = pcm_.writei(tone(o_.period).data(), o_.period);
        if (!w) {
            say(fmt::format("writei -> {}; recover() prepares the stream again", w.error().to_string()));
            check(recover(pcm_, w.code()));
        }
        stream_for(third / 2);

        say("system suspend, then resume");
        check(pcm_.suspend());
        step(0.05);
        check(pcm_.resume());
        stream_for(third);

        say("drain: play out what is queued, then SETUP");
        auto d = pcm_.drain();
        if (!d && d.code() != -EAGAIN) return fail(d.error());
        while (pcm_.state() == PcmState::Draining) step(static_cast<double>(o_.period) / o_.rate);
        drain_events();
        const PcmStatus st = pcm_.status();
        say(fmt::format("done: {} periods elapsed, {} xrun(s), {:.1f} s of audio reached the DMA, "
                        "peak {:.3f}",
                        st.periods_elapsed, st.xruns, static_cast<double>(frames_out_) / o_.rate, peak_));
        clock_.stop();
        return 0;
    }

private:
    std::shared_ptr<const HwConstraints> constraints() const {
        HwConstraints::Caps caps;
        caps.formats = FormatMask::of(Format::S16_LE) | FormatMask::of(Format::S32_LE) | FormatMask::of(Format::FLOAT_LE);
        caps.channels = {1, 8};
        return std::make_shared<const HwConstraints>(caps);
    }

    Result<void> configure(HwParams& hp) {
        if (auto r = hp.set_format(Format::S16_LE); !r) return r;
        if (auto r = hp.set(HwParam::Channels, 2); !r) return r;
        if (auto r = hp.set_near(HwParam::Rate, o_.rate); !r) return r.error();
        if (auto r = hp.set_near(HwParam::PeriodSize, o_.period); !r) return r.error();
        if (auto r = hp.set_near(HwParam::Periods, o_.periods); !r) return r.error();
        if (auto r = pcm_.hw_params(hp); !r) return r;
        o_.rate = hp.rate();
        o_.period = hp.period_size();
        o_.periods = hp.periods();
        drain_events();
        return ok();
    }

    // Keeps the buffer full for `seconds` of stream time.
    void stream_for(double seconds) {
        const double period_s = static_cast<double>(o_.period) / o_.rate;
        for (double t = 0; t < seconds; t += period_s) {
            fill();
            step(period_s);
        }
    }

    void fill() {
        auto a = pcm_.avail();
        if (!a) {
            say(fmt::format("avail -> {}", a.error().to_string()));
            return;
        }
        if (*a == 0) return;
        auto w = pcm_.writei(tone(*a).data(), *a);
        if (!w) say(fmt::format("writei -> {}", w.error().to_string()));
        drain_events();
    }

    std::vector<int16_t> tone(Frames frames) {
        std::vector<int16_t> v(frames * 2);
        for (Frames i = 0; i < frames; ++i) {
            const double s = 0.5 * std::sin(2 * std::numbers::pi * 440.0 * static_cast<double>(phase_++) / o_.rate);
            v[2 * i] = v[2 * i + 1] = static_cast<int16_t>(s * 32767);
        }
        return v;
    }

    void step(double seconds) {
        const auto ns = std::chrono::nanoseconds(static_cast<int64_t>(seconds * 1e9));
        if (o_.realtime) std::this_thread::sleep_for(ns);
        else (void)clock_.advance(ns);
        drain_events();
    }

    void measure(const std::byte* data, Frames n) {
        const auto* s = reinterpret_cast<const int16_t*>(data);
        for (Frames i = 0; i < n * 2; ++i) peak_ = std::max(peak_, std::abs(s[i]) / 32768.0);
        frames_out_ += n;
    }

    void drain_events() {
        while (auto e = pcm_.pop_event()) {
            const double t = static_cast<double>(e->time_ns) / 1e9;
            switch (e->kind) {
                case PcmEvent::Kind::State:
                    fmt::print("  {:9.6f} s  {:<9} -> {:<9} hw_ptr {:>7} appl_ptr {:>7}\n", t,
                               pcm_state_name(e->from), pcm_state_name(e->to), e->hw_ptr, e->appl_ptr);
                    break;
                case PcmEvent::Kind::LostInterrupts:
                    fmt::print("  {:9.6f} s  lost interrupts? pointer moved {} frames\n", t, e->detail);
                    break;
                case PcmEvent::Kind::UnexpectedHwPtr:
                    fmt::print("  {:9.6f} s  unexpected hw_ptr jump of {} frames (ignored)\n", t, e->detail);
                    break;
                case PcmEvent::Kind::BadPosition:
                    fmt::print("  {:9.6f} s  pointer {} beyond the buffer\n", t, e->detail);
                    break;
                case PcmEvent::Kind::TriggerFailed:
                    fmt::print("  {:9.6f} s  trigger failed: {}\n", t, errno_name(static_cast<int>(e->detail)));
                    break;
                case PcmEvent::Kind::BadApplPtr:
                    fmt::print("  {:9.6f} s  impossible appl_ptr {} from the client: xrun\n", t, e->detail);
                    break;
            }
        }
    }

    void say(const std::string& s) { fmt::print("{}\n", s); }
    void check(const Result<void>& r) {
        if (!r) say(fmt::format("error: {}", r.error().to_string()));
        drain_events();
    }
    int fail(const Error& e) {
        fmt::print(stderr, "dynpcm demo: {}\n", e.to_string());
        return 1;
    }

    DemoOptions o_;
    SimClock clock_;
    SimDma dma_;
    PcmRuntime pcm_;
    uint64_t phase_ = 0;
    Frames frames_out_ = 0;
    double peak_ = 0;
};

}  // namespace

void add_demo(CLI::App& app) {
    auto opts = std::make_shared<DemoOptions>();
    CLI::App* sub = app.add_subcommand("demo", "Run one playback PCM on the simulated DMA clock and print its state changes");
    sub->add_option("--rate", opts->rate, "Sample rate in Hz")->check(CLI::Range(8000, 192000));
    sub->add_option("--period", opts->period, "Period size in frames")->check(CLI::Range(16, 65536));
    sub->add_option("--periods", opts->periods, "Periods per buffer")->check(CLI::Range(2, 64));
    sub->add_option("--seconds", opts->seconds, "Stream time to simulate")->check(CLI::Range(0.1, 3600.0));
    sub->add_flag("--realtime", opts->realtime, "Use the real-time clock thread instead of virtual time");
    sub->callback([opts] {
        Demo demo(*opts);
        const int rc = demo.run();
        if (rc != 0) throw CLI::RuntimeError(rc);
    });
}

}  // namespace dynpcm::cli
