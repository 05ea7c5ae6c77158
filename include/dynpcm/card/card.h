#pragma once
/// Card: a sound card's routing model: the DAPM graph, its controls and the FE/BE DAI links.
/// The card file loader (card_file.h) and, later, the topology loader build one.
///
/// Thread: control. A Card is not shared with the realtime thread.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dynpcm/card/card_identity.h"
#include "dynpcm/card/control.h"
#include "dynpcm/card/dai_link.h"
#include "dynpcm/core/result.h"
#include "dynpcm/core/suggest.h"
#include "dynpcm/dapm/graph.h"

namespace dynpcm {

/// A kcontrol a widget takes, as declared.
struct KcontrolSpec {
    std::string name;       ///< the kcontrol's own name ("MultiMedia1", "Switch", "Volume")
    CtlInfo info;
    std::vector<int64_t> value;  ///< initial value; empty = the minimum (first item for enums)
};

struct WidgetSpec {
    std::string name;         ///< without the component's prefix: add_widget puts it on
    WidgetType type = WidgetType::Virtual;
    std::string stream;       ///< sname: binds aif/dac/adc widgets to a DAI stream
    int subseq = 0;
    bool pin_switch = false;  ///< also create a "<name> Switch" pin control (endpoints)
    std::vector<KcontrolSpec> kcontrols;
    uint32_t context = 0;     ///< the component it belongs to (Card::add_component); 0 is the card
};

/// A DAPM context: the card's own (0, the machine driver's) or a component's -- the platform,
/// each codec -- with the name prefix the kernel puts on its widget and control names
/// (snd_soc_component.name_prefix). Widget names are unique per context, not per card.
struct Component {
    std::string name;
    std::string prefix;  ///< may be empty
};

/// A component's DAI (snd_soc_dai) and its stream widgets, made as snd_soc_dapm_new_dai_widgets
/// makes them: dai_in for playback, dai_out for capture, named by the stream name with the
/// component's prefix; their stream (sname) is the bare stream name.
struct Dai {
    std::string name;
    uint32_t component = 0;
    std::string stream[2];                  ///< [playback, capture]; empty: no such stream
    std::optional<WidgetId> widget[2];
};

/// How a widget's stream name (sname) binds it to a DAI's stream widget.
enum class StreamMatch : uint8_t {
    Substring,  ///< the kernel's strstr(w->sname, dai_w->sname) (the default)
    Exact,      ///< equal names only
};

/// Something the card did that a user may not have meant, with the widget it is about.
struct CardNote {
    std::optional<WidgetId> widget;
    std::string message;
};
class Card {
public:
    /// Thread: control. Allocates: yes.
    explicit Card(std::string name);

    const std::string& name() const noexcept { return name_; }
    /// snd_ctl_card_info: set by the card file's `identity:`; by default the id is made from
    /// the name, driver "dynpcm", name, long name and mixer name the card's name.
    const CardIdentity& identity() const noexcept { return identity_; }
    void set_identity(CardIdentity identity) { identity_ = std::move(identity); }
    DapmGraph& graph() noexcept { return graph_; }
    const DapmGraph& graph() const noexcept { return graph_; }

    // ---- building. Thread: control. Allocates: yes. Errors name the offending thing.
    /// A component and its DAPM context; returns its index (the card itself is 0).
    Result<uint32_t> add_component(std::string name, std::string prefix = {});
    const std::vector<Component>& components() const noexcept { return components_; }
    std::optional<uint32_t> find_component(std::string_view name) const noexcept;
    /// The context old-style link streams (`playback: {stream: X}`) make their DAI widgets in:
    /// the card's (0) in a card file, the platform's in a topology. Default 0.
    void set_default_dai_context(uint32_t component) noexcept { default_dai_context_ = component; }
    /// A DAI of a component, with its stream widgets (empty stream name: no such direction).
    Result<size_t> add_dai(uint32_t component, std::string name, std::string playback_stream, std::string capture_stream);
    /// A DAI whose stream widgets exist already: a SOF topology's dai_in / dai_out widget is
    /// the CPU DAI's stream widget of its BE link (sof_connect_dai_widget).
    Result<size_t> adopt_dai(uint32_t component, std::string name, WidgetId widget);
    const std::vector<Dai>& dais() const noexcept { return dais_; }
    /// By name, or "component:name". Null when none or ambiguous.
    const Dai* find_dai(std::string_view name) const noexcept;
    void set_stream_match(StreamMatch m) noexcept { stream_match_ = m; }
    StreamMatch stream_match() const noexcept { return stream_match_; }
    /// snd_soc_card.disable_route_checks: a route naming an absent widget is skipped with a
    /// warning instead of failing the card.
    void set_disable_route_checks(bool on) noexcept { disable_route_checks_ = on; }
    bool disable_route_checks() const noexcept { return disable_route_checks_; }
    /// What a route removal does to a link's queued audio when its BE link does not say.
    void set_route_removal(RouteRemoval r) noexcept { route_removal_ = r; }
    RouteRemoval route_removal() const noexcept { return route_removal_; }
    Result<WidgetId> add_widget(const WidgetSpec& spec);
    /// A control that belongs to no widget (a card-level volume, say).
    Result<uint32_t> add_control(const KcontrolSpec& spec);
    /// A route in the kernel's (sink, control, source) form. `control` is empty for a static
    /// route, a kcontrol name of the sink mixer/switch, or an item of the sink mux (or of the
    /// source demux). Endpoints may be DAI stream names. A route of a component (`context`) gets
    /// its prefix and looks in its own context first, then card-wide, where the last widget of
    /// the name wins (snd_soc_dapm_add_route); machine routes (context 0) likewise.
    /// With disable_route_checks, a route naming no widget returns -ENOENT but the card stays
    /// valid (the caller warns).
    Result<PathId> add_route(std::string_view sink, std::string_view control, std::string_view source,
                             uint32_t context = 0);
    /// Adds an FE or BE link and creates its DAI widgets (dai_in for playback, dai_out for
    /// capture, named by stream name) unless widgets of that name and type exist.
    Result<size_t> add_fe_link(FeLink link);
    Result<size_t> add_be_link(BeLink link);
    /// Binds widgets with a stream name to the DAI stream widgets of their context
    /// (snd_soc_dapm_link_dai_widgets), connects each BE link's CPU and codec DAI widgets
    /// (snd_soc_dapm_connect_dai_link_widgets), numbers the links' PCM devices, then computes
    /// the initial power state. Call once, after everything is added.
    Result<void> finish();
    /// What building did that may not be what was meant (a widget whose stream name binds to
    /// no DAI, a binding by substring, a route that found its widget in another context).
    const std::vector<CardNote>& warnings() const noexcept { return warnings_; }
    /// Paths the card made itself in finish(): stream bindings and DAI link connections.
    size_t stream_bindings() const noexcept { return stream_bindings_; }
    size_t dai_link_connections() const noexcept { return dai_link_connections_; }
    /// The FE link with that PCM device number.
    std::optional<size_t> find_fe_device(uint32_t device) const noexcept;
    /// A widget name with a component's prefix ("Left" + "Speaker" -> "Left Speaker").
    std::string prefixed(uint32_t component, std::string_view name) const;
    /// "'Speaker' (component 'rt298')", or just the quoted name in the card's own context.
    std::string describe_widget(WidgetId w) const;

