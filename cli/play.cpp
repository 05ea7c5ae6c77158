// `dynpcm play CARD --fe NAME FILE.wav`: plays a sound file through a front-end of a card, to
// whatever back-ends the card's routing selects. The FE is driven as an alsa-lib application
// drives a PCM: hw_params from the file, a ring kept topped up with writei, an explicit start
// once the ring is full, and drain() at the end. Every BE's output is tapped for the summary.
//
// Clock: virtual by default (as fast as the CPU allows; the loop advances time in small steps),
// real time with --realtime or whenever a BE of the card is a real ALSA device.

#include <fmt/format.h>
#include <sndfile.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <nlohmann/json.hpp>
#include <vector>

#include "card_source.h"
#include "commands.h"
#include "dynpcm/dpcm/dpcm.h"
#include "dynpcm/dsp/analysis.h"
#include "dynpcm/dsp/convert.h"
#include "dynpcm/pcm/recover.h"
#include "dynpcm/scenario/runner.h"

namespace dynpcm::cli {

namespace {

using Clock = std::chrono::steady_clock;

constexpr auto kVirtualStep = std::chrono::milliseconds(5);
constexpr double kTapCapSeconds = 5.0;  // taps are emptied as the file plays; this is slack
constexpr uint32_t kPeriods = 4;

struct PlayOptions {
    std::vector<std::string> files;  // [CARD] FILE.wav
    CardSource card;
    std::string fe;
    std::string file;
    std::vector<std::string> sets;
    bool realtime = false;
    std::string out_dir;  // --out: what each BE received, as WAV files
};

// ---- the input file --------------------------------------------------------------------------

class SoundFile {
public:
    SoundFile() = default;
    ~SoundFile() {
        if (sf_) sf_close(sf_);
    }
    SoundFile(const SoundFile&) = delete;
    SoundFile& operator=(const SoundFile&) = delete;

    /// Opens `path` for reading; an error message naming the file otherwise.
    std::optional<std::string> open(const std::string& path) {
        std::error_code ec;
        const auto st = std::filesystem::status(path, ec);
        if (ec || !std::filesystem::exists(st)) return fmt::format("{}: no such file", path);
        if (std::filesystem::is_directory(st)) return fmt::format("{}: is a directory, not a WAV file", path);
        sf_ = sf_open(path.c_str(), SFM_READ, &info_);
        if (!sf_) return fmt::format("{}: cannot read it as a WAV file: {}", path, sf_strerror(nullptr));
        if (info_.channels <= 0 || info_.samplerate <= 0)
            return fmt::format("{}: no channels or no sample rate in the header", path);
        if (info_.frames <= 0) return fmt::format("{}: the file holds no audio frames", path);
        return std::nullopt;
    }

    uint32_t rate() const { return static_cast<uint32_t>(info_.samplerate); }
    uint32_t channels() const { return static_cast<uint32_t>(info_.channels); }
    Frames frames() const { return static_cast<Frames>(info_.frames); }
    double seconds() const { return static_cast<double>(frames()) / rate(); }
    std::string kind() const {
        SF_FORMAT_INFO fi{};
        fi.format = info_.format & SF_FORMAT_SUBMASK;
        if (sf_command(nullptr, SFC_GET_FORMAT_INFO, &fi, sizeof fi) == 0 && fi.name) return fi.name;
        return "audio";
    }

