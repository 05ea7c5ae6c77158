/*
 * alsa_client: a measuring ALSA playback client for bench/plugin/run.
 *
 * It plays a 1 kHz sine at -12 dBFS (48 kHz, 2 channels, S16_LE) the way a well-behaved
 * event-driven application does: the PCM is opened non-blocking, the client sleeps in poll() on
 * the PCM's own descriptors with avail_min = one period, and at each wake it writes everything
 * that is free. After each wake it records when it woke (CLOCK_MONOTONIC) and what the PCM said
 * (avail, delay), and at the end it prints one JSON object:
 *
 *   - wake lateness: how late each wake came relative to an ideal, evenly spaced timeline of the
 *     moments at which the PCM should have become writable (see score_lateness());
 *   - delay: snd_pcm_delay at the wake (the low point of the latency sawtooth) and right after
 *     the refill (the high point: the latency a sample written now will see);
 *   - xruns, recovered with snd_pcm_recover and counted;
 *   - the process's CPU time (user + sys of every thread, so a plugin's own threads count) per
 *     second of audio.
 *
 *   alsa_client -D DEVICE [-p PERIOD] [-n PERIODS] [-t SECONDS] [-o FILE.json] [-L LABEL]
 *               [-S SAMPLES.csv]
 *   alsa_client -W FILE.wav [-t SECONDS]      writes the same sine as a WAV file and exits
 *
 * Defaults: -p 256 -n 4 -t 5. The buffer is PERIOD x PERIODS frames; 4 periods rather than 2 or
 * 3 because every design measured here adds a server hop, and 4 is what desktop clients
 * commonly ask for. The rate, channels and format are fixed so that runs stay comparable.
 */
#define _GNU_SOURCE
#include <alsa/asoundlib.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#define RATE 48000u
#define CHANNELS 2u
#define TONE_HZ 1000u
#define CYCLE (RATE / TONE_HZ) /* 48 frames: one whole sine cycle, so a table repeats exactly */
#define WARMUP_NS 250000000LL  /* wakes in the first 250 ms are left out of the statistics */
#define POLL_TIMEOUT_MS 2000   /* no wake for this long means the server stalled */

/* One wake, as recorded in the loop. */
struct sample {
    int64_t t_ns;      /* CLOCK_MONOTONIC at return from poll(), relative to the stream start */
    int64_t due;       /* frame position at which the PCM was due to become writable */
    long avail;        /* snd_pcm_avail at the wake */
    long delay;        /* snd_pcm_delay at the wake */
    long delay_after;  /* snd_pcm_delay right after the refill */
    int segment;       /* xrun-free stretch this wake belongs to (a recovery restarts the clock) */
    int counted;       /* 1 if it enters the statistics (after the warm-up, one per due point) */
    double lateness_us;       /* against one ideal timeline for the segment */
    double local_lateness_us; /* against the floor of the wakes around it */
};

