// Placeholder until the wav backend lands (this session).
#include <fmt/format.h>
#include "backend/backends.h"
namespace dynpcm::backend_detail {
Result<void> check_wav(const BackendBinding&) { return ok(); }
Result<std::unique_ptr<Backend>> make_wav(const BackendBinding&, const BackendContext& c) {
    return Error(-ENOSYS, fmt::format("BE '{}': the wav backend is not built yet", c.be_name));
}
}  // namespace dynpcm::backend_detail