    /// Reads up to `n` frames as interleaved float; returns the frames read (0 at the end).
    Frames read(float* dst, Frames n) {
        const sf_count_t got = sf_readf_float(sf_, dst, static_cast<sf_count_t>(n));
        return got > 0 ? static_cast<Frames>(got) : 0;
    }

private:
    SNDFILE* sf_ = nullptr;
    SF_INFO info_{};
};

// ---- Ctrl-C stops playback cleanly (the wav backend finishes its file, devices close) ---------

volatile std::sig_atomic_t g_interrupted = 0;

extern "C" void on_interrupt(int) { g_interrupted = 1; }

class InterruptGuard {
public:
    InterruptGuard() {
        struct sigaction sa {};
        sa.sa_handler = on_interrupt;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, &old_int_);
        sigaction(SIGTERM, &sa, &old_term_);
    }
    ~InterruptGuard() {
        sigaction(SIGINT, &old_int_, nullptr);
        sigaction(SIGTERM, &old_term_, nullptr);
    }
    InterruptGuard(const InterruptGuard&) = delete;
    InterruptGuard& operator=(const InterruptGuard&) = delete;

private:
    struct sigaction old_int_ {};
    struct sigaction old_term_ {};
};

// ---- helpers ---------------------------------------------------------------------------------

std::string lower(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

/// "Speaker amp I2S (sim codec)", "Out (alsa: hw:0,0)".
std::string describe_be(const std::string& name, const Backend* b) {
    if (!b) return name;
    const std::string type = b->type();
    const std::string what = b->describe();
    if (lower(what).rfind(lower(type), 0) == 0) return fmt::format("{} ({})", name, what);
    return fmt::format("{} ({}: {})", name, type, what);
}

std::string dbfs(double peak) {
    if (peak <= 0) return "-inf dBFS (silence)";
    return fmt::format("{:.1f} dBFS", 20 * std::log10(peak));
}

/// "BE/playback" -> "BE".
std::string be_of_event(const std::string& be) {
    const size_t slash = be.rfind('/');
    return slash == std::string::npos ? be : be.substr(0, slash);
}

/// What an FE's configuration space allows for rate, as the user should read it: the listed
/// rates of the FE link that the space accepts, or the range.
std::string supported_rates(const HwParams& any, const FeLink& link) {
    const Interval& iv = any.interval(HwParam::Rate);
    std::vector<uint32_t> listed;
    if (link.playback)
        for (uint32_t r : link.playback->rate_list) {
            HwParams probe = any;
            if (probe.set(HwParam::Rate, r)) listed.push_back(r);
        }
    if (!listed.empty()) {
        std::string s;
        for (uint32_t r : listed) s += (s.empty() ? "" : ", ") + std::to_string(r);
        return s + " Hz";
    }
    return iv.to_string() + " Hz";
}

struct BeStats {
    std::string name;
    std::string params;
    Frames frames = 0;
    uint32_t rate = 0;
    double peak = 0;
    uint64_t xruns = 0;
    bool failed = false;
    std::string path;         // --out: its recording
    SNDFILE* out = nullptr;   // open while it is written
};

// ---- the player ------------------------------------------------------------------------------

class Player {
public:
    explicit Player(const PlayOptions& o) : o_(o) {}

    ~Player() {
        for (auto& b : bes_)
            if (b.out) sf_close(b.out);
        // The engine first: it owns the DMAs on the clock.
        dpcm_.reset();
        if (clock_) clock_->stop();
    }
    Player(const Player&) = delete;
    Player& operator=(const Player&) = delete;

    int run() {
        // The card, and the FE asked for.
        std::unique_ptr<Card> card = o_.card.load();
        if (!card) return kExitBadInput;
        if (!o_.out_dir.empty()) {
            std::error_code ec;
            std::filesystem::create_directories(o_.out_dir, ec);
            if (ec) return bad(fmt::format("--out '{}': {}", o_.out_dir, ec.message()));
        }
        const auto fe_index = card->find_fe(o_.fe);
        if (!fe_index) {
            std::vector<std::string> names;
            for (const auto& l : card->fe_links())
                if (l.playback) names.push_back(l.name);
            return bad(fmt::format("--fe '{}': card '{}' has no FE link '{}'{}; playback FEs: {}", o_.fe, card->name(),
                                   o_.fe, did_you_mean(o_.fe, names), join(names)));
        }
        const FeLink link = card->fe_links()[*fe_index];
        if (!link.playback) return bad(fmt::format("--fe '{}': the FE link has no playback stream", o_.fe));

        // The file.
        if (auto err = file_.open(o_.file)) return bad(*err);

        // The clock: a real device must be fed at its own pace.
        std::string why_realtime = o_.realtime ? "--realtime" : "";
        for (const auto& be : card->be_links())
            if (be.backend.type == "alsa" && why_realtime.empty())
                why_realtime = fmt::format("BE '{}' is an ALSA device", be.name);
        realtime_ = !why_realtime.empty();
        clock_ = std::make_unique<SimClock>(
            SimClock::Options{.mode = realtime_ ? SimClock::Mode::Realtime : SimClock::Mode::Virtual});

        Dpcm::Options opt;
        opt.clock = clock_.get();
        opt.tap_seconds = std::min(file_.seconds() + 1.0, kTapCapSeconds);
        auto created = Dpcm::create(std::move(card), opt);
        if (!created) return bad(fmt::format("{}: {}", o_.card.describe(), created.error().message()));
        dpcm_ = std::move(created).value();

        // --set NAME=VALUE, split at the last '=': names have spaces, values no '='.
        for (const auto& s : o_.sets) {
            const size_t eq = s.rfind('=');
            if (eq == std::string::npos || eq == 0 || eq + 1 == s.size())
                return bad(fmt::format("--set '{}': expected 'CONTROL=VALUE'", s));
            if (auto r = dpcm_->put(std::string_view(s).substr(0, eq), std::string_view(s).substr(eq + 1)); !r)
                return bad(fmt::format("--set '{}': {}", s, r.error().message()));
        }

        if (realtime_) {
            if (auto r = clock_->start(); !r) return failed(fmt::format("real-time clock: {}", r.error().message()));
            clock_note_ = clock_->sched_fifo() ? fmt::format("real-time clock, SCHED_FIFO ({})", why_realtime)
                                               : fmt::format("real-time clock at normal priority ({}; {})",
                                                             why_realtime, clock_->fifo_warning());
        } else {
            clock_note_ = "virtual clock (as fast as the CPU allows)";
        }

        PcmRuntime::Options po;
        po.nonblock = true;
        auto opened = dpcm_->open(o_.fe, Stream::Playback, po);
        if (!opened) return failed(opened.error().message());
        pcm_ = *opened;

        if (int rc = configure(link); rc != kExitOk) return rc;
        if (int rc = announce(); rc != kExitOk) return rc;
        return stream();
    }

private:
    static std::string join(const std::vector<std::string>& v) {
        std::string s;
        for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
        return s.empty() ? "(none)" : s;
    }

    int bad(const std::string& msg) {
        fmt::print(stderr, "dynpcm play: {}\n", msg);
        return kExitBadInput;
    }
    int failed(const std::string& msg) {
        end_progress();
        fmt::print(stderr, "dynpcm play: {}\n", msg);
        return kExitFailed;
    }

    // hw_params from the file; sw_params for an explicit start.
    int configure(const FeLink& link) {
        HwParams hp = pcm_->hw_params_any();
        const HwParams any = hp;
        if (auto r = hp.set_access(Access::RwInterleaved); !r) return failed(r.error().message());
        const bool rate_ok = hp.set(HwParam::Rate, file_.rate()).ok();
        const bool channels_ok = rate_ok && hp.set(HwParam::Channels, file_.channels()).ok();
        if (!rate_ok || !channels_ok) {
            const Interval& ch = any.interval(HwParam::Channels);
            return bad(fmt::format("{} has {} Hz, {} channel{}; FE '{}' supports {}, {} channel{}", o_.file,
                                   file_.rate(), file_.channels(), file_.channels() == 1 ? "" : "s", o_.fe,
                                   supported_rates(any, link), ch.to_string(), ch == Interval::single(1) ? "" : "s"));
        }
        const Format format = hp.formats().has(Format::S16_LE) ? Format::S16_LE : hp.formats().first();
        if (!dsp::convertible(format))
            return failed(fmt::format("FE '{}': no sample format dynpcm can convert to ({})", o_.fe,
                                      hp.formats().to_string()));
        if (auto r = hp.set_format(format); !r) return failed(r.error().message());
        if (auto r = hp.set_near(HwParam::PeriodSize, std::max(file_.rate() / 100, 16U)); !r)
            return failed(r.error().message());
        if (auto r = hp.set_near(HwParam::Periods, kPeriods); !r) return failed(r.error().message());

        // The BEs open() connected, for the announcement and the summary.
        for (const auto& f : dpcm_->dump().frontends)
            if (f.name == o_.fe && f.stream == Stream::Playback)
                for (const auto& b : f.backends) {
                    BeStats st;
                    st.name = b.name;
                    bes_.push_back(std::move(st));
                }

        // hw_params prepares, and a prepare with no BE routed fails with what to set.
        if (auto r = pcm_->hw_params(hp); !r) return failed(r.error().message());
        SwParams sw = pcm_->sw_params_current();
        sw.start_threshold = pcm_->boundary();  // started explicitly, once the ring is full
        sw.avail_min = pcm_->period_size();
        if (auto r = pcm_->sw_params(sw); !r) return failed(r.error().message());
        return kExitOk;
    }

    int announce() {
        const DpcmDump d = dpcm_->dump();
        std::vector<std::string> where;
        for (auto& b : bes_) {
            where.push_back(describe_be(b.name, dpcm_->backend(b.name, Stream::Playback)));
            for (const auto& f : d.frontends)
                for (const auto& bd : f.backends)
                    if (bd.name == b.name && bd.stream == Stream::Playback) b.params = bd.params;
            width_ = std::max(width_, b.name.size());
        }
        if (where.empty()) return failed(fmt::format("FE '{}' is connected to no BE", o_.fe));
        fmt::print("{}: {} Hz, {} ch, {:.2f} s ({})\n", o_.file, file_.rate(), file_.channels(), file_.seconds(),
                   file_.kind());
        fmt::print("{} -> {}\n", o_.fe, join(where));
        fmt::print("  {:<{}}  {}\n", "FE", width_, pcm_->params().summary());
        for (const auto& b : bes_)
            fmt::print("  {:<{}}  {}\n", b.name, width_, b.params.empty() ? "(not configured)" : b.params);
        fmt::print("  {}\n", clock_note_);
        std::fflush(stdout);
        return kExitOk;
    }

    // ---- streaming

    // Fills the ring from the file as far as it goes. false on a transfer error (in `err`).
    bool top_up(int& err) {
        const unsigned ch = file_.channels();
        const Format f = pcm_->params().format();
        const size_t fbytes = frame_bytes(f, ch);
        for (;;) {
            if (pending_at_ == pending_frames_) {
                if (eof_) return true;
                const Frames room = pcm_->avail_update();
                if (room == 0) return true;
                const Frames want = std::min<Frames>(room, pcm_->buffer_size());
                floats_.resize(static_cast<size_t>(want) * ch);
                const Frames got = file_.read(floats_.data(), want);
                if (got == 0) {
                    eof_ = true;
                    return true;
                }
                raw_.resize(static_cast<size_t>(got) * fbytes);
                dsp::from_float(f, floats_.data(), raw_.data(), static_cast<size_t>(got) * ch);
                pending_at_ = 0;
                pending_frames_ = got;
            }
            const Frames left = pending_frames_ - pending_at_;
            auto w = pcm_->writei(raw_.data() + static_cast<size_t>(pending_at_) * fbytes, left);
            if (!w) {
                if (w.code() == -EAGAIN) return true;
                err = w.code();
                last_error_ = w.error().message();
                return false;
            }
            pending_at_ += *w;
            written_ += *w;
            ring_written_ += *w;
            if (*w < left) return true;  // the ring is full
        }
    }

    bool all_written() const { return eof_ && pending_at_ == pending_frames_; }

    // Lets time pass: one virtual step, or (real time) until a period is free.
    void pass_time() {
        if (!realtime_) {
            (void)clock_->advance(kVirtualStep);
            return;
        }
        const auto period_ms = std::chrono::milliseconds(
            std::max<int64_t>(1, static_cast<int64_t>(pcm_->period_size()) * 1000 / pcm_->params().rate()));
        if (pcm_->state() == PcmState::Running || pcm_->state() == PcmState::Draining) {
            if (auto r = pcm_->wait(period_ms * 4); r) return;
        }
        std::this_thread::sleep_for(period_ms);
    }

    // An xrun: count it, prepare again, refill before starting. false if that fails.
    bool recover_xrun() {
        say(fmt::format("  xrun at {:.2f} s of the file: the ring ran dry; recovering", position_seconds()));
        if (auto r = recover(*pcm_, -EPIPE); !r) {
            last_error_ = fmt::format("xrun, and the FE could not be prepared again: {}", r.error().message());
            return false;
        }
        started_ = false;
        return true;
    }

    int stream() {
        InterruptGuard guard;
        wall_start_ = Clock::now();
        const Frames max_virtual_steps =
            static_cast<Frames>((file_.seconds() + 30.0) * 1000 / static_cast<double>(kVirtualStep.count()));
        Frames steps = 0;
        for (;;) {
            if (g_interrupted) return interrupted();
            int err = 0;
            if (!top_up(err)) {
                if (err == -EPIPE) {
                    if (!recover_xrun()) return finish(kExitFailed);
                    continue;
                }
                return finish_failed(err);
            }
            if (!started_ && (pcm_->avail_update() == 0 || all_written()) && pcm_->state() == PcmState::Prepared) {
                if (auto r = pcm_->start(); !r) {
                    last_error_ = fmt::format("start failed: {}", r.error().message());
                    return finish(kExitFailed);
                }
                started_ = true;
            }
            if (all_written()) break;
            pass_time();
            if (int rc = after_step(); rc >= 0) return rc;
            if (!realtime_ && ++steps > max_virtual_steps) {
                last_error_ = "the FE stopped moving (no BE clock drives it)";
                return finish(kExitFailed);
            }
        }

        return play_out();
    }

    // The file is in the ring: drain it. Non-blocking, drain() answers -EAGAIN once draining
    // has begun; the drain ends when the last frame has left the ring and the ports' FIFOs
    // behind it, and the stream is SETUP.
    int play_out() {
        if (!started_ && pcm_->state() == PcmState::Prepared) {
            if (auto r = pcm_->start(); !r) {
                last_error_ = fmt::format("start failed: {}", r.error().message());
                return finish(kExitFailed);
            }
            started_ = true;
        }
        if (auto r = pcm_->drain(); !r && r.code() != -EAGAIN) {
            last_error_ = fmt::format("drain failed: {}", r.error().message());
            return finish(kExitFailed);
        }
        const auto limit = std::chrono::seconds(5);
        const auto wall0 = Clock::now();
        int64_t virtual_ns = 0;
        while (pcm_->state() == PcmState::Draining) {
            if (g_interrupted) return interrupted();
            pass_time();
            virtual_ns += std::chrono::nanoseconds(kVirtualStep).count();
            if (pcm_->state() == PcmState::Xrun || pcm_->state() == PcmState::Disconnected) {
                if (int rc = after_step(); rc >= 0) return rc;
                break;
            }
            collect();
            progress();
            const bool too_long = realtime_ ? Clock::now() - wall0 > limit
                                            : virtual_ns > std::chrono::nanoseconds(limit).count();
            if (too_long) {
                last_error_ = "the end of the file did not play out (no BE clock drives the FE)";
                return finish(kExitFailed);
            }
        }
        return finish(kExitOk);
    }

    // After each step: the stream's state, events, taps, progress. -1 to go on, else an exit code.
    int after_step() {
        collect();
        progress();
        switch (pcm_->state()) {
            case PcmState::Xrun:
                if (!recover_xrun()) return finish(kExitFailed);
                return -1;
            case PcmState::Disconnected:
                last_error_ = "the FE was disconnected: every BE it played to failed";
                return finish(kExitFailed);
            case PcmState::Suspended:
                if (auto r = recover(*pcm_, -ESTRPIPE); !r) {
                    last_error_ = fmt::format("suspended, and could not resume: {}", r.error().message());
                    return finish(kExitFailed);
                }
                started_ = pcm_->state() == PcmState::Running;
                return -1;
            default: return -1;
        }
    }

    int finish_failed(int err) {
        if (err == -ENODEV) last_error_ = fmt::format("the FE was disconnected: every BE it played to failed ({})",
                                                      last_error_);
        return finish(kExitFailed);
    }

    int interrupted() {
        (void)pcm_->drop();
        last_error_ = fmt::format("interrupted at {:.2f} s of {:.2f} s", position_seconds(), file_.seconds());
        return finish(kExitFailed);
    }

    // Takes the taps and the engine's events.
    void collect() {
        for (auto& b : bes_) {
            tap_.clear();
            std::optional<HwParams> p;
            const size_t n = dpcm_->take_tap(b.name, Stream::Playback, tap_, &p);
            if (n == 0 || !p) continue;
            const size_t samples = n * p->channels();
            tap_floats_.resize(samples);
            dsp::to_float(p->format(), tap_.data(), tap_floats_.data(), samples);
            for (float v : tap_floats_) b.peak = std::max(b.peak, static_cast<double>(std::fabs(v)));
            if (!o_.out_dir.empty()) record(b, *p, n);
            b.frames += n;
            b.rate = p->rate();
        }
        for (const auto& e : dpcm_->take_events()) {
            const std::string be = be_of_event(e.be);
            BeStats* stats = nullptr;
            for (auto& b : bes_)
                if (b.name == be) stats = &b;
            switch (e.kind) {
                case DpcmEvent::Kind::BeXrun:
                    if (stats) ++stats->xruns;
                    if (!stats || stats->xruns <= 3) say(fmt::format("  BE '{}': {}", be, e.message));
                    if (stats && stats->xruns == 3) say(fmt::format("  BE '{}': (further xruns only counted)", be));
                    break;
                case DpcmEvent::Kind::BeFailed:
                    if (stats) stats->failed = true;
                    say(fmt::format("  BE '{}' failed: {}", be, e.message));
                    break;
                case DpcmEvent::Kind::BeTriggerFailed:
                    say(fmt::format("  BE '{}': trigger: {}", be, e.message));
                    break;
                case DpcmEvent::Kind::ParamsMismatch:
                case DpcmEvent::Kind::Lost:
                case DpcmEvent::Kind::Warning:
                    say(fmt::format("  {}{}", be.empty() ? "" : fmt::format("BE '{}': ", be), e.message));
                    break;
                case DpcmEvent::Kind::Connect:
                case DpcmEvent::Kind::Disconnect:
                    break;
            }
        }
    }

    // --out: the BE's tap, appended to its WAV file (opened at the first data, in the BE's
    // rate and channels).
    void record(BeStats& b, const HwParams& p, size_t frames) {
        if (!b.out && b.path.empty()) {
            b.path = (std::filesystem::path(o_.out_dir) / scenario::recording_file_name(b.name + "/playback")).string();
            SF_INFO info{};
            info.samplerate = static_cast<int>(p.rate());
            info.channels = static_cast<int>(p.channels());
            info.format = SF_FORMAT_WAV | (p.format() == Format::FLOAT_LE ? SF_FORMAT_FLOAT
                                           : format_info(p.format()).width > 16 ? SF_FORMAT_PCM_24
                                                                                : SF_FORMAT_PCM_16);
            b.out = sf_open(b.path.c_str(), SFM_WRITE, &info);
            if (!b.out) {
                say(fmt::format("  cannot write '{}': {}", b.path, sf_strerror(nullptr)));
                return;
            }
            sf_command(b.out, SFC_SET_CLIPPING, nullptr, SF_TRUE);
        }
        if (b.out) sf_writef_float(b.out, tap_floats_.data(), static_cast<sf_count_t>(frames));
    }

    void close_recordings() {
        for (auto& b : bes_)
            if (b.out) {
                sf_close(b.out);
                b.out = nullptr;
                fmt::print("  wrote {}\n", b.path);
            }
    }

    void say(const std::string& s) {
        end_progress();
        fmt::print("{}\n", s);
        std::fflush(stdout);
    }

    // Seconds of the file that have left the ring.
    double position_seconds() const {
        const Frames queued = pcm_->buffer_size() - std::min(pcm_->avail_update(), pcm_->buffer_size());
        const Frames played = ring_written_ > queued ? ring_written_ - queued : 0;
        return static_cast<double>(std::min(played, written_)) / file_.rate();
    }

    void progress() {
        if (!tty_) return;
        const auto now = Clock::now();
        if (now - wall_start_ < std::chrono::seconds(1) || now - last_progress_ < std::chrono::milliseconds(100))
            return;
        last_progress_ = now;
        fmt::print(stderr, "\r  {:.1f} / {:.1f} s", position_seconds(), file_.seconds());
        std::fflush(stderr);
        progress_shown_ = true;
    }

    void end_progress() {
        if (!progress_shown_) return;
        fmt::print(stderr, "\r\x1b[K");
        std::fflush(stderr);
        progress_shown_ = false;
    }

    int finish(int rc) {
        collect();
        end_progress();
        const uint64_t fe_xruns = pcm_->status().xruns;
        const double wall = std::chrono::duration<double>(Clock::now() - wall_start_).count();
        (void)dpcm_->close(o_.fe, Stream::Playback);
        pcm_ = nullptr;
        collect_events_only();

        if (rc == kExitOk)
            fmt::print("played {:.2f} s ({} frames) in {:.2f} s of wall time\n", file_.seconds(), file_.frames(), wall);
        else
            fmt::print("stopped after {:.2f} s of wall time\n", wall);
        for (const auto& b : bes_) {
            const double secs = b.rate ? static_cast<double>(b.frames) / b.rate : 0.0;
            fmt::print("  {:<{}}  {:>9} frames ({:.2f} s)  peak {}{}{}\n", b.name, width_, b.frames, secs, dbfs(b.peak),
                       b.xruns ? fmt::format("  {} device xrun{}", b.xruns, b.xruns == 1 ? "" : "s") : "",
                       b.failed ? "  FAILED" : "");
        }
        fmt::print("  FE xruns: {}\n", fe_xruns);
        close_recordings();
        std::fflush(stdout);
        if (rc != kExitOk) fmt::print(stderr, "dynpcm play: {}\n", last_error_);
        return rc;
    }

    // After close: late events only (taps of closed BEs are gone).
    void collect_events_only() {
        for (const auto& e : dpcm_->take_events())
            if (e.kind == DpcmEvent::Kind::BeFailed || e.kind == DpcmEvent::Kind::BeXrun)
                for (auto& b : bes_)
                    if (b.name == be_of_event(e.be)) {
                        if (e.kind == DpcmEvent::Kind::BeXrun) ++b.xruns;
                        else b.failed = true;
                    }
    }

    PlayOptions o_;
    SoundFile file_;
    std::unique_ptr<SimClock> clock_;
    std::unique_ptr<Dpcm> dpcm_;
    PcmRuntime* pcm_ = nullptr;
    bool realtime_ = false;
    std::string clock_note_;
    size_t width_ = 2;  // of the name column
    std::vector<BeStats> bes_;

    // streaming state
    std::vector<float> floats_;
    std::vector<std::byte> raw_;
    Frames pending_at_ = 0, pending_frames_ = 0;
    Frames written_ = 0;       // frames of the file written to the ring
    Frames ring_written_ = 0;  // frames written into the ring
    bool eof_ = false;
    bool started_ = false;
    std::string last_error_;

    // taps
    std::vector<std::byte> tap_;
    std::vector<float> tap_floats_;

    // progress
    bool tty_ = ::isatty(STDERR_FILENO) == 1;
    bool progress_shown_ = false;
    Clock::time_point wall_start_{};
    Clock::time_point last_progress_{};
};

}  // namespace

namespace {

// `dynpcm analyze FILE.wav`: what a BE recorded, in the terms a listener checks: where the audio
// starts and ends, silences inside it, the tone and level of each channel, the largest step.
struct AnalyzeExpect {
    std::optional<double> tone_hz, level_dbfs, max_step;
    std::optional<uint64_t> frames;
    bool no_gaps = false;
};

int analyze(const std::string& path, bool as_json, const AnalyzeExpect& want) {
    SoundFile f;
    if (auto e = f.open(path)) {
        fmt::print(stderr, "analyze: {}\n", *e);
        return kExitBadInput;
    }
    const uint32_t ch = f.channels();
    std::vector<float> x(static_cast<size_t>(f.frames()) * ch);
    const Frames got = f.read(x.data(), f.frames());
    x.resize(static_cast<size_t>(got) * ch);
    // A frame is silent below -80 dBFS on every channel. A gap is 16 or more silent frames in a
    // row between the first and the last sound (a sine's zero crossing is one or two).
    constexpr float kQuiet = 1e-4f;
    constexpr Frames kMinGap = 16;
    auto silent = [&](Frames i) {
        for (uint32_t c = 0; c < ch; ++c)
            if (std::fabs(x[i * ch + c]) >= kQuiet) return false;
        return true;
    };
    Frames first = got, last = 0;
    for (Frames i = 0; i < got; ++i)
        if (!silent(i)) {
            first = std::min(first, i);
            last = i + 1;
        }
    std::vector<std::pair<Frames, Frames>> gaps;  // (start, length)
    for (Frames i = first, run = 0; i < last; ++i) {
        run = silent(i) ? run + 1 : 0;
        if (run == kMinGap) gaps.emplace_back(i + 1 - kMinGap, kMinGap);
        else if (run > kMinGap) gaps.back().second = run;
    }
    const Frames audio = last > first ? last - first : 0;
    const float* a = x.data() + static_cast<size_t>(audio ? first : 0) * ch;
    const dsp::Step step = dsp::max_step(a, audio, ch);
    const double rate = f.rate();
    auto secs = [&](Frames n) { return static_cast<double>(n) / rate; };
    nlohmann::ordered_json j;
    j["file"] = path;
    j["rate"] = f.rate();
    j["channels"] = ch;
    j["frames"] = got;
    j["audio_start_frame"] = audio ? first : 0;
    j["audio_frames"] = audio;
    j["gaps"] = nlohmann::ordered_json::array();
    for (auto [at, n] : gaps) j["gaps"].push_back({{"frame", at}, {"frames", n}});
    j["max_step"] = step.size;
    j["max_step_frame"] = audio ? first + step.frame : 0;
    for (uint32_t c = 0; c < ch; ++c) {
        const dsp::Level l = dsp::level(a, audio, ch, c);
        nlohmann::ordered_json cj = {{"peak_dbfs", std::isfinite(l.peak_dbfs) ? l.peak_dbfs : -999.0},
                                     {"rms_dbfs", std::isfinite(l.rms_dbfs) ? l.rms_dbfs : -999.0}};
        if (auto t = dsp::dominant_tone(a, audio, ch, c, rate)) {
            cj["tone_hz"] = t->frequency_hz;
            cj["tone_dbfs"] = t->amplitude_dbfs;
        }
        j["channel"].push_back(cj);
    }
    // Expectations: each one that does not hold is a line and exit code 1.
    std::vector<std::string> broken;
    for (uint32_t c = 0; c < ch; ++c) {
        const auto& cj = j["channel"][c];
        if (want.tone_hz && (!cj.contains("tone_hz") || std::fabs(cj["tone_hz"].get<double>() - *want.tone_hz) > 1.0))
            broken.push_back(fmt::format("channel {}: no tone at {} Hz", c, *want.tone_hz));
        if (want.level_dbfs &&
            (!cj.contains("tone_dbfs") || std::fabs(cj["tone_dbfs"].get<double>() - *want.level_dbfs) > 0.5))
            broken.push_back(fmt::format("channel {}: the tone is not at {} dBFS", c, *want.level_dbfs));
    }
    if (want.frames && (audio + 2 < *want.frames || audio > *want.frames + 2))
        broken.push_back(fmt::format("{} frames of sound, not {}", audio, *want.frames));
    if (want.no_gaps && !gaps.empty()) broken.push_back(fmt::format("{} silent gaps", gaps.size()));
    if (want.max_step && static_cast<double>(step.size) > *want.max_step)
        broken.push_back(fmt::format("a step of {:.4f} (a click) at {:.3f} s, above {}", step.size, secs(first + step.frame),
                                     *want.max_step));
    const int rc = broken.empty() ? 0 : 1;
    if (as_json) {
        j["failed"] = broken;
        fmt::print("{}\n", j.dump(2));
        return rc;
    }
    fmt::print("{}: {} Hz, {} channels, {} frames ({:.3f} s)\n", path, f.rate(), ch, got, secs(got));
    if (!audio) {
        fmt::print("  silence throughout\n");
        for (const auto& b : broken) fmt::print("  \u2717 {}\n", b);
        return rc;
    }
    fmt::print("  sound from {:.3f} s to {:.3f} s ({} frames), {}\n", secs(first), secs(last), audio,
               gaps.empty() ? std::string("no silent gap inside it") : fmt::format("{} silent gaps inside it", gaps.size()));
    for (auto [at, n] : gaps) fmt::print("    gap at {:.3f} s: {} frames\n", secs(at), n);
    for (uint32_t c = 0; c < ch; ++c) {
        const auto& cj = j["channel"][c];
        fmt::print("  channel {}: peak {:.2f} dBFS, RMS {:.2f} dBFS{}\n", c, cj["peak_dbfs"].get<double>(),
                   cj["rms_dbfs"].get<double>(),
                   cj.contains("tone_hz") ? fmt::format(", tone {:.2f} Hz at {:.2f} dBFS", cj["tone_hz"].get<double>(),
                                                        cj["tone_dbfs"].get<double>())
                                          : "");
    }
    fmt::print("  largest sample step {:.4f} at {:.3f} s\n", step.size, secs(first + step.frame));
    for (const auto& b : broken) fmt::print("  \u2717 {}\n", b);
    return rc;
}

}  // namespace

void add_analyze(CLI::App& app) {
    auto path = std::make_shared<std::string>();
    auto json = std::make_shared<bool>(false);
    CLI::App* sub = app.add_subcommand(
        "analyze", "What a WAV file holds: where the sound starts and ends, silent gaps, each channel's tone and level, "
                   "the largest sample step (a click)");
    sub->add_option("file", *path, "The WAV file (what a wav BE recorded, say)")->required();
    sub->add_flag("--json", *json, "Print the figures as JSON");
    auto want = std::make_shared<AnalyzeExpect>();
    sub->add_option("--tone", want->tone_hz, "Expect this tone (Hz, within 1 Hz) on every channel; exit 1 if not");
    sub->add_option("--level", want->level_dbfs, "Expect the tone at this level (dBFS, within 0.5 dB)");
    sub->add_option("--frames", want->frames, "Expect this many frames of sound (within 2)");
    sub->add_flag("--no-gaps", want->no_gaps, "Expect no silent gap inside the sound");
    sub->add_option("--max-step", want->max_step, "Expect no sample step (click) larger than this (full scale 1.0)");
    sub->callback([path, json, want] { throw Exit{analyze(*path, *json, *want)}; });
}

void add_play(CLI::App& app) {
    auto opts = std::make_shared<PlayOptions>();
    CLI::App* sub = app.add_subcommand(
        "play", "Play a WAV file through a front-end of a card to the back-ends its routing selects");
    sub->add_option("files", opts->files, "[CARD] FILE: the card file (YAML; left out with --tplg) and the WAV file to play")
        ->expected(1, 2)
        ->required();
    opts->card.add_tplg_options(*sub);
    sub->add_option("--fe", opts->fe, "The FE link to play through, e.g. 'Media Playback'")->required();
    sub->add_option("--set", opts->sets, "Set a control before opening: 'CONTROL=VALUE' (repeatable)")
        ->take_all()
        ->allow_extra_args(false);
    sub->add_flag("--realtime", opts->realtime,
                  "Run on the real-time clock (automatic when a BE of the card is an ALSA device)");
    sub->add_option("--out", opts->out_dir, "Write what each BE received as DIR/<BE>_playback.wav (the directory is made)");
    sub->callback([opts] {
        opts->file = opts->files.back();
        if (opts->files.size() == 2) opts->card.card_file = opts->files.front();
        Player p(*opts);
        const int rc = p.run();
        throw Exit{rc};
    });
}

}  // namespace dynpcm::cli
