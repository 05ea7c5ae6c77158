// A small WAV helper for the CLI tests (libsndfile):
//
//   dynpcm_wav_tool tone FILE RATE CHANNELS SECONDS FREQ_HZ LEVEL_DBFS
//       writes a 16-bit WAV of a sine on every channel, its peak at LEVEL_DBFS
//   dynpcm_wav_tool info FILE
//       prints "rate R channels C frames N sound_frames S peak_dbfs P tone_hz F" where S spans
//       the first to the last non-zero frame of channel 0, P is the peak over all samples
//       (-inf for silence) and F is channel 0's frequency from its upward zero crossings over
//       that span (0 if there are fewer than two)
//
// Exit code 0, or 1 with a message on stderr.

#include <sndfile.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <numbers>
#include <string>
#include <vector>

namespace {

int usage() {
    std::fprintf(stderr,
                 "usage: dynpcm_wav_tool tone FILE RATE CHANNELS SECONDS FREQ_HZ LEVEL_DBFS\n"
                 "       dynpcm_wav_tool info FILE\n");
    return 1;
}

int tone(const char* path, int rate, int channels, double seconds, double freq, double level_db) {
    if (rate <= 0 || channels <= 0 || seconds <= 0) return usage();
    SF_INFO info{};
    info.samplerate = rate;
    info.channels = channels;
    info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
    SNDFILE* sf = sf_open(path, SFM_WRITE, &info);
    if (!sf) {
        std::fprintf(stderr, "%s: %s\n", path, sf_strerror(nullptr));
        return 1;
    }
    const double amp = std::pow(10.0, level_db / 20.0);
    const auto frames = static_cast<size_t>(std::lround(seconds * rate));
    const auto ch = static_cast<size_t>(channels);
    std::vector<double> buf(frames * ch);
    for (size_t i = 0; i < frames; ++i) {
        const double v = amp * std::sin(2 * std::numbers::pi * freq * static_cast<double>(i) / rate);
        for (size_t c = 0; c < ch; ++c) buf[i * ch + c] = v;
    }
    const sf_count_t n = sf_writef_double(sf, buf.data(), static_cast<sf_count_t>(frames));
    sf_close(sf);
    if (n != static_cast<sf_count_t>(frames)) {
        std::fprintf(stderr, "%s: short write\n", path);
        return 1;
    }
    return 0;
}

int info(const char* path) {
    SF_INFO in{};
    SNDFILE* sf = sf_open(path, SFM_READ, &in);
    if (!sf) {
        std::fprintf(stderr, "%s: %s\n", path, sf_strerror(nullptr));
        return 1;
    }
    const auto ch = static_cast<size_t>(in.channels);
    const auto frames = static_cast<size_t>(in.frames);
    std::vector<float> x(frames * ch);
    const sf_count_t got = sf_readf_float(sf, x.data(), in.frames);
    sf_close(sf);
    if (got != in.frames) {
        std::fprintf(stderr, "%s: short read\n", path);
        return 1;
    }
    float peak = 0;
    for (float v : x) peak = std::fmax(peak, std::fabs(v));
    size_t first = frames, last = 0;
    for (size_t i = 0; i < frames; ++i)
        if (x[i * ch] != 0.0f) {
            if (first == frames) first = i;
            last = i;
        }
    const size_t sound = first == frames ? 0 : last - first + 1;
    // Upward zero crossings of channel 0 within the sound: frequency = crossings per second,
    // measured between the first and the last crossing.
    size_t crossings = 0, first_cross = 0, last_cross = 0;
    for (size_t i = first + 1; sound > 0 && i <= last; ++i)
        if (x[(i - 1) * ch] < 0.0f && x[i * ch] >= 0.0f) {
            if (crossings == 0) first_cross = i;
            last_cross = i;
            ++crossings;
        }
    const double hz = crossings >= 2 ? static_cast<double>(crossings - 1) * in.samplerate /
                                           static_cast<double>(last_cross - first_cross)
                                     : 0.0;
    const double peak_db =
        peak > 0 ? 20 * std::log10(static_cast<double>(peak)) : -std::numeric_limits<double>::infinity();
    std::printf("rate %d channels %d frames %zu sound_frames %zu peak_dbfs %.2f tone_hz %.1f\n", in.samplerate,
                in.channels, frames, sound, peak_db, hz);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) return usage();
    const std::string cmd = argv[1];
    if (cmd == "tone" && argc == 8)
        return tone(argv[2], std::atoi(argv[3]), std::atoi(argv[4]), std::atof(argv[5]), std::atof(argv[6]),
                    std::atof(argv[7]));
    if (cmd == "info" && argc == 3) return info(argv[2]);
    return usage();
}
