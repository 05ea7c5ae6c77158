#pragma once
/// dynpcm::Error and dynpcm::Result<T>: the control plane's error vocabulary.
///
/// Codes are negative errno values, as in alsa-lib, tinyalsa and the kernel, so that a caller
/// who knows ALSA reads -EPIPE, -ESTRPIPE, -EBADFD and -EINVAL the way it always has. Every
/// error also carries a message that names the object and the bad value.
/// (C++20 has no std::expected; GCC 12 ships it only with -std=c++23.)

#include <cerrno>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

namespace dynpcm {

/// A negative errno code plus a human-readable message.
/// Thread: control. Blocking: wait-free. Allocates: yes (the message).
class Error {
public:
    Error(int code, std::string message) : code_(code < 0 ? code : -code), message_(std::move(message)) {}

    /// Negative errno, e.g. -EINVAL.
    int code() const noexcept { return code_; }
    const std::string& message() const noexcept { return message_; }
    /// "EINVAL: <message>".
    std::string to_string() const;

private:
    int code_;
    std::string message_;
};

/// The symbolic name of a negative errno value ("EPIPE"), or "E?" when unknown.
/// Thread: any. Blocking: wait-free. Allocates: no.
const char* errno_name(int negative_code) noexcept;

/// Either a value or an Error. [[nodiscard]] so that errors cannot be dropped silently.
template <typename T>
class [[nodiscard]] Result {
public:
    Result(T value) : v_(std::move(value)) {}                    // NOLINT(implicit)
    Result(Error error) : v_(std::move(error)) {}                // NOLINT(implicit)

    bool ok() const noexcept { return v_.index() == 0; }
    explicit operator bool() const noexcept { return ok(); }

    T& value() & { return std::get<0>(v_); }
    const T& value() const& { return std::get<0>(v_); }
    T&& value() && { return std::get<0>(std::move(v_)); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }

    const Error& error() const& { return std::get<1>(v_); }
    Error&& error() && { return std::get<1>(std::move(v_)); }
    /// 0 on success, else the negative errno.
    int code() const noexcept { return ok() ? 0 : std::get<1>(v_).code(); }

private:
    std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
public:
    Result() = default;
    Result(Error error) : err_(std::move(error)), ok_(false) {}  // NOLINT(implicit)

    bool ok() const noexcept { return ok_; }
    explicit operator bool() const noexcept { return ok_; }
    const Error& error() const& { return err_; }
    Error&& error() && { return std::move(err_); }
    int code() const noexcept { return ok_ ? 0 : err_.code(); }

private:
    Error err_{0, {}};
    bool ok_ = true;
};

/// Shorthand for a successful Result<void>.
inline Result<void> ok() { return {}; }

}  // namespace dynpcm
