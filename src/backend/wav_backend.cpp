// The wav backend: playback records into a WAV file, capture plays one (libsndfile).
//
// Threads. The control thread opens, checks and closes the file and allocates everything. The
// realtime thread only copies between the caller's buffer and an SpscRing<std::byte> and
// updates atomics. A disk thread per prepared BE does all the file I/O: playback pops the ring
// and writes, capture reads ahead and pushes.
//
// Waking the disk thread: it polls. It sleeps kDiskPoll (5 ms) on a WaitWord between passes;
// the realtime side never wakes it, so write_rt/read_rt make no syscall at all. With at least
// 2 s in the ring, a disk thread that looks every 5 ms is hundreds of polls ahead of an
// overrun or underrun, so a per-period futex wake from the realtime thread would buy nothing.
// The control thread does wake it (WaitWord::wake_all) when it must stop, so hw_free/close do
// not wait out a poll interval.

#include "dynpcm/backend/wav_backend.h"

#include <fcntl.h>
#include <pthread.h>
#include <sndfile.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <system_error>
#include <thread>
#include <vector>

#include "backend/backends.h"
#include "dynpcm/core/thread_role.h"
#include "dynpcm/core/wait_word.h"
#include "dynpcm/rt/spsc_ring.h"

namespace dynpcm {

namespace {

constexpr std::chrono::milliseconds kDiskPoll{5};
constexpr uint32_t kRingSeconds = 2;      // the ring holds at least this much audio
constexpr size_t kChunkFrames = 4096;     // frames per libsndfile call on the disk thread

// The WAV subtype a playback BE records in, or 0 when a WAV file cannot hold `f` as it is.
int wav_subtype(Format f) noexcept {
    switch (f) {
        case Format::S16_LE: return SF_FORMAT_PCM_16;
        case Format::S24_LE:
        case Format::S24_3LE: return SF_FORMAT_PCM_24;
        case Format::S32_LE: return SF_FORMAT_PCM_32;
        case Format::FLOAT_LE: return SF_FORMAT_FLOAT;
        default: return 0;
    }
}

// The RIFF/WAVE family libsndfile reads: what a capture BE accepts.
bool is_wav_family(int sf_format) noexcept {
    switch (sf_format & SF_FORMAT_TYPEMASK) {
        case SF_FORMAT_WAV:
        case SF_FORMAT_WAVEX:
        case SF_FORMAT_RF64:
        case SF_FORMAT_W64: return true;
        default: return false;
    }
}

std::string major_name(int sf_format) {
    SF_FORMAT_INFO info{};
    info.format = sf_format & SF_FORMAT_TYPEMASK;
    if (sf_command(nullptr, SFC_GET_FORMAT_INFO, &info, sizeof info) == 0 && info.name) return info.name;
    return fmt::format("format 0x{:x}", info.format);
}

std::string errno_text(int e) { return std::error_code(e, std::generic_category()).message(); }

const char* plural(uint32_t n, const char* one, const char* many) { return n == 1 ? one : many; }

// Writes the low `bytes` bytes of `v`, least significant first.
void put_le(std::byte* out, uint64_t v, unsigned bytes) noexcept {
    for (unsigned k = 0; k < bytes; ++k) out[k] = static_cast<std::byte>(v >> (8 * k));
}

// Capture: libsndfile's int samples (left-aligned 32-bit) to the integer format `fi`. The top
// `width` bits are kept; a 4-byte container of a 24-bit format gets the sign in its top byte.
void pack_ints(const int32_t* in, std::byte* out, size_t samples, const FormatInfo& fi) noexcept {
    const unsigned shift = 32 - fi.width;
    const unsigned bytes = fi.physical / 8;
    const uint32_t flip = fi.is_signed ? 0u : (1u << (fi.width - 1));  // offset binary (U8)
    for (size_t i = 0; i < samples; ++i, out += bytes) {
        const uint32_t v = static_cast<uint32_t>(in[i] >> shift) ^ flip;
        for (unsigned k = 0; k < bytes; ++k)
            out[fi.little_endian ? k : bytes - 1 - k] = static_cast<std::byte>(v >> (8 * k));
    }
}

// Playback S24_LE (24 bits low in a 4-byte LE word; the top byte ignored) to left-aligned
// 32-bit ints, which is what sf_writef_int takes.
void s24_to_left_aligned(const std::byte* in, int32_t* out, size_t samples) noexcept {
    for (size_t i = 0; i < samples; ++i, in += 4) {
        const uint32_t u = std::to_integer<uint32_t>(in[0]) << 8 | std::to_integer<uint32_t>(in[1]) << 16 |
                           std::to_integer<uint32_t>(in[2]) << 24;
        out[i] = static_cast<int32_t>(u);
    }
}

}  // namespace

// ---- state ------------------------------------------------------------------------------------

struct WavBackend::Impl {
    BackendContext ctx;
    Options opt;

