#pragma once
/// DapmGraph: the DAPM widget graph, its connectivity and its power state.
///
/// Widgets are joined by paths (source -> sink). A path is connected or not; mixer switches
/// and mux selections flip that state. A widget is powered when it lies on a complete path
/// from an input endpoint to an output endpoint (is_connected_input_ep /
/// is_connected_output_ep), supplies are powered when something they feed is, and changes are
/// applied in the kernel's dapm_down_seq / dapm_up_seq order. Updates are incremental: a
/// change marks the widgets at its ends dirty and invalidates only the endpoint caches it can
/// affect (dapm_path_invalidate); sync() re-evaluates dirty widgets and whichever neighbours
/// their power change reaches, never the whole graph.
///
/// Thread: control only. The graph is not shared with the realtime thread; the DPCM core
/// publishes immutable snapshots of what it needs.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "dynpcm/dapm/widget.h"

namespace dynpcm {

using WidgetId = uint32_t;
using PathId = uint32_t;

/// Walk direction: In looks upstream (towards sources), Out downstream (towards sinks).
enum class Dir : uint8_t { In = 0, Out = 1 };

struct DapmPath {
    WidgetId source = 0;
    WidgetId sink = 0;
    std::string control;    ///< the route's control: a mixer kcontrol or a mux item; empty if static
    bool connected = true;  ///< carries audio now
    bool supply = false;    ///< either end is a supply: power only, never audio
};

struct DapmWidget {
    std::string name;
    WidgetType type = WidgetType::Virtual;
    std::string stream;        ///< DAI stream name (sname) for aif/dai widgets
    uint32_t context = 0;      ///< the DAPM context (component) it belongs to; 0 is the card's
    int subseq = 0;            ///< order among widgets of the same type
    bool pin_enabled = true;   ///< snd_soc_dapm_enable_pin / disable_pin
    bool stream_active = false;
    bool power = false;
    std::vector<PathId> sources;  ///< paths into this widget
    std::vector<PathId> sinks;    ///< paths out of it
};

/// One applied power change.
struct PowerChange {
    WidgetId widget = 0;
    bool up = false;
};

/// What the last sync() did, for tests and benchmarks of incrementality.
struct SyncStats {
    uint32_t widgets_checked = 0;  ///< power checks evaluated
    uint32_t walk_steps = 0;       ///< endpoint-walk visits
    uint32_t changed = 0;
};

class DapmGraph {
public:
    // ---- building. Thread: control. Allocates: yes.
    /// Names are unique per context at most (the card's loaders see to that); the graph keeps
    /// every widget of a name, in the order they were added.
    WidgetId add_widget(std::string name, WidgetType type, std::string stream = {}, int subseq = 0,
                        uint32_t context = 0);
    PathId add_path(WidgetId source, WidgetId sink, std::string control, bool connected);
    /// On a fully routed card, input and output widgets are never endpoints.
    void set_fully_routed(bool fully_routed);

    // ---- lookup. Thread: control. Allocates: no.
    /// The first widget of that name, in any context.
    std::optional<WidgetId> find(std::string_view name) const;
    /// Every widget of that name, in the order they were added (empty when none).
    const std::vector<WidgetId>& named(std::string_view name) const;
    size_t widget_count() const noexcept { return widgets_.size(); }
    size_t path_count() const noexcept { return paths_.size(); }
    const DapmWidget& widget(WidgetId w) const { return widgets_[w]; }
    const DapmPath& path(PathId p) const { return paths_[p]; }

    // ---- state changes; each marks what it affects dirty. Thread: control. Allocates: may.
    /// Connects or disconnects a path (soc_dapm_connect_path). Returns true if it changed.
    bool connect_path(PathId p, bool connected);
    /// Enables or disables an endpoint pin. Returns true if it changed.
    bool set_pin(WidgetId w, bool enabled);
    /// Marks a DAI widget's stream active or idle (the stream event that makes dai_in a
    /// source endpoint and dai_out a sink endpoint). Returns true if it changed.
    bool set_stream_active(WidgetId w, bool active);

    /// Re-evaluates the dirty widgets (dapm_power_widgets) and applies the changes: power-down
    /// first in dapm_down_seq order, then power-up in dapm_up_seq order. Returns the changes
    /// in the order applied and appends them to the power log.
    std::vector<PowerChange> sync();
    /// The same, recomputing every widget from scratch: the reference for tests.
    std::vector<PowerChange> sync_full();
    const SyncStats& last_sync() const noexcept { return stats_; }

    // ---- connectivity queries. Thread: control.
    /// Whether a connected endpoint is reachable upstream (In) or downstream (Out).
    bool reaches_endpoint(WidgetId w, Dir dir);
    /// This widget's endpoint role right now (bit 0: source endpoint, bit 1: sink endpoint).
    uint8_t endpoint_flags(WidgetId w) const noexcept { return ep_flags(w); }
    /// Widgets reachable from `from` over connected audio paths in `dir`, `from` included, in
    /// breadth-first order. Expansion stops at endpoints and at widgets for which `stop`
    /// returns true (they are still listed): the kernel's dpcm_path_get walk.
    std::vector<WidgetId> walk(WidgetId from, Dir dir, const std::function<bool(WidgetId)>& stop = {}) const;

    /// Every applied power change, oldest first. Thread: control.
    const std::vector<PowerChange>& power_log() const noexcept { return log_; }
    void clear_power_log() { log_.clear(); }

private:
    static constexpr uint8_t kEpSource = 1, kEpSink = 2;
    uint8_t ep_flags(WidgetId w) const noexcept;
    void update_static_flags(WidgetId w);
    void mark_dirty(WidgetId w);
    void invalidate(WidgetId w, Dir dir);
    void invalidate_path(const DapmPath& p);
    bool set_endpoint_flag(WidgetId w, bool DapmWidget::*flag, bool value);
    bool power_check(WidgetId w);
    bool supply_needed(WidgetId w);
    bool audio_path(const DapmPath& p) const noexcept { return p.connected && !p.supply; }

    std::vector<DapmWidget> widgets_;
    std::vector<DapmPath> paths_;
    std::unordered_map<std::string, std::vector<WidgetId>> by_name_;
    bool fully_routed_ = false;

    // Per-widget scratch, indexed by WidgetId.
    std::vector<uint8_t> static_ep_;       // endpoint role from type and routes (not stream)
    std::vector<int8_t> ep_cache_[2];      // -1 unknown, 0 no, 1 yes
    std::vector<uint8_t> dirty_;
    std::vector<uint8_t> checked_;
    std::vector<uint8_t> new_power_;
    std::vector<int32_t> stack_depth_;     // position on the walk stack, -1 when not on it
    std::vector<WidgetId> dirty_list_;
    std::vector<WidgetId> checked_list_;
    SyncStats stats_{};
    std::vector<PowerChange> log_;
};

}  // namespace dynpcm