    // ---- controls. Thread: control.
    const std::vector<Control>& controls() const noexcept { return controls_; }
    const Control* find_control(std::string_view name, uint32_t index = 0) const noexcept;
    const Control* control(uint32_t numid) const noexcept;
    /// Writes a control (snd_ctl_elem_write): validates, stores, applies the routing change
    /// (soc_dapm_mixer_update_power / soc_dapm_mux_update_power) and runs the power
    /// sequence; notifies subscribers. Returns true if the value changed. Allocates: may.
    Result<bool> put(uint32_t numid, const std::vector<int64_t>& values);
    /// put() by name with a user-written value (see parse_ctl_value).
    Result<bool> put(std::string_view name, std::string_view text);
    /// Called after every change, with the control that changed. Returns a handle.
    int subscribe(std::function<void(const Control&)> callback);
    void unsubscribe(int handle);

    // ---- links and routing. Thread: control.
    const std::vector<FeLink>& fe_links() const noexcept { return fe_; }
    const std::vector<BeLink>& be_links() const noexcept { return be_; }
    std::optional<size_t> find_fe(std::string_view name) const noexcept;
    std::optional<size_t> find_be(std::string_view name) const noexcept;
    /// The BE links an FE link's DAI widget reaches through connected paths in that direction,
    /// stopping at BE DAI widgets (dpcm_path_get), sorted by BE index.
    std::vector<size_t> fe_routes(size_t fe, Stream dir) const;
    /// The gain the DSP applies on the way from an FE to a BE (linear; 1.0 = 0 dB): the
    /// product of the dB values of the routing-mixer controls and of the volume and switch
    /// controls of the widgets on the shortest connected path between their DAI widgets. A
    /// plain on/off mixer input counts as 0 dB. Null when the FE does not reach the BE.
    /// Thread: control. Allocates: yes.
    std::optional<double> route_gain(size_t fe, size_t be, Stream dir) const;
    /// Controls that could connect an FE to some BE: the routing controls on the widgets
    /// between the FE's DAI widget and any BE DAI widget, ignoring connection state.
    std::vector<std::string> routing_controls(size_t fe, Stream dir) const;
    /// The BE link whose DAI widget this is, if any.
    std::optional<size_t> be_of_widget(WidgetId w) const noexcept;

    /// "Headfone" -> "Headphone": the nearest widget name, for error messages.
    std::optional<std::string> suggest_widget(std::string_view name) const;

private:
    Result<uint32_t> add_ctl(const KcontrolSpec& spec, std::string full_name, CtlRole role,
                             std::optional<WidgetId> widget);
    Result<WidgetId> add_dai_widget(const std::string& link, const std::string& stream_name, WidgetType type);
    Result<void> link_dais(BeLink& link);
    std::optional<WidgetId> resolve(const std::string& name, uint32_t context, const char* role);
    void link_dai_widgets();
    Result<void> connect_dai_link_widgets();
    Result<void> number_devices();
    void apply_binding(const Control& c);
    bool probe_dai(WidgetId w) const noexcept { return w < probe_dai_widgets_.size() && probe_dai_widgets_[w]; }

    std::string name_;
    CardIdentity identity_;
    DapmGraph graph_;
    std::vector<Control> controls_;
    std::vector<FeLink> fe_;
    std::vector<BeLink> be_;
    std::vector<std::optional<size_t>> be_by_widget_;
    std::vector<Component> components_;
    std::vector<Dai> dais_;
    std::vector<CardNote> warnings_;
    std::vector<bool> probe_dai_widgets_;  // DAI stream widgets add_dai made
    uint32_t default_dai_context_ = 0;
    StreamMatch stream_match_ = StreamMatch::Substring;
    bool disable_route_checks_ = false;
    RouteRemoval route_removal_ = RouteRemoval::Fade;
    size_t stream_bindings_ = 0, dai_link_connections_ = 0;
    std::vector<std::pair<int, std::function<void(const Control&)>>> subscribers_;
    int next_subscriber_ = 1;
    bool finished_ = false;
};


}  // namespace dynpcm
