#pragma once
/// DAPM widget types and their static rules, in the kernel's vocabulary
/// (include/sound/soc-dapm.h, sound/soc/soc-dapm.c). Every function here is a pure lookup:
/// Thread: any. Blocking: wait-free. Allocates: no.

#include <cstdint>
#include <optional>
#include <string_view>

namespace dynpcm {

/// snd_soc_dapm_type. The names (widget_type_name) are the kernel's without the prefix.
enum class WidgetType : uint8_t {
    // endpoints
    Mic, Line, Hp, Spk, Siggen, Sink,
    // interfaces
    AifIn, AifOut, DaiIn, DaiOut, DaiLink,
    // routing
    Mixer, MixerNamedCtl, Mux, Demux, Switch, Pga, OutDrv, Adc, Dac,
    // power
    Supply, RegulatorSupply, ClockSupply, Pinctrl, Micbias, Vmid,
    // plain
    Input, Output, Virtual, Pre, Post,
    // DSP widgets used by topologies
    Buffer, Scheduler, Effect, Src, Asrc, Encoder, Decoder,
};
inline constexpr int kWidgetTypeCount = 38;

/// "mixer", "aif_in", "regulator_supply", ... Thread: any. Allocates: no.
std::string_view widget_type_name(WidgetType t) noexcept;
/// Parses a kernel widget type name. Thread: any. Allocates: no.
std::optional<WidgetType> parse_widget_type(std::string_view name) noexcept;

/// What a widget type takes as kcontrols (snd_soc_dapm_new_widgets: dapm_new_mixer,
/// dapm_new_mux, dapm_new_pga).
enum class KcontrolKind : uint8_t { None, Mixer, Mux, Pga };
KcontrolKind widget_kcontrol_kind(WidgetType t) noexcept;

/// Supplies power whatever they feed needs; their paths do not carry audio.
bool widget_is_supply(WidgetType t) noexcept;

/// Position in the power-up / power-down sequence (dapm_up_seq / dapm_down_seq).
int widget_up_seq(WidgetType t) noexcept;
int widget_down_seq(WidgetType t) noexcept;

/// How a kcontrol's ALSA name is formed (dapm_create_or_share_kcontrol): mixers, switches and
/// PGAs prefix the widget name ("<widget> <kcontrol>"); mixer_named_ctl uses the kcontrol name
/// alone; muxes and demuxes use the widget name alone.
enum class KcontrolNaming : uint8_t { WidgetAndControl, ControlOnly, WidgetOnly };
KcontrolNaming widget_kcontrol_naming(WidgetType t) noexcept;

}  // namespace dynpcm
