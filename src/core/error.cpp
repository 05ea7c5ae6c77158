#include "dynpcm/core/result.h"

#include <fmt/format.h>

namespace dynpcm {

const char* errno_name(int negative_code) noexcept {
    switch (-negative_code) {
        case 0: return "OK";
        case EPERM: return "EPERM";
        case ENOENT: return "ENOENT";
        case EINTR: return "EINTR";
        case EIO: return "EIO";
        case EBADF: return "EBADF";
        case EAGAIN: return "EAGAIN";
        case ENOMEM: return "ENOMEM";
        case EFAULT: return "EFAULT";
        case EBUSY: return "EBUSY";
        case EEXIST: return "EEXIST";
        case ENODEV: return "ENODEV";
        case EINVAL: return "EINVAL";
        case ENOSPC: return "ENOSPC";
        case EPIPE: return "EPIPE";
        case ERANGE: return "ERANGE";
        case ENOSYS: return "ENOSYS";
        case ENOTSUP: return "ENOTSUP";
        case ETIMEDOUT: return "ETIMEDOUT";
        case EBADFD: return "EBADFD";
        case ESTRPIPE: return "ESTRPIPE";
        default: return "E?";
    }
}

std::string Error::to_string() const {
    const char* name = errno_name(code_);
    if (name[1] == '?') return fmt::format("E{}: {}", -code_, message_);
    return fmt::format("{}: {}", name, message_);
}

}  // namespace dynpcm
