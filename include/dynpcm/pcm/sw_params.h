#pragma once
/// Software parameters (snd_pcm_sw_params_t), with alsa-lib's defaults.

#include <cstdint>
#include <string>

#include "dynpcm/core/result.h"

namespace dynpcm {

/// Frames count as in alsa-lib: unsigned, pointers run modulo `boundary`.
using Frames = uint64_t;

/// Thresholds that govern when a stream starts, stops, wakes and fills silence.
/// Defaults (sw_params_defaults) follow snd_pcm_sw_params_default: start_threshold 1,
/// stop_threshold buffer_size, avail_min period_size, silence 0.
struct SwParams {
    Frames avail_min = 1;         ///< wake a blocked transfer when avail >= this (> 0)
    Frames start_threshold = 1;   ///< playback auto-starts once this many frames are queued;
                                  ///< capture auto-starts on a read of at least this many;
                                  ///< > buffer_size means "start explicitly"
    Frames stop_threshold = 0;    ///< xrun when avail >= this; >= boundary means never
    Frames silence_threshold = 0; ///< playback: fill silence when fewer queued frames than this
    Frames silence_size = 0;      ///< frames of silence to fill; >= boundary: fill everything
    bool period_event = false;    ///< accepted for compatibility; periods always wake
    Frames boundary = 0;          ///< read-only: set by hw_params

    std::string to_string() const;
};

/// alsa-lib's defaults for a configured buffer. Thread: any. Allocates: no.
SwParams sw_params_defaults(Frames period_size, Frames buffer_size, Frames boundary) noexcept;

/// Checks `p` as the kernel's snd_pcm_sw_params does. Thread: any. Allocates: on error.
Result<void> validate_sw_params(const SwParams& p, Frames buffer_size, Frames boundary);

/// The boundary for a buffer: the largest buffer_size * 2^n that is <= limit - buffer_size,
/// where limit is 2^pointer_bits - 1 (LONG_MAX for 63). Thread: any. Allocates: no.
Frames compute_boundary(Frames buffer_size, unsigned pointer_bits) noexcept;

}  // namespace dynpcm
