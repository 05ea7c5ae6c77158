#pragma once
// What each backend type contributes to the factory (backend.cpp), and the option parsers
// they share. Internal to the library.

#include <memory>
#include <string>
#include <string_view>

#include "dynpcm/backend/backend.h"

namespace dynpcm::backend_detail {

// Each checks the values of its type's options (the names are checked by the factory).
Result<void> check_sim(const BackendBinding& b);
Result<void> check_wav(const BackendBinding& b);
Result<void> check_alsa(const BackendBinding& b);

Result<std::unique_ptr<Backend>> make_sim(const BackendBinding& b, const BackendContext& c);
Result<std::unique_ptr<Backend>> make_null(const BackendBinding& b, const BackendContext& c);
Result<std::unique_ptr<Backend>> make_wav(const BackendBinding& b, const BackendContext& c);
Result<std::unique_ptr<Backend>> make_alsa(const BackendBinding& b, const BackendContext& c);

// Option values: each error names the option and the value.
Result<double> parse_number(const BackendBinding& b, std::string_view key, double fallback, double min, double max);
Result<bool> parse_flag(const BackendBinding& b, std::string_view key, bool fallback);
std::string option_or(const BackendBinding& b, std::string_view key, std::string fallback);

}  // namespace dynpcm::backend_detail
