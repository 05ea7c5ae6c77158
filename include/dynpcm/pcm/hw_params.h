#pragma once
/// The hw_params configuration space, with alsa-lib's any / refine / set / choose operations.
///
/// A HwParams value is a set of candidate configurations: a mask of access types, a mask of
/// formats, and an Interval per numeric parameter. It is bound to the HwConstraints of the PCM
/// it came from, and every narrowing call re-runs the constraint propagation (the kernel's
/// snd_pcm_hw_refine). A narrowing that would leave no configuration fails with -EINVAL, says
/// which parameter conflicts with which, and leaves the space unchanged, as alsa-lib does.

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dynpcm/core/result.h"
#include "dynpcm/pcm/format.h"
#include "dynpcm/pcm/interval.h"

namespace dynpcm {

/// Numeric hw parameters, as SNDRV_PCM_HW_PARAM_*. Times are in microseconds.
enum class HwParam : uint8_t {
    SampleBits,
    FrameBits,
    Channels,
    Rate,
    PeriodTime,
    PeriodSize,
    PeriodBytes,
    Periods,
    BufferTime,
    BufferSize,
    BufferBytes,
};
inline constexpr int kHwParamCount = 11;

/// "rate", "period_size", ... Thread: any. Blocking: wait-free. Allocates: no.
const char* hw_param_name(HwParam p) noexcept;

/// How the application transfers frames. MMAP access is not offered (yet).
enum class Access : uint8_t { RwInterleaved = 0, RwNonInterleaved = 1 };
const char* access_name(Access a) noexcept;

/// A set of Access values. Thread: any. Blocking: wait-free. Allocates: no.
struct AccessMask {
    uint8_t bits = 0b11;
    constexpr bool has(Access a) const { return (bits >> static_cast<unsigned>(a)) & 1U; }
    constexpr bool empty() const { return bits == 0; }
    constexpr bool single() const { return bits == 1 || bits == 2; }
    constexpr bool operator==(const AccessMask&) const = default;
    static constexpr AccessMask of(Access a) { return {static_cast<uint8_t>(1U << static_cast<unsigned>(a))}; }
    constexpr Access first() const { return (bits & 1U) ? Access::RwInterleaved : Access::RwNonInterleaved; }
};

/// What a PCM's hardware supports: the analogue of struct snd_pcm_hardware plus the extra rules
/// drivers add with snd_pcm_hw_constraint_list / _step / _minmax.
/// Thread: control. Allocates: yes.
class HwConstraints {
public:
    struct Caps {
        AccessMask access{};
        FormatMask formats = FormatMask::of(Format::S16_LE);
        Interval channels{1, 2};
        Interval rate{8000, 192000};
        Interval period_bytes{64, 1U << 20};
        Interval periods{2, 1024};
        uint32_t buffer_bytes_max = 4U << 20;
    };

    HwConstraints() = default;
    explicit HwConstraints(const Caps& caps) : caps_(caps) {}

    /// Restricts `p` to the listed values (snd_pcm_hw_constraint_list).
    void add_list(HwParam p, std::vector<uint32_t> values);
    /// Restricts `p` to multiples of `step` (snd_pcm_hw_constraint_step).
    void add_step(HwParam p, uint32_t step);
    /// Restricts `p` to [min, max] (snd_pcm_hw_constraint_minmax).
    void add_minmax(HwParam p, uint32_t min, uint32_t max);

    const Caps& caps() const noexcept { return caps_; }

private:
    friend class HwParams;
    struct Rule {
        HwParam param;
        enum class Kind { List, Step, MinMax } kind;
        std::vector<uint32_t> list;
        uint32_t a = 0, b = 0;
    };
    Caps caps_{};
    std::vector<Rule> rules_;
};

/// A hw_params configuration space. Copyable; copies share the constraints.
/// Thread: control. Blocking: no. Allocates: yes (error messages).
class HwParams {
public:
    /// The whole space the constraints allow (snd_pcm_hw_params_any), already refined.
    static HwParams any(std::shared_ptr<const HwConstraints> constraints);

    // --- narrowing: each refines the whole space and fails with -EINVAL, unchanged, if empty.
    Result<void> set(HwParam p, uint32_t value);
    Result<void> set_min(HwParam p, uint32_t value);
    Result<void> set_max(HwParam p, uint32_t value);
    Result<void> set_minmax(HwParam p, uint32_t min, uint32_t max);
    /// Sets the allowed value nearest to `value` (ties go to the lower one) and returns it.
    Result<uint32_t> set_near(HwParam p, uint32_t value);
    Result<uint32_t> set_first(HwParam p);
    Result<uint32_t> set_last(HwParam p);
    Result<void> set_format(Format f);
    Result<void> set_formats(FormatMask m);
    Result<void> set_access(Access a);

    /// Narrows every parameter to a single value, in the kernel's order
    /// (snd_pcm_hw_params_choose): access, format, channels, rate, period_time first;
    /// buffer_size last; then anything still open first.
    Result<void> choose();

    /// True when every parameter has exactly one value.
    bool is_chosen() const noexcept;

    const Interval& interval(HwParam p) const noexcept { return iv_[index(p)]; }
    FormatMask formats() const noexcept { return formats_; }
    AccessMask access_mask() const noexcept { return access_; }

    // --- values of a chosen space (the minimum of an open one).
    Format format() const noexcept { return formats_.empty() ? Format::S16_LE : formats_.first(); }
    Access access() const noexcept { return access_.first(); }
    uint32_t get(HwParam p) const noexcept { return iv_[index(p)].min; }
    uint32_t rate() const noexcept { return get(HwParam::Rate); }
    uint32_t channels() const noexcept { return get(HwParam::Channels); }
    uint32_t period_size() const noexcept { return get(HwParam::PeriodSize); }
    uint32_t periods() const noexcept { return get(HwParam::Periods); }
    uint32_t buffer_size() const noexcept { return get(HwParam::BufferSize); }

    /// One line per parameter, as `alsa-lib`'s snd_pcm_hw_params_dump.
    std::string to_string() const;
    /// "S16_LE 2ch 48000Hz period 1024 x 4 (buffer 4096)" for a chosen space.
    std::string summary() const;

    const HwConstraints& constraints() const noexcept { return *constraints_; }

private:
    static constexpr size_t index(HwParam p) { return static_cast<size_t>(p); }
    explicit HwParams(std::shared_ptr<const HwConstraints> c) : constraints_(std::move(c)) {}
    // Propagates until a fixpoint. `what` names the narrowing for the error message.
    Result<void> refine(const std::string& what);
    Result<void> narrow(HwParam p, Interval to, const std::string& what);

    std::shared_ptr<const HwConstraints> constraints_;
    AccessMask access_{};
    FormatMask formats_ = FormatMask::all();
    std::array<Interval, kHwParamCount> iv_{};
};

}  // namespace dynpcm
