#pragma once
// Reading a whole input file (card file, scenario, overlay, topology) with the errors every
// loader reports the same way, and a size bound so that a device or FIFO named by mistake
// (/dev/zero) is refused instead of read forever. Internal to the library.

#include <cstddef>
#include <string>
#include <string_view>

#include "dynpcm/core/result.h"

namespace dynpcm {

/// Far above any real input (Debian's largest topology compiles to 66 KB).
inline constexpr size_t kMaxInputFileBytes = size_t{64} << 20;

/// The file's bytes, or an error naming the path: "cannot open: it is a directory, not a
/// <what>" (-EISDIR), "cannot open: <strerror>", "cannot read: <strerror>", or "more than 64 MiB:
/// not a <what>" (-EFBIG). Thread: control. Blocking: file I/O. Allocates: yes.
Result<std::string> read_input_file(const std::string& path, std::string_view what);

}  // namespace dynpcm
