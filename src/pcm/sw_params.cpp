#include "dynpcm/pcm/sw_params.h"

#include <fmt/format.h>

namespace dynpcm {

SwParams sw_params_defaults(Frames period_size, Frames buffer_size, Frames boundary) noexcept {
    SwParams p;
    p.avail_min = period_size;
    p.start_threshold = 1;
    p.stop_threshold = buffer_size;
    p.silence_threshold = 0;
    p.silence_size = 0;
    p.boundary = boundary;
    return p;
}

Result<void> validate_sw_params(const SwParams& p, Frames buffer_size, Frames boundary) {
    if (p.avail_min == 0) return Error(-EINVAL, "sw_params: avail_min must be > 0");
    if (p.silence_size >= boundary) {
        if (p.silence_threshold != 0)
            return Error(-EINVAL, fmt::format("sw_params: silence_threshold {} must be 0 when silence_size "
                                              ">= boundary (fill everything)",
                                              p.silence_threshold));
    } else {
        if (p.silence_size > p.silence_threshold)
            return Error(-EINVAL, fmt::format("sw_params: silence_size {} exceeds silence_threshold {}",
                                              p.silence_size, p.silence_threshold));
        if (p.silence_threshold > buffer_size)
            return Error(-EINVAL, fmt::format("sw_params: silence_threshold {} exceeds buffer_size {}",
                                              p.silence_threshold, buffer_size));
    }
    return ok();
}

Frames compute_boundary(Frames buffer_size, unsigned pointer_bits) noexcept {
    if (buffer_size == 0) return 0;
    const Frames limit = pointer_bits >= 64 ? ~Frames{0} : (Frames{1} << pointer_bits) - 1;
    Frames b = buffer_size;
    while (b <= (limit - buffer_size) / 2) b *= 2;
    return b;
}

std::string SwParams::to_string() const {
    return fmt::format(
        "avail_min {} start_threshold {} stop_threshold {} silence_threshold {} silence_size {} boundary {}",
        avail_min, start_threshold, stop_threshold, silence_threshold, silence_size, boundary);
}

}  // namespace dynpcm