struct samples {
    struct sample *v;
    size_t n, cap;
};

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static double cpu_seconds(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static void die(const char *what, int err) {
    fprintf(stderr, "alsa_client: %s: %s\n", what, err ? snd_strerror(err) : "failed");
    exit(1);
}

static void push(struct samples *s, const struct sample *x) {
    if (s->n == s->cap) {
        /* Grown rarely (the first allocation is sized for the run), never in steady state. */
        s->cap = s->cap ? s->cap * 2 : 4096;
        s->v = realloc(s->v, s->cap * sizeof *s->v);
        if (!s->v) die("out of memory", 0);
    }
    s->v[s->n++] = *x;
}

/* The sine: one precomputed cycle, so generating a period costs a copy, not libm calls. The
 * client's own CPU then stays small next to the plugin's, which is what is being compared. */
static int16_t tone[CYCLE * CHANNELS];
static unsigned tone_pos; /* frame index into the cycle, carried across writes */

static void make_tone(void) {
    const double amp = 32767.0 * pow(10.0, -12.0 / 20.0);
    for (unsigned i = 0; i < CYCLE; ++i) {
        const int16_t v = (int16_t)lrint(amp * sin(2.0 * M_PI * (double)i / CYCLE));
        for (unsigned c = 0; c < CHANNELS; ++c) tone[i * CHANNELS + c] = v;
    }
}

static void fill(int16_t *buf, snd_pcm_uframes_t frames) {
    for (snd_pcm_uframes_t i = 0; i < frames; ++i) {
        memcpy(buf + i * CHANNELS, tone + tone_pos * CHANNELS, CHANNELS * sizeof(int16_t));
        tone_pos = (tone_pos + 1) % CYCLE;
    }
}

static int cmp_double(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of a sorted array. */
static double pct(const double *sorted, size_t n, double p) {
    if (n == 0) return NAN;
    size_t r = (size_t)ceil(p / 100.0 * (double)n);
    if (r < 1) r = 1;
    if (r > n) r = n;
    return sorted[r - 1];
}

/*
 * The ideal timeline. A wake is due when the frame position `due` is reached: the hardware
 * pointer at which avail reaches avail_min, known exactly from what was written. Ideally that
 * happens at t = a + due / rate', so the residual r = t - due / rate' is constant, and how far a
 * wake's residual rises above the others' is its lateness.
 *
 * rate' is estimated, not taken as 48000: servers' software clocks are not exact (JACK's dummy
 * driver sleeps whole microseconds plus its own work per period: 47971 Hz at 64 frames here),
 * and a wrong slope turns into fake lateness that grows along the run. The estimate is the
 * median of the slopes between wakes about SLOPE_SPAN_NS apart, which a few late wakes do not
 * bias.
 *
 * Two lateness figures come from the residuals:
 *  - lateness (against one line): r minus the smallest r of the segment. This is lateness
 *    against one ideal timeline for the whole run.
 *  - local lateness: r minus the smallest r within LOCAL_NS on either side. A software clock
 *    that wakes late once may carry on from there without catching up (PipeWire's null sink
 *    did, by 4 ms, in a 64-frame run); against one line every later wake then counts as late,
 *    against the local floor only those within LOCAL_NS of the step do. A loaded machine whose
 *    server falls behind gradually shows in the first figure and much less in the second.
 * Per segment, because an xrun recovery restarts the stream and its timeline.
 */
#define SLOPE_SPAN_NS 1000000000LL /* wakes about this far apart give one slope estimate */
#define LOCAL_NS 500000000LL       /* half-width of the window of the local floor */

struct timeline {
    double rate_hz; /* rate' of the longest segment, 0 if none could be estimated */
};

static struct timeline score_lateness(struct samples *s, int segments) {
    struct timeline tl = {0};
    size_t best_n = 0;
    for (int seg = 0; seg <= segments; ++seg) {
        /* The counted wakes of this segment, in order. */
        size_t n = 0;
        for (size_t i = 0; i < s->n; ++i) n += s->v[i].segment == seg && s->v[i].counted;
        if (n == 0) continue;
        struct sample **v = malloc(n * sizeof *v);
        double *r = malloc(n * sizeof *r), *slopes = malloc(n * sizeof *slopes);
        if (!v || !r || !slopes) die("out of memory", 0);
        n = 0;
        for (size_t i = 0; i < s->n; ++i)
            if (s->v[i].segment == seg && s->v[i].counted) v[n++] = &s->v[i];

        /* Lag in wakes for the slope pairs: about SLOPE_SPAN_NS, at most half the segment. */
        const double span_ns = (double)(v[n - 1]->t_ns - v[0]->t_ns);
        size_t lag = span_ns > 0 ? (size_t)((double)n * (double)SLOPE_SPAN_NS / span_ns) : 0;
        if (lag > n / 2) lag = n / 2;
        size_t m = 0;
        for (size_t i = 0; lag > 0 && i + lag < n; ++i) {
            const double dd = (double)(v[i + lag]->due - v[i]->due);
            if (dd > 0) slopes[m++] = (double)(v[i + lag]->t_ns - v[i]->t_ns) / dd;
        }
        if (m < 8) {
            for (size_t i = 0; i < n; ++i) v[i]->counted = 0; /* too short to say anything */
            free(v); free(r); free(slopes);
            continue;
        }
        qsort(slopes, m, sizeof *slopes, cmp_double);
        const double ns_per_frame = pct(slopes, m, 50);
        double floor_all = INFINITY;
        for (size_t i = 0; i < n; ++i) {
            r[i] = (double)v[i]->t_ns - ns_per_frame * (double)v[i]->due;
            if (r[i] < floor_all) floor_all = r[i];
        }

        /* The local floor: the smallest residual within LOCAL_NS either side. Windows are a few
         * hundred wakes at most (1 s of 64-frame periods is 750), so the direct scan costs
         * milliseconds and needs no monotonic deque. */
        size_t lo = 0, hi = 0;
        for (size_t i = 0; i < n; ++i) {
            while (v[i]->t_ns - v[lo]->t_ns > LOCAL_NS) ++lo;
            while (hi + 1 < n && v[hi + 1]->t_ns - v[i]->t_ns <= LOCAL_NS) ++hi;
            double floor_here = INFINITY;
            for (size_t j = lo; j <= hi; ++j) floor_here = r[j] < floor_here ? r[j] : floor_here;
            v[i]->lateness_us = (r[i] - floor_all) / 1000.0;
            v[i]->local_lateness_us = (r[i] - floor_here) / 1000.0;
        }
        if (n > best_n) {
            best_n = n;
            tl.rate_hz = 1e9 / ns_per_frame;
        }
        free(v); free(r); free(slopes);
    }
    return tl;
}

/* Writes the sine as a 16-bit stereo WAV, for unmodified players (aplay) to play. */
static int write_wav(const char *path, double seconds) {
    FILE *f = fopen(path, "wb");
    if (!f) { perror(path); return 1; }
    const uint32_t frames = (uint32_t)(seconds * RATE), data = frames * CHANNELS * 2;
    const uint32_t byte_rate = RATE * CHANNELS * 2, fmt_len = 16, riff_len = 36 + data;
    const uint16_t pcm = 1, ch = CHANNELS, align = CHANNELS * 2, bits = 16;
    const uint32_t rate = RATE;
    /* WAV is little-endian, as is every machine this runs on (x86-64, arm64). */
    fwrite("RIFF", 1, 4, f); fwrite(&riff_len, 4, 1, f); fwrite("WAVEfmt ", 1, 8, f);
    fwrite(&fmt_len, 4, 1, f); fwrite(&pcm, 2, 1, f); fwrite(&ch, 2, 1, f);
    fwrite(&rate, 4, 1, f); fwrite(&byte_rate, 4, 1, f); fwrite(&align, 2, 1, f);
    fwrite(&bits, 2, 1, f); fwrite("data", 1, 4, f); fwrite(&data, 4, 1, f);
    int16_t buf[CYCLE * CHANNELS];
    for (uint32_t done = 0; done < frames; done += CYCLE) {
        const uint32_t n = frames - done < CYCLE ? frames - done : CYCLE;
        fill(buf, n);
        fwrite(buf, sizeof(int16_t) * CHANNELS, n, f);
    }
    return fclose(f) == 0 ? 0 : 1;
}

static void usage(void) {
    fprintf(stderr,
            "usage: alsa_client -D DEVICE [-p PERIOD] [-n PERIODS] [-t SECONDS] [-o FILE.json]\n"
            "                   [-L LABEL] [-S SAMPLES.csv]\n"
            "       alsa_client -W FILE.wav [-t SECONDS]\n"
            "48000 Hz, 2 channels, S16_LE; defaults -p 256 -n 4 -t 5\n");
    exit(2);
}

/* A JSON string: the label and device come from the command line, so escape what JSON needs. */
static void json_str(FILE *f, const char *s) {
    fputc('"', f);
    for (; *s; ++s) {
        if (*s == '"' || *s == '\\') fprintf(f, "\\%c", *s);
        else if ((unsigned char)*s < 0x20) fprintf(f, "\\u%04x", *s);
        else fputc(*s, f);
    }
    fputc('"', f);
}

#define NUM(f, x) ((isnan(x) || isinf(x)) ? fprintf(f, "null") : fprintf(f, "%.3f", (x)))

/* ,"NAME_frames":{"mean":..,"p50":..},"NAME_ms":{...}: a delay figure in frames and in ms. */
static void delay_json(FILE *f, const char *name, double mean, double p50) {
    for (int ms = 0; ms < 2; ++ms) {
        const double scale = ms ? 1000.0 / RATE : 1.0;
        fprintf(f, ",\"%s_%s\":{\"mean\":", name, ms ? "ms" : "frames");
        NUM(f, mean * scale);
        fprintf(f, ",\"p50\":");
        NUM(f, p50 * scale);
        fprintf(f, "}");
    }
}

int main(int argc, char **argv) {
    const char *device = NULL, *out_path = NULL, *label = "", *wav = NULL, *csv = NULL;
    long period_req = 256, periods_req = 4;
    double seconds = 5;
    int opt;
    while ((opt = getopt(argc, argv, "D:p:n:t:o:L:W:S:r:c:h")) != -1) {
        switch (opt) {
        case 'D': device = optarg; break;
        case 'p': period_req = strtol(optarg, NULL, 10); break;
        case 'n': periods_req = strtol(optarg, NULL, 10); break;
        case 't': seconds = strtod(optarg, NULL); break;
        case 'o': out_path = optarg; break;
        case 'L': label = optarg; break;
        case 'W': wav = optarg; break;
        case 'S': csv = optarg; break;
        case 'r': if (strtol(optarg, NULL, 10) != RATE) usage(); break;    /* fixed; accepted */
        case 'c': if (strtol(optarg, NULL, 10) != CHANNELS) usage(); break; /* for clarity */
        default: usage();
        }
    }
    if (optind != argc || period_req < 16 || periods_req < 2 || !(seconds > 0)) usage();
    make_tone();
    if (wav) return write_wav(wav, seconds);
    if (!device) usage();

    /* Non-blocking, so that a write never sleeps inside the plugin: every wait the client does is
     * the poll() below, which is the wait being measured. */
    snd_pcm_t *pcm;
    int err = snd_pcm_open(&pcm, device, SND_PCM_STREAM_PLAYBACK, SND_PCM_NONBLOCK);
    if (err < 0) die(device, err);

    snd_pcm_hw_params_t *hw;
    snd_pcm_hw_params_alloca(&hw);
    snd_pcm_hw_params_any(pcm, hw);
    if ((err = snd_pcm_hw_params_set_access(pcm, hw, SND_PCM_ACCESS_RW_INTERLEAVED)) < 0) die("access", err);
    if ((err = snd_pcm_hw_params_set_format(pcm, hw, SND_PCM_FORMAT_S16_LE)) < 0) die("format S16_LE", err);
    if ((err = snd_pcm_hw_params_set_channels(pcm, hw, CHANNELS)) < 0) die("2 channels", err);
    if ((err = snd_pcm_hw_params_set_rate(pcm, hw, RATE, 0)) < 0) die("rate 48000", err);
    snd_pcm_uframes_t period = (snd_pcm_uframes_t)period_req;
    int dir = 0;
    if ((err = snd_pcm_hw_params_set_period_size_near(pcm, hw, &period, &dir)) < 0) die("period size", err);
    snd_pcm_uframes_t buffer = period * (snd_pcm_uframes_t)periods_req;
    if ((err = snd_pcm_hw_params_set_buffer_size_near(pcm, hw, &buffer)) < 0) die("buffer size", err);
    if ((err = snd_pcm_hw_params(pcm, hw)) < 0) die("hw_params", err);
    snd_pcm_hw_params_get_period_size(hw, &period, &dir);
    snd_pcm_hw_params_get_buffer_size(hw, &buffer);
    if ((long)period != period_req || buffer != period * (snd_pcm_uframes_t)periods_req)
        fprintf(stderr, "alsa_client: %s gave period %lu, buffer %lu (asked %ld x %ld)\n", device,
                (unsigned long)period, (unsigned long)buffer, period_req, periods_req);

    /* avail_min = one period: wake once per period, the contract whose timing is measured.
     * start_threshold = the whole buffer: the stream starts full, as aplay's does. */
    snd_pcm_sw_params_t *sw;
    snd_pcm_sw_params_alloca(&sw);
    snd_pcm_sw_params_current(pcm, sw);
    snd_pcm_sw_params_set_avail_min(pcm, sw, period);
    snd_pcm_sw_params_set_start_threshold(pcm, sw, buffer);
    if ((err = snd_pcm_sw_params(pcm, sw)) < 0) die("sw_params", err);

    const int nfds = snd_pcm_poll_descriptors_count(pcm);
    if (nfds <= 0) die("poll descriptors", nfds);
    struct pollfd *fds = calloc((size_t)nfds, sizeof *fds);
    int16_t *scratch = malloc(buffer * CHANNELS * sizeof(int16_t));
    if (!fds || !scratch) die("out of memory", 0);

    struct samples s = {0};
    s.cap = (size_t)(seconds * RATE / (double)period * 1.5) + 64;
    s.v = malloc(s.cap * sizeof *s.v);
    if (!s.v) die("out of memory", 0);

    long xruns = 0, wakes = 0, dup_wakes = 0, poll_errors = 0;
    long early_no_event = 0;   /* poll returned, but revents had no POLLOUT */
    long early_low_avail = 0;  /* POLLOUT, but less than avail_min free */
    int segment = 0;
    int64_t appl = 0;          /* frames written in this segment: the PCM's appl_ptr */
    int64_t due = 0;           /* the position of the next due wake, in this segment */
    int64_t last_due = -1;     /* the last due position recorded, to drop duplicate wakes */
    int64_t t_start = 0, t_seg = 0;
    int started = 0;
    double cpu0 = 0;

    /* Refill: write all that is free. Returns 0, or a negative error from the PCM. */
#define REFILL(avail_frames)                                                         \
    do {                                                                             \
        snd_pcm_sframes_t left_ = (avail_frames);                                    \
        while (left_ > 0) {                                                          \
            const snd_pcm_uframes_t n_ = (snd_pcm_uframes_t)left_ < buffer ? (snd_pcm_uframes_t)left_ : buffer; \
            fill(scratch, n_);                                                       \
            const snd_pcm_sframes_t w_ = snd_pcm_writei(pcm, scratch, n_);           \
            if (w_ == -EAGAIN) break;                                                \
            if (w_ < 0) { err = (int)w_; break; }                                    \
            appl += w_;                                                              \
            left_ -= w_;                                                             \
        }                                                                            \
    } while (0)

    for (;;) {
        /* (Re)start: prefill the buffer; the start threshold starts the stream. After an xrun
         * the recovered PCM is prepared again and starts anew, on a timeline of its own. */
        if (snd_pcm_state(pcm) == SND_PCM_STATE_PREPARED) {
            appl = 0;
            err = 0;
            REFILL((snd_pcm_sframes_t)buffer);
            if (err < 0) die("prefill", err);
            if (snd_pcm_state(pcm) == SND_PCM_STATE_PREPARED && (err = snd_pcm_start(pcm)) < 0) die("start", err);
            t_seg = now_ns();
            if (!started) {
                started = 1;
                t_start = t_seg;
                cpu0 = cpu_seconds();
            }
            /* Writable again once the pointer has moved past the first period. */
            due = appl - (int64_t)buffer + (int64_t)period;
        }
        const int64_t t_before = now_ns();
        if (t_before - t_start >= (int64_t)(seconds * 1e9)) break;

        /* The descriptors are fetched again before every poll, as alsa-lib's own snd_pcm_wait()
         * does. Plugins may re-arm their descriptor there: pipewire-alsa 0.3.65 (Debian 12)
         * clears its eventfd only in poll_descriptors, so a client that polls a descriptor set
         * taken once spins at 100% CPU between quanta (fixed upstream in 266ef3b98, #3648). */
        if ((err = snd_pcm_poll_descriptors(pcm, fds, (unsigned)nfds)) < 0) die("poll descriptors", err);
        const int r = poll(fds, (nfds_t)nfds, POLL_TIMEOUT_MS);
        const int64_t t_wake = now_ns(); /* first thing: this is the time being measured */
        if (r < 0) {
            if (errno == EINTR) continue;
            perror("poll");
            return 1;
        }
        if (r == 0) {
            fprintf(stderr, "alsa_client: %s: no wake for %d ms (state %s): the server stalled\n", device,
                    POLL_TIMEOUT_MS, snd_pcm_state_name(snd_pcm_state(pcm)));
            return 1;
        }
        unsigned short revents = 0;
        if ((err = snd_pcm_poll_descriptors_revents(pcm, fds, (unsigned)nfds, &revents)) < 0) die("revents", err);
        ++wakes;

        /* avail and delay in one call: they then describe the same instant, which two separate
         * calls (each a round trip into a plugin) need not. */
        snd_pcm_sframes_t avail = 0, delay = 0;
        err = 0;
        err = snd_pcm_avail_delay(pcm, &avail, &delay);
        if (err == 0 && (revents & POLLERR)) {
            /* An error event the pointer did not report (a plugin may raise POLLERR before
             * alsa-lib has seen its xrun): go by the state. An xrun or a suspend is recovered
             * below; a PCM that errs while it runs, or in any other state, ends the run. */
            const snd_pcm_state_t st = snd_pcm_state(pcm);
            if (st == SND_PCM_STATE_XRUN) err = -EPIPE;
            else if (st == SND_PCM_STATE_SUSPENDED) err = -ESTRPIPE;
            else if (st != SND_PCM_STATE_RUNNING || ++poll_errors > 100) {
                fprintf(stderr, "alsa_client: %s: poll error in state %s\n", device, snd_pcm_state_name(st));
                return 1;
            }
        }
        if (err == 0 && (revents & POLLOUT) && avail >= (snd_pcm_sframes_t)period) {
            struct sample x = {0};
            x.t_ns = t_wake - t_start;
            x.due = due;
            x.avail = avail;
            x.delay = delay;
            x.segment = segment;
            /* One wake per due point counts; one that finds the same point again is extra. */
            x.counted = (t_wake - t_seg >= WARMUP_NS) && due != last_due;
            if (due == last_due) ++dup_wakes;
            last_due = due;
            REFILL(avail);
            if (err == 0) {
                snd_pcm_sframes_t d2 = 0;
                if (snd_pcm_delay(pcm, &d2) == 0) x.delay_after = d2;
                else x.delay_after = -1;
                /* The next wake is due when the pointer reaches appl - buffer + avail_min. */
                due = appl - (int64_t)buffer + (int64_t)period;
                push(&s, &x);
            }
        } else if (err == 0) {
            /* Woke without a period free: some plugins' descriptors do that once a period. */
            if (revents & POLLOUT) ++early_low_avail;
            else ++early_no_event;
        }
        if (err < 0) {
            /* An underrun (or suspend): count it, recover, and restart from a full buffer. */
            if (err == -EPIPE || err == -ESTRPIPE) ++xruns;
            if ((err = snd_pcm_recover(pcm, err, 1)) < 0) die("recover", err);
            ++segment;
            last_due = -1;
        }
    }
    const int64_t t_end = now_ns();
    const double cpu = cpu_seconds() - cpu0;
    snd_pcm_drop(pcm);
    snd_pcm_close(pcm);

    const struct timeline tl = score_lateness(&s, segment);
    const double wall_s = (double)(t_end - t_start) / 1e9;

    /* Statistics over the counted wakes. */
    size_t m = 0;
    double *late = malloc((s.n + 1) * sizeof *late), *d0 = malloc((s.n + 1) * sizeof *d0),
           *d1 = malloc((s.n + 1) * sizeof *d1), *local = malloc((s.n + 1) * sizeof *local);
    if (!late || !d0 || !d1 || !local) die("out of memory", 0);
    double d0_sum = 0, d1_sum = 0;
    for (size_t i = 0; i < s.n; ++i) {
        if (!s.v[i].counted) continue;
        late[m] = s.v[i].lateness_us;
        local[m] = s.v[i].local_lateness_us;
        d0[m] = (double)s.v[i].delay;
        d1[m] = (double)s.v[i].delay_after;
        d0_sum += d0[m];
        d1_sum += d1[m];
        ++m;
    }
    qsort(late, m, sizeof *late, cmp_double);
    qsort(local, m, sizeof *local, cmp_double);
    qsort(d0, m, sizeof *d0, cmp_double);
    qsort(d1, m, sizeof *d1, cmp_double);
    const double d0_mean = m ? d0_sum / (double)m : NAN, d1_mean = m ? d1_sum / (double)m : NAN;

    if (csv) {
        FILE *f = fopen(csv, "w");
        if (f) {
            fprintf(f, "t_ns,due,avail,delay,delay_after,segment,counted,lateness_us,local_lateness_us\n");
            for (size_t i = 0; i < s.n; ++i)
                fprintf(f, "%lld,%lld,%ld,%ld,%ld,%d,%d,%.3f,%.3f\n", (long long)s.v[i].t_ns,
                        (long long)s.v[i].due, s.v[i].avail, s.v[i].delay, s.v[i].delay_after,
                        s.v[i].segment, s.v[i].counted, s.v[i].lateness_us, s.v[i].local_lateness_us);
            fclose(f);
        }
    }

    /* NaN is not JSON: an empty statistic prints as null. */
    FILE *outs[2] = {stdout, out_path ? fopen(out_path, "w") : NULL};
    if (out_path && !outs[1]) perror(out_path);
    for (int k = 0; k < 2; ++k) {
        FILE *f = outs[k];
        if (!f) continue;
        fprintf(f, "{\"label\":");
        json_str(f, label);
        fprintf(f, ",\"device\":");
        json_str(f, device);
        fprintf(f, ",\"rate\":%u,\"channels\":%u,\"format\":\"S16_LE\"", RATE, CHANNELS);
        fprintf(f, ",\"period_requested\":%ld,\"period\":%lu,\"buffer\":%lu,\"periods\":%ld",
                period_req, (unsigned long)period, (unsigned long)buffer, periods_req);
        fprintf(f, ",\"seconds\":%.3f,\"wakes\":%ld,\"counted_wakes\":%zu,\"early_wakes\":%ld", wall_s, wakes, m,
                early_no_event + early_low_avail);
        fprintf(f, ",\"early_wakes_no_pollout\":%ld,\"early_wakes_pollout_below_avail_min\":%ld,\"duplicate_wakes\":%ld",
                early_no_event, early_low_avail, dup_wakes);
        fprintf(f, ",\"fitted_rate_hz\":");
        NUM(f, tl.rate_hz > 0 ? tl.rate_hz : NAN);
        for (int which = 0; which < 2; ++which) {
            const double *x = which ? local : late;
            fprintf(f, which ? "},\"local_lateness_us\":{\"p50\":" : ",\"lateness_us\":{\"p50\":");
            NUM(f, pct(x, m, 50));
            fprintf(f, ",\"p99\":");
            NUM(f, pct(x, m, 99));
            fprintf(f, ",\"p999\":");
            NUM(f, pct(x, m, 99.9));
            fprintf(f, ",\"max\":");
            NUM(f, m ? x[m - 1] : NAN);
        }
        fprintf(f, "}");
        delay_json(f, "delay", d0_mean, pct(d0, m, 50));
        delay_json(f, "delay_after_write", d1_mean, pct(d1, m, 50));
        fprintf(f, ",\"xruns\":%ld,\"cpu_s\":%.6f,\"cpu_ms_per_s\":", xruns, cpu);
        NUM(f, wall_s > 0 ? cpu * 1000.0 / wall_s : NAN);
        fprintf(f, "}\n");
        if (k == 1) fclose(f);
    }
    free(late); free(local); free(d0); free(d1); free(s.v); free(fds); free(scratch);
    return 0;
}
