#include "dynpcm/dapm/widget.h"

#include <array>

namespace dynpcm {

namespace {

struct TypeInfo {
    WidgetType type;
    std::string_view name;
    int up;    // dapm_up_seq
    int down;  // dapm_down_seq
};

// Sequence numbers are the kernel's. Types the kernel leaves at 0 (virtual) power first.
constexpr std::array<TypeInfo, kWidgetTypeCount> kTypes{{
    {WidgetType::Mic, "mic", 6, 9},
    {WidgetType::Line, "line", 12, 5},
    {WidgetType::Hp, "hp", 12, 5},
    {WidgetType::Spk, "spk", 13, 4},
    {WidgetType::Siggen, "siggen", 6, 9},
    {WidgetType::Sink, "sink", 12, 6},
    {WidgetType::AifIn, "aif_in", 5, 12},
    {WidgetType::AifOut, "aif_out", 5, 12},
    {WidgetType::DaiIn, "dai_in", 5, 12},
    {WidgetType::DaiOut, "dai_out", 5, 12},
    {WidgetType::DaiLink, "dai_link", 3, 13},
    {WidgetType::Mixer, "mixer", 9, 7},
    {WidgetType::MixerNamedCtl, "mixer_named_ctl", 9, 7},
    {WidgetType::Mux, "mux", 7, 11},
    {WidgetType::Demux, "demux", 7, 11},
    {WidgetType::Switch, "switch", 9, 7},
    {WidgetType::Pga, "pga", 10, 6},
    {WidgetType::OutDrv, "out_drv", 12, 5},
    {WidgetType::Adc, "adc", 11, 3},
    {WidgetType::Dac, "dac", 8, 8},
    {WidgetType::Supply, "supply", 3, 14},
    {WidgetType::RegulatorSupply, "regulator_supply", 2, 15},
    {WidgetType::ClockSupply, "clock_supply", 2, 15},
    {WidgetType::Pinctrl, "pinctrl", 2, 15},
    {WidgetType::Micbias, "micbias", 4, 10},
    {WidgetType::Vmid, "vmid", 4, 10},
    {WidgetType::Input, "input", 6, 9},
    {WidgetType::Output, "output", 6, 9},
    {WidgetType::Virtual, "virtual", 0, 0},
    {WidgetType::Pre, "pre", 1, 1},
    {WidgetType::Post, "post", 15, 16},
    {WidgetType::Buffer, "buffer", 10, 6},
    {WidgetType::Scheduler, "scheduler", 10, 6},
    {WidgetType::Effect, "effect", 10, 6},
    {WidgetType::Src, "src", 10, 6},
    {WidgetType::Asrc, "asrc", 10, 6},
    {WidgetType::Encoder, "encoder", 10, 6},
    {WidgetType::Decoder, "decoder", 10, 6},
}};

const TypeInfo& info(WidgetType t) {
    for (const auto& i : kTypes)
        if (i.type == t) return i;
    return kTypes[0];
}

}  // namespace

std::string_view widget_type_name(WidgetType t) noexcept { return info(t).name; }

std::optional<WidgetType> parse_widget_type(std::string_view name) noexcept {
    for (const auto& i : kTypes)
        if (i.name == name) return i.type;
    return std::nullopt;
}

KcontrolKind widget_kcontrol_kind(WidgetType t) noexcept {
    switch (t) {
        case WidgetType::Mixer:
        case WidgetType::MixerNamedCtl:
        case WidgetType::Switch: return KcontrolKind::Mixer;
        case WidgetType::Mux:
        case WidgetType::Demux: return KcontrolKind::Mux;
        case WidgetType::Pga:
        case WidgetType::OutDrv:
        case WidgetType::Effect: return KcontrolKind::Pga;
        default: return KcontrolKind::None;
    }
}

bool widget_is_supply(WidgetType t) noexcept {
    return t == WidgetType::Supply || t == WidgetType::RegulatorSupply || t == WidgetType::ClockSupply ||
           t == WidgetType::Pinctrl;
}

int widget_up_seq(WidgetType t) noexcept { return info(t).up; }
int widget_down_seq(WidgetType t) noexcept { return info(t).down; }

KcontrolNaming widget_kcontrol_naming(WidgetType t) noexcept {
    switch (t) {
        case WidgetType::MixerNamedCtl: return KcontrolNaming::ControlOnly;
        case WidgetType::Mux:
        case WidgetType::Demux: return KcontrolNaming::WidgetOnly;
        default: return KcontrolNaming::WidgetAndControl;
    }
}

}  // namespace dynpcm
