#include "core/read_file.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace dynpcm {

Result<std::string> read_input_file(const std::string& path, std::string_view what) {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec))
        return Error(-EISDIR, fmt::format("{}: cannot open: it is a directory, not a {}", path, what));
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        const int e = errno;
        return Error(-e, fmt::format("{}: cannot open: {}", path, std::strerror(e)));
    }
    std::string out;
    char buf[1 << 16];
    while (out.size() <= kMaxInputFileBytes && in.read(buf, sizeof buf).gcount() > 0)
        out.append(buf, static_cast<size_t>(in.gcount()));
    if (in.bad()) {
        const int e = errno;
        return Error(-e, fmt::format("{}: cannot read: {}", path, std::strerror(e)));
    }
    if (out.size() > kMaxInputFileBytes)
        return Error(-EFBIG, fmt::format("{}: more than {} MiB: not a {}", path, kMaxInputFileBytes >> 20, what));
    return out;
}

}  // namespace dynpcm