    // Set by hw_params (control); read by the disk thread, which starts after, and by the
    // realtime side, which runs between a start and a stop (after prepare's release store).
    bool have_params = false;
    Format format = Format::S16_LE;
    uint32_t channels = 0;
    uint32_t rate = 0;
    uint32_t frame_bytes = 0;
    uint8_t silence = 0;
    int subtype = 0;  // playback
    std::unique_ptr<SpscRing<std::byte>> ring;
    // The disk thread's scratch, one chunk: bytes in the BE format, and libsndfile's side.
    std::vector<std::byte> chunk;
    std::vector<int32_t> ints;
    std::vector<float> floats;
    std::vector<double> doubles;

    // The file (control opens and closes it; the disk thread uses it while it runs).
    int fd = -1;
    SNDFILE* file = nullptr;
    sf_count_t file_frames = 0;  // capture: the file's length
    std::thread disk;
    WaitWord wake;
    std::atomic<bool> quit{false};
    std::atomic<bool> paused{false};
    std::atomic<bool> failed{false};     // the disk thread hit an I/O error: transfers fail
    std::atomic<bool> file_done{false};  // capture: the last frame of the file is in the ring
    std::string disk_error;              // why it failed; read by control after the join

    // The realtime side.
    std::atomic<bool> prepared{false};
    std::atomic<bool> running{false};
    std::atomic<Frames> position{0};
    std::atomic<uint64_t> overruns{0};
    std::atomic<uint64_t> overrun_frames{0};
    std::atomic<uint64_t> underruns{0};
    std::atomic<uint64_t> underrun_frames{0};
    std::atomic<bool> at_end{false};

    Impl(BackendContext c, Options o) : ctx(std::move(c)), opt(std::move(o)) {}

    bool playback() const { return ctx.dir == Stream::Playback; }

    Result<void> finish();
    Result<void> open_for_record();
    Result<void> open_for_play();
    void close_file() noexcept;
    void fail(std::string why);

