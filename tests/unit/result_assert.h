#pragma once
// GoogleTest predicates for dynpcm::Result: success, or failure with an exact errno and a
// message that names what it should. Shared by the unit-test fixtures.

#include <gtest/gtest.h>

#include <initializer_list>
#include <string>
#include <string_view>

#include "dynpcm/core/result.h"

namespace dynpcm::testutil {

/// Success, with the error message on failure.
template <typename R>
::testing::AssertionResult is_ok(const R& r) {
    if (r.ok()) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "failed with " << errno_name(r.code()) << ": " << r.error().message();
}

/// Failure with exactly `code`, a non-empty message, and each of `mentions` in the message.
template <typename R>
::testing::AssertionResult is_error(const R& r, int code, std::initializer_list<std::string_view> mentions = {}) {
    if (r.ok()) return ::testing::AssertionFailure() << "succeeded; expected " << errno_name(code);
    const std::string& msg = r.error().message();
    if (r.code() != code)
        return ::testing::AssertionFailure() << "failed with " << errno_name(r.code()) << " (\"" << msg
                                             << "\"); expected " << errno_name(code);
    if (msg.empty()) return ::testing::AssertionFailure() << errno_name(code) << " with an empty message";
    for (std::string_view m : mentions)
        if (msg.find(m) == std::string::npos)
            return ::testing::AssertionFailure() << "message \"" << msg << "\" does not mention \"" << m << "\"";
    return ::testing::AssertionSuccess() << errno_name(code) << ": " << msg;
}

}  // namespace dynpcm::testutil
