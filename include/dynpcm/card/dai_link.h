#pragma once
/// DAI links as a card declares them: front-ends (FE, the PCMs applications open) and
/// back-ends (BE, the links to real hardware), as in struct snd_soc_dai_link with
/// dynamic=1 (FE) or no_pcm=1 (BE).

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "dynpcm/dapm/graph.h"
#include "dynpcm/sim/clock_model.h"
#include "dynpcm/pcm/format.h"
#include "dynpcm/pcm/interval.h"
#include "dynpcm/pcm/state.h"

namespace dynpcm {

/// SND_SOC_DPCM_TRIGGER_PRE / _POST: whether the FE is triggered before its BEs on start.
enum class TriggerOrder : uint8_t { Pre, Post };
/// "pre" or "post". Thread: any. Blocking: wait-free. Allocates: no.
const char* trigger_order_name(TriggerOrder t) noexcept;

/// One direction of a link: its DAI stream (and the DAI widget named after it) and what it
/// supports.
struct LinkStream {
    std::string stream_name;        ///< also the name of the DAI widget (dai_in or dai_out)
    WidgetId widget = 0;            ///< filled in when the link is added to a card: the (first) CPU DAI's
    /// Every DAI widget of the link in this direction, CPUs then codecs (a BE link reaches an FE
    /// through any of them, as dpcm_get_be finds it); filled in when the link is added.
    std::vector<WidgetId> dai_widgets;
    FormatMask formats = FormatMask::of(Format::S16_LE);
    Interval rates{8000, 192000};
    Interval channels{1, 2};
    std::vector<uint32_t> rate_list;  ///< when non-empty, only these rates
};

struct FeLink {
    std::string name;
    /// The FE DAI, a DAI of some component (Card::add_dai); empty: the DAI the playback/capture
    /// stream names make, in the card's default DAI context.
    std::string cpu_dai;
    std::optional<uint32_t> device;  ///< the PCM device number asked for (hw:CARD,N)
    uint32_t device_number = 0;      ///< the one it got (Card::finish): asked for, or in the kernel's order
    bool topology = false;           ///< made from a topology PCM: numbered after the machine's links
    std::optional<LinkStream> playback;
    std::optional<LinkStream> capture;
    TriggerOrder trigger[2] = {TriggerOrder::Post, TriggerOrder::Post};  ///< [playback, capture]
    int line = 0;  ///< where the card file declared it, for messages

    const std::optional<LinkStream>& stream(Stream s) const { return s == Stream::Playback ? playback : capture; }
};

/// be_hw_params_fixup: what the BE runs at whatever the FE asked for.
struct HwFixup {
    std::optional<uint32_t> rate;
    std::optional<uint32_t> channels;
    std::optional<Format> format;
    /// How the DSP pairs channels, one entry per BE channel: the FE channel that BE channel
    /// plays (playback) or feeds (capture); -1 leaves it silent. Empty: the standard maps
    /// (mono to all, N to mono by average, otherwise i to i).
    std::vector<int> channel_map;
};

/// Which backend plays a BE, with its free-form options (device string, file, ...).
struct BackendBinding {
    std::string type = "sim";  ///< sim, null, wav, alsa
    std::map<std::string, std::string> options;
};

/// A physical DAI's hardware format, as a topology's hw config gives it (snd_soc_tplg_hw_config,
/// SND_SOC_DAIFMT_*). Kept with the BE for reports and for backends that drive a real interface;
/// the engine itself does not use it.
struct DaiFormat {
    std::string format = "I2S";        ///< I2S, RIGHT_J, LEFT_J, DSP_A, DSP_B, AC97, PDM
    bool codec_bclk_provider = true;   ///< the codec drives BCLK (SND_SOC_TPLG_BCLK_CP)
    bool codec_fsync_provider = true;  ///< the codec drives the frame clock
    bool invert_bclk = false, invert_fsync = false;
    uint32_t mclk_rate = 0, bclk_rate = 0, fsync_rate = 0;  ///< Hz; 0 = not given
    uint32_t tdm_slots = 0, tdm_slot_width = 0, tx_slots = 0, rx_slots = 0;
};

/// What a route removal does to the audio a running link has queued (docs/DATA_PATH.md, "Lost
/// frames").
enum class RouteRemoval : uint8_t {
    Cut,   ///< disconnect at once and discard it (the kernel)
    Fade,  ///< fade out over the engine's fade time, then disconnect and discard the rest (the default)
    Play,  ///< play what is queued, fading out its last fade time, then disconnect: nothing lost
};

struct BeLink {
    std::string name;
    uint32_t id = 0;      ///< dai_link id, which topology link configs match; default: position in be_links
    std::string cpu_dai;  ///< the CPU DAI's name, which topology DAI configs match; may be empty
    /// The link's DAIs (Card::add_dai names; "component:dai" where two components have a DAI
    /// of one name). When given, the link's streams are theirs, and the card connects each CPU
    /// DAI's stream widget to its codec's (snd_soc_dapm_connect_dai_link_widgets).
    std::vector<std::string> cpus, codecs;
    bool playback_only = false, capture_only = false;  ///< dai_link.playback_only / capture_only
    uint32_t number = 0;  ///< its runtime's number (Card::finish): BEs take PCM numbers too
    std::optional<LinkStream> playback;
    std::optional<LinkStream> capture;
    BackendBinding backend;
    HwFixup fixup;
    std::optional<DaiFormat> dai_format;
    std::optional<ClockModel> clock;  ///< a clock of its own; none: the engine's nominal clock
    std::optional<RouteRemoval> route_removal;  ///< none: the card's default
    TriggerOrder trigger[2] = {TriggerOrder::Post, TriggerOrder::Post};
    int line = 0;

    const std::optional<LinkStream>& stream(Stream s) const { return s == Stream::Playback ? playback : capture; }
};

}  // namespace dynpcm
