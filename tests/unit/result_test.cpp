// dynpcm::Error, Result<T>, Result<void> and errno_name.

#include <gtest/gtest.h>

#include <cerrno>
#include <memory>
#include <string>
#include <utility>
#include <variant>

#include "dynpcm/core/result.h"

namespace {

using dynpcm::Error;
using dynpcm::Result;

Result<int> parse_positive(int v) {
    if (v <= 0) return Error(-EINVAL, "value must be positive");
    return v;
}

Result<void> check_even(int v) {
    if (v % 2 != 0) return Error(EINVAL, "odd");
    return dynpcm::ok();
}

TEST(Error, NegativeCodeIsKeptAsIs) {
    const Error e(-EPIPE, "underrun");
    EXPECT_EQ(e.code(), -EPIPE);
    EXPECT_EQ(e.message(), "underrun");
}

TEST(Error, PositiveCodeIsNormalisedToNegative) {
    const Error e(EINVAL, "bad");
    EXPECT_EQ(e.code(), -EINVAL);
    const Error e2(ESTRPIPE, "suspended");
    EXPECT_EQ(e2.code(), -ESTRPIPE);
}

TEST(Error, ToStringIsSymbolicNameColonMessage) {
    EXPECT_EQ(Error(-EINVAL, "msg").to_string(), "EINVAL: msg");
    EXPECT_EQ(Error(EPIPE, "xrun").to_string(), "EPIPE: xrun");
    EXPECT_EQ(Error(-EBADFD, "state OPEN").to_string(), "EBADFD: state OPEN");
}

TEST(Error, ToStringOfUnknownCodeUsesNumber) {
    EXPECT_EQ(Error(-9999, "weird").to_string(), "E9999: weird");
}

TEST(ErrnoName, NamesTheCommonAlsaCodes) {
    EXPECT_STREQ(dynpcm::errno_name(-EINVAL), "EINVAL");
    EXPECT_STREQ(dynpcm::errno_name(-EPIPE), "EPIPE");
    EXPECT_STREQ(dynpcm::errno_name(-ESTRPIPE), "ESTRPIPE");
    EXPECT_STREQ(dynpcm::errno_name(-EBADFD), "EBADFD");
    EXPECT_STREQ(dynpcm::errno_name(-EAGAIN), "EAGAIN");
    EXPECT_STREQ(dynpcm::errno_name(-EBUSY), "EBUSY");
    EXPECT_STREQ(dynpcm::errno_name(-ENODEV), "ENODEV");
    EXPECT_STREQ(dynpcm::errno_name(-ETIMEDOUT), "ETIMEDOUT");
    EXPECT_STREQ(dynpcm::errno_name(-EINTR), "EINTR");
    EXPECT_STREQ(dynpcm::errno_name(-ENOMEM), "ENOMEM");
    EXPECT_STREQ(dynpcm::errno_name(0), "OK");
}

TEST(ErrnoName, UnknownCodeIsNotMistakenForAKnownOne) {
    const std::string name = dynpcm::errno_name(-9999);
    ASSERT_FALSE(name.empty());
    EXPECT_EQ(name[0], 'E');
    EXPECT_NE(name, "EINVAL");
    EXPECT_NE(name, "OK");
}

TEST(Result, HoldsValueOnSuccess) {
    Result<int> r = parse_positive(42);
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(static_cast<bool>(r));
    EXPECT_EQ(r.value(), 42);
    EXPECT_EQ(*r, 42);
    EXPECT_EQ(r.code(), 0);
}

TEST(Result, HoldsErrorOnFailure) {
    Result<int> r = parse_positive(-1);
    ASSERT_FALSE(r.ok());
    EXPECT_FALSE(static_cast<bool>(r));
    EXPECT_EQ(r.code(), -EINVAL);
    EXPECT_EQ(r.error().code(), -EINVAL);
    EXPECT_EQ(r.error().message(), "value must be positive");
    EXPECT_THROW((void)r.value(), std::bad_variant_access);
}

TEST(Result, ErrorOfSuccessfulResultThrows) {
    const Result<int> good = parse_positive(1);
    EXPECT_THROW((void)good.error(), std::bad_variant_access);
}

TEST(Result, ArrowAndMutableAccessReachTheValue) {
    Result<std::string> r = std::string("abc");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->size(), 3U);
    r.value() += "d";
    *r += "e";
    EXPECT_EQ(r.value(), "abcde");
}

TEST(Result, RvalueValueMovesOutMoveOnlyTypes) {
    Result<std::unique_ptr<int>> r = std::make_unique<int>(7);
    ASSERT_TRUE(r);
    std::unique_ptr<int> p = std::move(r).value();
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(*p, 7);
}

TEST(Result, RvalueErrorMovesOutTheError) {
    Result<int> r = Error(-EBUSY, "busy");
    Error e = std::move(r).error();
    EXPECT_EQ(e.code(), -EBUSY);
    EXPECT_EQ(e.message(), "busy");
}

TEST(Result, ErrorCodeFromPositiveErrnoIsNegative) {
    Result<int> r = Error(EIO, "io");
    EXPECT_EQ(r.code(), -EIO);
}

TEST(ResultVoid, DefaultIsSuccess) {
    Result<void> r;
    EXPECT_TRUE(r.ok());
    EXPECT_TRUE(static_cast<bool>(r));
    EXPECT_EQ(r.code(), 0);
    EXPECT_TRUE(dynpcm::ok().ok());
    EXPECT_EQ(dynpcm::ok().code(), 0);
}

TEST(ResultVoid, CarriesErrorWithNormalisedCode) {
    Result<void> r = check_even(3);
    ASSERT_FALSE(r.ok());
    EXPECT_FALSE(static_cast<bool>(r));
    EXPECT_EQ(r.code(), -EINVAL);
    EXPECT_EQ(r.error().message(), "odd");
    EXPECT_EQ(r.error().to_string(), "EINVAL: odd");
    EXPECT_TRUE(check_even(4).ok());
}

TEST(ResultVoid, RvalueErrorMovesOut) {
    Result<void> r = Error(-ENODEV, "gone");
    Error e = std::move(r).error();
    EXPECT_EQ(e.code(), -ENODEV);
    EXPECT_EQ(e.message(), "gone");
}

TEST(ResultVoid, CopyKeepsStatus) {
    const Result<void> bad = Error(-EPIPE, "xrun");
    const Result<void> copy = bad;  // NOLINT(performance-unnecessary-copy-initialization)
    EXPECT_FALSE(copy.ok());
    EXPECT_EQ(copy.code(), -EPIPE);
    EXPECT_EQ(copy.error().message(), "xrun");
}

}  // namespace
