// Placeholder until the alsa backend lands (this session).
#include <fmt/format.h>
#include "backend/backends.h"
namespace dynpcm::backend_detail {
Result<void> check_alsa(const BackendBinding&) { return ok(); }
Result<std::unique_ptr<Backend>> make_alsa(const BackendBinding&, const BackendContext& c) {
    return Error(-ENOSYS, fmt::format("BE '{}': the alsa backend is not built yet", c.be_name));
}
}  // namespace dynpcm::backend_detail
