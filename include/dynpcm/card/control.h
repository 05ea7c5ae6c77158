#pragma once
/// Controls: ALSA-style mixer elements (snd_ctl_elem_*): an id, an info block, values, and
/// what writing them does to the DAPM graph.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "dynpcm/core/result.h"
#include "dynpcm/dapm/graph.h"

namespace dynpcm {

/// SNDRV_CTL_ELEM_TYPE_*.
enum class CtlType : uint8_t { Boolean, Integer, Enumerated, Bytes };
/// "BOOLEAN", ... Thread: any. Blocking: wait-free. Allocates: no.
const char* ctl_type_name(CtlType t) noexcept;

/// SNDRV_CTL_ELEM_IFACE_*. DAPM and card controls are MIXER.
enum class CtlIface : uint8_t { Mixer, Card, Pcm };
/// "MIXER", ... Thread: any. Blocking: wait-free. Allocates: no.
const char* ctl_iface_name(CtlIface i) noexcept;

/// The ALSA element name limit (SNDRV_CTL_ELEM_ID_NAME_MAXLEN - 1).
inline constexpr size_t kCtlNameMax = 43;

/// snd_ctl_elem_id.
struct CtlId {
    uint32_t numid = 0;  ///< 1-based, unique per card
    CtlIface iface = CtlIface::Mixer;
    std::string name;
    uint32_t index = 0;
};

/// A TLV_DB_SCALE: value v maps to min_cdb + (v - min) * step_cdb, in 0.01 dB; with `mute`
/// the minimum value is silence.
struct DbScale {
    int32_t min_cdb = 0;
    int32_t step_cdb = 0;
    bool mute = false;
};

/// snd_ctl_elem_info.
struct CtlInfo {
    CtlType type = CtlType::Boolean;
    uint32_t count = 1;  ///< values per element (channels for a stereo volume, bytes for BYTES)
    int64_t min = 0;
    int64_t max = 1;
    int64_t step = 1;
    std::vector<std::string> items;  ///< ENUMERATED item names
    std::optional<DbScale> db;
    bool invert = false;             ///< mixer switch: the maximum means "off"
    bool read_only = false;          ///< no SNDRV_CTL_ELEM_ACCESS_WRITE: writes are refused (-EPERM)
};

/// What writing a control does to the graph.
enum class CtlRole : uint8_t {
    Plain,      ///< just a value (volumes, card controls, PGA controls)
    MixerPath,  ///< a mixer/switch kcontrol: connects its routes when the value is not "off"
    Mux,        ///< a mux enum: connects the route whose control is the selected item
    Demux,      ///< a demux enum: the same on the demux's output routes
    Pin,        ///< a pin switch: enables or disables an endpoint widget
};

/// One control element. Plain data; the Card that owns it is control-thread only.
struct Control {
    CtlId id;
    CtlInfo info;
    std::vector<int64_t> value;
    CtlRole role = CtlRole::Plain;
    std::optional<WidgetId> widget;  ///< the widget this kcontrol belongs to (or the pin)
    std::string kcontrol;            ///< its name within the widget (mixer routes name it)
    std::vector<PathId> paths;       ///< routes it switches

    /// Whether `v` (one value) connects a mixer path: non-zero, or not-max when inverted.
    bool connects(int64_t v) const noexcept { return info.invert ? v != info.max : v != 0; }
    /// dB of a value, when the control has a dB scale. Thread: any. Allocates: no.
    std::optional<double> db_at(int64_t v) const noexcept;
};

/// Checks `values` against `info`; the message names the control and the bad value.
/// Thread: any. Allocates: on error.
Result<void> validate_ctl_values(const Control& c, const std::vector<int64_t>& values);

/// Parses a user-written value for `c`: "on"/"off"/"true"/"false"/"1"/"0" for booleans, a number
/// for integers, an item name or index for enums, comma-separated for several channels ("80,75";
/// a single value fills every channel), hex or decimal bytes for BYTES.
/// Thread: any. Allocates: yes.
Result<std::vector<int64_t>> parse_ctl_value(const Control& c, std::string_view text);

/// Formats values for display: item names for enums, "on"/"off" for booleans.
/// Thread: any. Allocates: yes.
std::string format_ctl_value(const Control& c);

}  // namespace dynpcm