    // Disk thread (and capture's prefill on the control thread).
    void record_loop();
    void play_loop();
    bool write_out();
    bool write_chunk(size_t bytes);
    bool read_ahead();
    sf_count_t read_chunk(size_t frames);
};

void WavBackend::Impl::fail(std::string why) {
    disk_error = std::move(why);
    failed.store(true, std::memory_order_release);
}

void WavBackend::Impl::close_file() noexcept {
    if (file) sf_close(file);
    file = nullptr;
    if (fd >= 0) ::close(fd);
    fd = -1;
}

// Stops the disk thread (playback: once everything queued is written), closes the file and
// reports what went wrong since prepare. Leaves the BE unprepared.
Result<void> WavBackend::Impl::finish() {
    prepared.store(false, std::memory_order_release);
    running.store(false, std::memory_order_relaxed);
    if (disk.joinable()) {
        quit.store(true, std::memory_order_release);
        wake.wake_all();
        disk.join();
        quit.store(false, std::memory_order_relaxed);
    }
    std::string why = std::move(disk_error);
    disk_error.clear();
    if (failed.exchange(false, std::memory_order_acq_rel) && why.empty())
        why = fmt::format("BE '{}': WAV file '{}': the disk thread failed", ctx.be_name, opt.file);
    if (file) {
        const int rc = sf_close(file);
        file = nullptr;
        if (rc != SF_ERR_NO_ERROR && why.empty())
            why = fmt::format("BE '{}': cannot finish WAV file '{}': {}", ctx.be_name, opt.file, sf_error_number(rc));
    }
    if (fd >= 0) {
        if (::close(fd) != 0 && why.empty())
            why = fmt::format("BE '{}': cannot finish WAV file '{}': {}", ctx.be_name, opt.file, errno_text(errno));
        fd = -1;
    }
    if (!why.empty()) return Error(-EIO, std::move(why));
    return ok();
}

Result<void> WavBackend::Impl::open_for_record() {
    fd = ::open(opt.file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0) {
        const int e = errno;
        return Error(-e, fmt::format("BE '{}': cannot create WAV file '{}': {}", ctx.be_name, opt.file, errno_text(e)));
    }
    SF_INFO info{};
    info.samplerate = static_cast<int>(rate);
    info.channels = static_cast<int>(channels);
    info.format = SF_FORMAT_WAV | subtype;
    file = sf_open_fd(fd, SFM_WRITE, &info, SF_FALSE);
    if (!file) {
        std::string why = sf_strerror(nullptr);
        close_file();
        return Error(-EIO, fmt::format("BE '{}': cannot create WAV file '{}': {}", ctx.be_name, opt.file, why));
    }
    return ok();
}

Result<void> WavBackend::Impl::open_for_play() {
    fd = ::open(opt.file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        const int e = errno;
        return Error(-e, fmt::format("BE '{}': cannot open WAV file '{}': {}", ctx.be_name, opt.file, errno_text(e)));
    }
    SF_INFO info{};
    file = sf_open_fd(fd, SFM_READ, &info, SF_FALSE);
    if (!file) {
        std::string why = sf_strerror(nullptr);
        close_file();
        return Error(-EINVAL, fmt::format("BE '{}': cannot read WAV file '{}': {}", ctx.be_name, opt.file, why));
    }
    if (!is_wav_family(info.format)) {
        close_file();
        return Error(-EINVAL, fmt::format("BE '{}': '{}' is a {} file, not a WAV file", ctx.be_name, opt.file,
                                          major_name(info.format)));
    }
    const auto file_channels = static_cast<uint32_t>(info.channels);
    const auto file_rate = static_cast<uint32_t>(info.samplerate);
    if (file_channels != channels || file_rate != rate) {
        close_file();
        return Error(-EINVAL, fmt::format("BE '{}': WAV file '{}' has {} {} at {} Hz; the BE runs {} {} at {} Hz",
                                          ctx.be_name, opt.file, file_channels, plural(file_channels, "channel", "channels"),
                                          file_rate, channels, plural(channels, "channel", "channels"), rate));
    }
    // A float file read as integers: scale full scale to full scale (libsndfile would
    // otherwise truncate 0.5 to 0), and clip what lies beyond.
    sf_command(file, SFC_SET_SCALE_FLOAT_INT_READ, nullptr, SF_TRUE);
    sf_command(file, SFC_SET_CLIPPING, nullptr, SF_TRUE);
    file_frames = info.frames;
    return ok();
}

// ---- the disk thread: playback -----------------------------------------------------------------

bool WavBackend::Impl::write_chunk(size_t bytes) {
    const size_t frames = bytes / frame_bytes;
    if (format == Format::S24_LE) {
        s24_to_left_aligned(chunk.data(), ints.data(), frames * channels);
        if (sf_writef_int(file, ints.data(), static_cast<sf_count_t>(frames)) == static_cast<sf_count_t>(frames))
            return true;
    } else {
        // S16_LE, S24_3LE, S32_LE and FLOAT_LE are laid out in memory as a WAV file's data
        // chunk holds them (little-endian, packed): written as they are.
        if (sf_write_raw(file, chunk.data(), static_cast<sf_count_t>(bytes)) == static_cast<sf_count_t>(bytes))
            return true;
    }
    fail(fmt::format("BE '{}': cannot write WAV file '{}': {}", ctx.be_name, opt.file, sf_strerror(file)));
    return false;
}

// Writes everything in the ring. False after a write error.
bool WavBackend::Impl::write_out() {
    for (;;) {
        const size_t n = ring->pop(chunk.data(), chunk.size());
        if (n == 0) return true;
        if (!write_chunk(n)) return false;
    }
}

void WavBackend::Impl::record_loop() {
    for (;;) {
        const uint32_t seen = wake.seq();
        // Read quit first: everything pushed before it was set is then in the ring.
        const bool quitting = quit.load(std::memory_order_acquire);
        if (quitting || !paused.load(std::memory_order_relaxed))
            if (!write_out()) return;
        if (quitting) return;
        wake.wait(seen, kDiskPoll);
    }
}

// ---- the disk thread: capture ------------------------------------------------------------------

// Reads up to `frames` frames, converted to the BE format, into `chunk`.
sf_count_t WavBackend::Impl::read_chunk(size_t frames) {
    const auto want = static_cast<sf_count_t>(frames);
    const FormatInfo& fi = format_info(format);
    if (format == Format::FLOAT_LE) {
        const sf_count_t got = sf_readf_float(file, floats.data(), want);
        for (size_t i = 0; i < static_cast<size_t>(std::max<sf_count_t>(got, 0)) * channels; ++i)
            put_le(chunk.data() + 4 * i, std::bit_cast<uint32_t>(floats[i]), 4);
        return got;
    }
    if (format == Format::FLOAT64_LE) {
        const sf_count_t got = sf_readf_double(file, doubles.data(), want);
        for (size_t i = 0; i < static_cast<size_t>(std::max<sf_count_t>(got, 0)) * channels; ++i)
            put_le(chunk.data() + 8 * i, std::bit_cast<uint64_t>(doubles[i]), 8);
        return got;
    }
    const sf_count_t got = sf_readf_int(file, ints.data(), want);
    if (got > 0) pack_ints(ints.data(), chunk.data(), static_cast<size_t>(got) * channels, fi);
    return got;
}

// Fills the ring from the file; at its end, seeks back (loop) or marks the file done.
// False after a read error.
bool WavBackend::Impl::read_ahead() {
    while (!file_done.load(std::memory_order_relaxed)) {
        const size_t room = ring->writable() / frame_bytes;
        if (room == 0) return true;
        const size_t want = std::min(room, chunk.size() / frame_bytes);
        const sf_count_t got = read_chunk(want);
        if (got > 0) ring->push(chunk.data(), static_cast<size_t>(got) * frame_bytes);
        if (got == static_cast<sf_count_t>(want)) continue;
        if (sf_error(file) != SF_ERR_NO_ERROR) {
            fail(fmt::format("BE '{}': cannot read WAV file '{}': {}", ctx.be_name, opt.file, sf_strerror(file)));
            return false;
        }
        if (!opt.loop || file_frames == 0) {
            file_done.store(true, std::memory_order_release);  // after the last push
            return true;
        }
        if (sf_seek(file, 0, SEEK_SET) != 0) {
            fail(fmt::format("BE '{}': cannot loop WAV file '{}': {}", ctx.be_name, opt.file, sf_strerror(file)));
            return false;
        }
    }
    return true;
}

void WavBackend::Impl::play_loop() {
    for (;;) {
        const uint32_t seen = wake.seq();
        if (quit.load(std::memory_order_acquire)) return;
        if (!paused.load(std::memory_order_relaxed))
            if (!read_ahead()) return;
        wake.wait(seen, kDiskPoll);
    }
}

// ---- options ------------------------------------------------------------------------------------

Result<WavBackend::Options> WavBackend::parse(const BackendBinding& b) {
    Options o;
    const auto it = b.options.find("file");
    if (it == b.options.end())
        return Error(-EINVAL, "backend 'wav': option file is required (none given): the WAV file to record to or play");
    if (it->second.empty())
        return Error(-EINVAL, "backend 'wav': option file: '' is empty; name the WAV file to record to or play");
    o.file = it->second;
    auto loop = backend_detail::parse_flag(b, "loop", false);
    if (!loop) return std::move(loop).error();
    o.loop = *loop;
    return o;
}

namespace backend_detail {
Result<void> check_wav(const BackendBinding& b) {
    auto o = WavBackend::parse(b);
    if (!o) return std::move(o).error();
    return ok();
}
Result<std::unique_ptr<Backend>> make_wav(const BackendBinding& b, const BackendContext& c) {
    auto o = WavBackend::parse(b);
    if (!o) return Error(o.code(), fmt::format("BE '{}': {}", c.be_name, o.error().message()));
    return std::unique_ptr<Backend>(std::make_unique<WavBackend>(c, std::move(*o)));
}
}  // namespace backend_detail

// ---- the BE operations ----------------------------------------------------------------------------

WavBackend::WavBackend(BackendContext context, Options options)
    : impl_(std::make_unique<Impl>(std::move(context), std::move(options))) {}

WavBackend::~WavBackend() { (void)impl_->finish(); }

std::string WavBackend::describe() const {
    if (impl_->playback()) return fmt::format("WAV file '{}' (record)", impl_->opt.file);
    return fmt::format("WAV file '{}' (play{})", impl_->opt.file, impl_->opt.loop ? ", loop" : "");
}

Result<void> WavBackend::hw_params(const HwParams& p) {
    Impl& m = *impl_;
    if (auto r = m.finish(); !r) return r;
    const Format f = p.format();
    const int subtype = m.playback() ? wav_subtype(f) : 0;
    if (m.playback() && subtype == 0)
        return Error(-EINVAL, fmt::format("BE '{}': cannot record {} into WAV file '{}' (it records S16_LE, S24_LE, "
                                          "S24_3LE, S32_LE or FLOAT_LE)",
                                          m.ctx.be_name, format_info(f).name, m.opt.file));
    if (p.channels() == 0 || p.rate() == 0)
        return Error(-EINVAL, fmt::format("BE '{}': WAV file '{}': {} channels at {} Hz", m.ctx.be_name, m.opt.file,
                                          p.channels(), p.rate()));
    m.format = f;
    m.subtype = subtype;
    m.channels = p.channels();
    m.rate = p.rate();
    m.frame_bytes = frame_bytes(f, m.channels);
    m.silence = format_info(f).silence_byte;
    const size_t held = std::max<size_t>(size_t{kRingSeconds} * m.rate, size_t{4} * p.period_size());
    m.ring = std::make_unique<SpscRing<std::byte>>(held * m.frame_bytes);
    m.chunk.assign(kChunkFrames * m.frame_bytes, std::byte{0});
    const size_t samples = kChunkFrames * m.channels;
    m.ints.clear();
    m.floats.clear();
    m.doubles.clear();
    if (m.playback()) {
        if (f == Format::S24_LE) m.ints.assign(samples, 0);
    } else if (f == Format::FLOAT_LE) {
        m.floats.assign(samples, 0.0f);
    } else if (f == Format::FLOAT64_LE) {
        m.doubles.assign(samples, 0.0);
    } else {
        m.ints.assign(samples, 0);
    }
    m.have_params = true;
    return ok();
}

Result<void> WavBackend::prepare() {
    Impl& m = *impl_;
    if (auto r = m.finish(); !r) return r;
    if (!m.have_params)
        return Error(-EBADFD, fmt::format("BE '{}': WAV file '{}': prepare before hw_params", m.ctx.be_name, m.opt.file));
    // Nothing else touches the ring now (no disk thread, no transfer): empty it from here.
    m.ring->skip(m.ring->readable());
    m.failed.store(false, std::memory_order_relaxed);
    m.file_done.store(false, std::memory_order_relaxed);
    m.at_end.store(false, std::memory_order_relaxed);
    m.position.store(0, std::memory_order_relaxed);
    m.overruns.store(0, std::memory_order_relaxed);
    m.overrun_frames.store(0, std::memory_order_relaxed);
    m.underruns.store(0, std::memory_order_relaxed);
    m.underrun_frames.store(0, std::memory_order_relaxed);

    if (m.playback()) {
        if (auto r = m.open_for_record(); !r) return r;
    } else {
        if (auto r = m.open_for_play(); !r) return r;
        // Fill the ring here, so that the first periods never wait for the disk thread.
        if (!m.read_ahead()) {
            std::string why = std::move(m.disk_error);
            m.disk_error.clear();
            m.failed.store(false, std::memory_order_relaxed);
            m.close_file();
            return Error(-EIO, std::move(why));
        }
    }
    try {
        m.disk = std::thread([&m] {
            set_thread_role(ThreadRole::Control);
            pthread_setname_np(pthread_self(), "dynpcm-wav");
            try {
                if (m.playback()) m.record_loop();
                else m.play_loop();
            } catch (...) {  // out of memory formatting a message: still a failure to report
                m.failed.store(true, std::memory_order_release);
            }
        });
    } catch (const std::system_error& e) {
        m.close_file();
        return Error(-EAGAIN, fmt::format("BE '{}': WAV file '{}': cannot start the disk thread: {}", m.ctx.be_name,
                                          m.opt.file, e.what()));
    }
    m.prepared.store(true, std::memory_order_release);
    return ok();
}

Result<void> WavBackend::hw_free() {
    Impl& m = *impl_;
    auto r = m.finish();
    m.have_params = false;
    m.ring.reset();
    m.chunk = {};
    m.ints = {};
    m.floats = {};
    m.doubles = {};
    return r;
}

void WavBackend::close() { (void)hw_free(); }

int WavBackend::trigger(TriggerCmd cmd) noexcept {
    switch (cmd) {
        case TriggerCmd::Start:
        case TriggerCmd::PauseRelease:
        case TriggerCmd::Resume: impl_->running.store(true, std::memory_order_release); return 0;
        case TriggerCmd::Stop:
        case TriggerCmd::PausePush:
        case TriggerCmd::Suspend: impl_->running.store(false, std::memory_order_release); return 0;
        case TriggerCmd::Drain: return 0;
    }
    return -EINVAL;
}

// ---- the realtime side -------------------------------------------------------------------------

int64_t WavBackend::write_rt(const void* data, Frames frames) noexcept {
    Impl& m = *impl_;
    if (!m.prepared.load(std::memory_order_acquire) || !m.running.load(std::memory_order_acquire)) return -EBADFD;
    if (m.failed.load(std::memory_order_acquire)) return -ENODEV;
    const size_t fit = std::min<size_t>(frames, m.ring->writable() / m.frame_bytes);
    m.ring->push(static_cast<const std::byte*>(data), fit * m.frame_bytes);
    if (fit < frames) {
        m.overruns.fetch_add(1, std::memory_order_relaxed);
        m.overrun_frames.fetch_add(frames - fit, std::memory_order_relaxed);
    }
    m.position.fetch_add(frames, std::memory_order_release);
    return static_cast<int64_t>(frames);
}

int64_t WavBackend::read_rt(void* data, Frames frames) noexcept {
    Impl& m = *impl_;
    auto* out = static_cast<std::byte*>(data);
    const size_t want = static_cast<size_t>(frames) * m.frame_bytes;
    if (!m.prepared.load(std::memory_order_acquire) || !m.running.load(std::memory_order_acquire)) {
        std::memset(out, m.silence, want);
        return -EBADFD;
    }
    if (m.failed.load(std::memory_order_acquire)) {
        std::memset(out, m.silence, want);
        return -ENODEV;
    }
    const size_t got = m.ring->pop(out, want);
    if (got < want) {
        std::memset(out + got, m.silence, want - got);
        // Done and empty after the pop: the file ended. Otherwise the disk thread is late.
        if (m.file_done.load(std::memory_order_acquire) && m.ring->readable() == 0) {
            m.at_end.store(true, std::memory_order_release);
        } else {
            m.underruns.fetch_add(1, std::memory_order_relaxed);
            m.underrun_frames.fetch_add((want - got) / m.frame_bytes, std::memory_order_relaxed);
        }
    } else if (m.file_done.load(std::memory_order_acquire) && m.ring->readable() == 0) {
        m.at_end.store(true, std::memory_order_release);
    }
    m.position.fetch_add(frames, std::memory_order_release);
    return static_cast<int64_t>(frames);
}

// ---- queries -------------------------------------------------------------------------------------

Frames WavBackend::position() const noexcept { return impl_->position.load(std::memory_order_acquire); }
uint64_t WavBackend::xruns() const noexcept { return overruns() + underruns(); }
uint64_t WavBackend::overruns() const noexcept { return impl_->overruns.load(std::memory_order_relaxed); }
uint64_t WavBackend::overrun_frames() const noexcept { return impl_->overrun_frames.load(std::memory_order_relaxed); }
uint64_t WavBackend::underruns() const noexcept { return impl_->underruns.load(std::memory_order_relaxed); }
uint64_t WavBackend::underrun_frames() const noexcept {
    return impl_->underrun_frames.load(std::memory_order_relaxed);
}
bool WavBackend::at_end() const noexcept { return impl_->at_end.load(std::memory_order_acquire); }
Frames WavBackend::buffered() const noexcept {
    return impl_->ring ? impl_->ring->readable() / impl_->frame_bytes : 0;
}
Frames WavBackend::ring_frames() const noexcept {
    return impl_->ring ? impl_->ring->capacity() / impl_->frame_bytes : 0;
}
void WavBackend::pause_disk_thread(bool paused) noexcept {
    impl_->paused.store(paused, std::memory_order_relaxed);
    impl_->wake.wake_all();
}

}  // namespace dynpcm
