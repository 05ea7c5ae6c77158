/* pcm_probe: an ALSA application for the PCM plugin's tests, for what aplay cannot be made to do
 * on cue: pause and release, a non-blocking drain waited for with poll(), an underrun recovered
 * with snd_pcm_recover(), delay() against the stream's own pointers. It uses only alsa-lib's
 * public API, as any application would. It also writes the test tones (S16 WAV), so the tests
 * need no other tool.
 *
 *   pcm_probe tone FILE HZ DBFS SECONDS [RATE [CHANNELS]]
 *   pcm_probe pause|drain-nb|xrun|delay|freerun DEVICE
 *
 * Prints "ok: ..." per check and "FAIL: ..." for a failed one; exits 1 if any failed. */
#include <alsa/asoundlib.h>
#include <math.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int failed;
#define CHECK(cond, ...)                                    \
    do {                                                    \
        if (cond) {                                         \
            printf("ok:   ");                               \
        } else {                                            \
            printf("FAIL: ");                               \
            failed = 1;                                     \
        }                                                   \
        printf(__VA_ARGS__);                                \
        printf("\n");                                       \
    } while (0)

enum { RATE = 48000, CH = 2, PERIOD = 1024, PERIODS = 4 };

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void put16(FILE* f, unsigned v) { fputc((int)(v & 0xff), f), fputc((int)(v >> 8 & 0xff), f); }
static void put32(FILE* f, unsigned v) { put16(f, v & 0xffff), put16(f, v >> 16); }

static int tone(const char* path, double hz, double dbfs, double seconds, unsigned rate, unsigned ch) {
    FILE* f = fopen(path, "wb");
    if (!f) return perror(path), 2;
    const unsigned frames = (unsigned)(seconds * rate), bytes = frames * ch * 2;
    fputs("RIFF", f), put32(f, 36 + bytes), fputs("WAVEfmt ", f), put32(f, 16), put16(f, 1), put16(f, ch);
    put32(f, rate), put32(f, rate * ch * 2), put16(f, ch * 2), put16(f, 16), fputs("data", f), put32(f, bytes);
    const double amp = 32767.0 * pow(10.0, dbfs / 20.0);
    for (unsigned i = 0; i < frames; ++i) {
        const int s = (int)lrint(amp * sin(2 * M_PI * hz * i / rate));
        for (unsigned c = 0; c < ch; ++c) put16(f, (unsigned)(s & 0xffff));
    }
    return fclose(f) == 0 ? 0 : 2;
}

static snd_pcm_t* open_pcm(const char* dev, int nonblock) {
    snd_pcm_t* pcm = NULL;
    int err = snd_pcm_open(&pcm, dev, SND_PCM_STREAM_PLAYBACK, nonblock ? SND_PCM_NONBLOCK : 0);
    if (err < 0) {
        printf("FAIL: open %s: %s\n", dev, snd_strerror(err));
        exit(1);
    }
    err = snd_pcm_set_params(pcm, SND_PCM_FORMAT_S16_LE, SND_PCM_ACCESS_RW_INTERLEAVED, CH, RATE, 0,
                             (unsigned)((uint64_t)PERIOD * PERIODS * 1000000 / RATE));
    if (err < 0) {
        printf("FAIL: set_params on %s: %s\n", dev, snd_strerror(err));
        exit(1);
    }
    return pcm;
}

/* Writes `frames` of a 1 kHz tone (blocking, or as much as fits when non-blocking). */
static snd_pcm_sframes_t play(snd_pcm_t* pcm, unsigned long frames) {
    static int16_t buf[PERIOD * CH];
    static unsigned long phase;
    snd_pcm_sframes_t done = 0;
    while ((unsigned long)done < frames) {
        const unsigned long n = frames - (unsigned long)done < PERIOD ? frames - (unsigned long)done : PERIOD;
        for (unsigned long i = 0; i < n; ++i, ++phase)
            buf[2 * i] = buf[2 * i + 1] = (int16_t)lrint(8000 * sin(2 * M_PI * 1000.0 * (double)phase / RATE));
        const snd_pcm_sframes_t w = snd_pcm_writei(pcm, buf, n);
        if (w < 0) return done ? done : w;
        done += w;
        if ((unsigned long)w < n) break;
    }
    return done;
}

