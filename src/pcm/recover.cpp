#include "dynpcm/pcm/recover.h"

#include <fmt/format.h>

#include "dynpcm/pcm/pcm_runtime.h"

namespace dynpcm {

Result<void> recover(PcmRuntime& pcm, int err) {
    if (err > 0) err = -err;
    switch (-err) {
        case 0:
        case EINTR: return ok();
        case EPIPE: return pcm.prepare();
        case ESTRPIPE: {
            // alsa-lib loops while resume() says -EAGAIN; our resume never does.
            if (auto r = pcm.resume(); r) return r;
            return pcm.prepare();
        }
        default:
            return Error(err, fmt::format("pcm '{}': cannot recover from {}", pcm.name(), errno_name(err)));
    }
}

}  // namespace dynpcm
