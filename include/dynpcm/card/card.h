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
    std::string name;
    WidgetType type = WidgetType::Virtual;
    std::string stream;       ///< sname: binds aif/dac/adc widgets to a DAI stream
    int subseq = 0;
    bool pin_switch = false;  ///< also create a "<name> Switch" pin control (endpoints)
    std::vector<KcontrolSpec> kcontrols;
};

class Card {
public:
    /// Thread: control. Allocates: yes.
    explicit Card(std::string name);

    const std::string& name() const noexcept { return name_; }
    DapmGraph& graph() noexcept { return graph_; }
    const DapmGraph& graph() const noexcept { return graph_; }

    // ---- building. Thread: control. Allocates: yes. Errors name the offending thing.
    Result<WidgetId> add_widget(const WidgetSpec& spec);
    /// A control that belongs to no widget (a card-level volume, say).
    Result<uint32_t> add_control(const KcontrolSpec& spec);
    /// A route in the kernel's (sink, control, source) form. `control` is empty for a static
    /// route, a kcontrol name of the sink mixer/switch, or an item of the sink mux (or of the
    /// source demux). Endpoints may be DAI stream names.
    Result<PathId> add_route(std::string_view sink, std::string_view control, std::string_view source);
    /// Adds an FE or BE link and creates its DAI widgets (dai_in for playback, dai_out for
    /// capture, named by stream name) unless widgets of that name and type exist.
    Result<size_t> add_fe_link(FeLink link);
    Result<size_t> add_be_link(BeLink link);
    /// Binds aif/dac/adc widgets to their DAI stream widgets (snd_soc_dapm_link_dai_widgets),
    /// then computes the initial power state. Call once, after everything is added.
    Result<void> finish();
    /// The widgets whose stream name matches no DAI stream of the right direction, with a
    /// message each; finish() fails on the first.
    std::vector<std::pair<WidgetId, std::string>> check_stream_bindings() const;

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
    void apply_binding(const Control& c);

    std::string name_;
    DapmGraph graph_;
    std::vector<Control> controls_;
    std::vector<FeLink> fe_;
    std::vector<BeLink> be_;
    std::vector<std::optional<size_t>> be_by_widget_;
    std::vector<std::pair<int, std::function<void(const Control&)>>> subscribers_;
    int next_subscriber_ = 1;
    bool finished_ = false;
};


}  // namespace dynpcm