static int probe_pause(const char* dev) {
    snd_pcm_t* pcm = open_pcm(dev, 0);
    play(pcm, RATE / 2);
    CHECK(snd_pcm_state(pcm) == SND_PCM_STATE_RUNNING, "running after a blocking write of 0.5 s");
    CHECK(snd_pcm_pause(pcm, 1) == 0, "pause");
    CHECK(snd_pcm_state(pcm) == SND_PCM_STATE_PAUSED, "state PAUSED");
    snd_pcm_sframes_t a0 = snd_pcm_avail(pcm), d0 = 0;
    snd_pcm_delay(pcm, &d0);
    struct timespec pause = {0, 300 * 1000 * 1000};
    nanosleep(&pause, NULL);
    snd_pcm_sframes_t a1 = snd_pcm_avail(pcm), d1 = 0;
    snd_pcm_delay(pcm, &d1);
    CHECK(a0 == a1 && d0 == d1, "nothing moves while paused (avail %ld -> %ld, delay %ld -> %ld)", (long)a0, (long)a1,
          (long)d0, (long)d1);
    CHECK(snd_pcm_pause(pcm, 0) == 0, "release");
    CHECK(play(pcm, RATE / 2) == RATE / 2, "writes again after the release");
    CHECK(snd_pcm_drain(pcm) == 0, "drain");
    CHECK(snd_pcm_state(pcm) == SND_PCM_STATE_SETUP, "SETUP after the drain");
    snd_pcm_close(pcm);
    return failed;
}

static int probe_drain_nb(const char* dev) {
    snd_pcm_t* pcm = open_pcm(dev, 1);
    const snd_pcm_sframes_t wrote = play(pcm, PERIOD * PERIODS);
    CHECK(wrote == PERIOD * PERIODS, "a non-blocking write fills the buffer (%ld frames)", (long)wrote);
    const double t0 = now_s();
    if (snd_pcm_state(pcm) == SND_PCM_STATE_PREPARED) snd_pcm_start(pcm);
    int err = snd_pcm_drain(pcm);
    CHECK(err == -EAGAIN, "a non-blocking drain returns -EAGAIN (%s)", snd_strerror(err));
    int polls = 0;
    while (snd_pcm_state(pcm) == SND_PCM_STATE_DRAINING && polls < 1000) {
        struct pollfd fds[8];
        const int n = snd_pcm_poll_descriptors(pcm, fds, 8);
        poll(fds, (nfds_t)n, 2000);
        unsigned short revents = 0;
        snd_pcm_poll_descriptors_revents(pcm, fds, (unsigned)n, &revents);
        ++polls;
    }
    const double took = now_s() - t0, want = (double)(PERIOD * PERIODS) / RATE;
    CHECK(snd_pcm_state(pcm) == SND_PCM_STATE_SETUP, "the drain ends in SETUP after %d polls", polls);
    CHECK(polls < 50, "poll() slept while draining (%d wakeups, no busy loop)", polls);
    CHECK(took >= want * 0.9 && took < want + 1.0, "it took %.3f s for %.3f s of audio", took, want);
    snd_pcm_close(pcm);
    return failed;
}

static int probe_xrun(const char* dev) {
    snd_pcm_t* pcm = open_pcm(dev, 0);
    play(pcm, PERIOD * PERIODS);
    struct timespec starve = {0, 400 * 1000 * 1000};  /* 4 periods are 85 ms: starve it */
    nanosleep(&starve, NULL);
    snd_pcm_sframes_t w = play(pcm, PERIOD);
    CHECK(w == -EPIPE, "a write after the underrun is -EPIPE (%s)", w < 0 ? snd_strerror((int)w) : "wrote");
    CHECK(snd_pcm_state(pcm) == SND_PCM_STATE_XRUN, "state XRUN");
    CHECK(snd_pcm_recover(pcm, (int)w, 1) == 0, "snd_pcm_recover");
    CHECK(play(pcm, PERIOD * 8) == PERIOD * 8, "plays again after the recovery");
    CHECK(snd_pcm_drain(pcm) == 0, "drain");
    snd_pcm_close(pcm);
    return failed;
}

static int probe_delay(const char* dev) {
    snd_pcm_t* pcm = open_pcm(dev, 0);
    play(pcm, PERIOD * PERIODS);
    long worst_low = 0, worst_high = 0;
    for (int i = 0; i < 40; ++i) {
        play(pcm, PERIOD);
        snd_pcm_sframes_t avail = 0, delay = 0;
        snd_pcm_avail_delay(pcm, &avail, &delay);
        /* The ring's share is buffer - avail; the daemon's FIFOs and the BE device add to it,
           bounded by a few periods. */
        const long ring = PERIOD * PERIODS - (long)avail;
        if (delay - ring < worst_low) worst_low = delay - ring;
        if (delay - ring > worst_high) worst_high = delay - ring;
    }
    CHECK(worst_low >= 0, "delay() never below what the ring holds (lowest extra %ld frames)", worst_low);
    CHECK(worst_high <= 4 * PERIOD, "delay() beyond the ring stays within 4 periods (highest extra %ld frames)", worst_high);
    snd_pcm_drain(pcm);
    snd_pcm_close(pcm);
    return failed;
}

/* stop_threshold at the boundary: the stream never stops for want of data (hostless, or an
   application that writes when it likes); the pointer runs on past what was written. */
static int probe_freerun(const char* dev) {
    snd_pcm_t* pcm = open_pcm(dev, 0);
    snd_pcm_sw_params_t* sw;
    snd_pcm_sw_params_alloca(&sw);
    snd_pcm_uframes_t boundary = 0;
    snd_pcm_sw_params_current(pcm, sw);
    snd_pcm_sw_params_get_boundary(sw, &boundary);
    snd_pcm_sw_params_set_stop_threshold(pcm, sw, boundary);
    snd_pcm_sw_params_set_start_threshold(pcm, sw, 1);
    CHECK(snd_pcm_sw_params(pcm, sw) == 0, "stop_threshold = boundary (%lu)", (unsigned long)boundary);
    play(pcm, PERIOD * 2);
    struct timespec starve = {0, 300 * 1000 * 1000};
    nanosleep(&starve, NULL);
    const snd_pcm_sframes_t avail = snd_pcm_avail(pcm);
    CHECK(snd_pcm_state(pcm) == SND_PCM_STATE_RUNNING, "still RUNNING after 300 ms without data");
    CHECK(avail > PERIOD * PERIODS, "the pointer ran past the application's (avail %ld > buffer %d)", (long)avail,
          PERIOD * PERIODS);
    snd_pcm_forward(pcm, (snd_pcm_uframes_t)(avail - PERIOD * PERIODS));  /* catch up, as such apps do */
    CHECK(play(pcm, PERIOD) == PERIOD, "writes again after catching up");
    snd_pcm_drop(pcm);
    snd_pcm_close(pcm);
    return failed;
}

int main(int argc, char** argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc >= 6 && strcmp(argv[1], "tone") == 0)
        return tone(argv[2], atof(argv[3]), atof(argv[4]), atof(argv[5]), argc > 6 ? (unsigned)atoi(argv[6]) : RATE,
                    argc > 7 ? (unsigned)atoi(argv[7]) : CH);
    if (argc == 3 && strcmp(argv[1], "pause") == 0) return probe_pause(argv[2]);
    if (argc == 3 && strcmp(argv[1], "drain-nb") == 0) return probe_drain_nb(argv[2]);
    if (argc == 3 && strcmp(argv[1], "xrun") == 0) return probe_xrun(argv[2]);
    if (argc == 3 && strcmp(argv[1], "delay") == 0) return probe_delay(argv[2]);
    if (argc == 3 && strcmp(argv[1], "freerun") == 0) return probe_freerun(argv[2]);
    fprintf(stderr, "usage: pcm_probe tone FILE HZ DBFS SECONDS [RATE [CHANNELS]] | pause|drain-nb|xrun|delay|freerun DEVICE\n");
    return 2;
}
