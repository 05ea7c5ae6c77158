#include "dynpcm/dapm/graph.h"

#include <algorithm>
#include <deque>
#include <limits>

namespace dynpcm {

namespace {
constexpr int32_t kNotOnStack = -1;
constexpr size_t dir_index(Dir d) { return static_cast<size_t>(d); }
}  // namespace

WidgetId DapmGraph::add_widget(std::string name, WidgetType type, std::string stream, int subseq, uint32_t context) {
    const auto id = static_cast<WidgetId>(widgets_.size());
    by_name_[name].push_back(id);
    DapmWidget w;
    w.context = context;
    w.name = std::move(name);
    w.type = type;
    w.stream = std::move(stream);
    w.subseq = subseq;
    widgets_.push_back(std::move(w));
    static_ep_.push_back(0);
    ep_cache_[0].push_back(-1);
    ep_cache_[1].push_back(-1);
    dirty_.push_back(0);
    checked_.push_back(0);
    new_power_.push_back(0);
    stack_depth_.push_back(kNotOnStack);
    update_static_flags(id);
    mark_dirty(id);
    return id;
}

PathId DapmGraph::add_path(WidgetId source, WidgetId sink, std::string control, bool connected) {
    const auto id = static_cast<PathId>(paths_.size());
    DapmPath p;
    p.source = source;
    p.sink = sink;
    p.control = std::move(control);
    p.connected = connected;
    p.supply = widget_is_supply(widgets_[source].type) || widget_is_supply(widgets_[sink].type);
    paths_.push_back(std::move(p));
    widgets_[source].sinks.push_back(id);
    widgets_[sink].sources.push_back(id);
    // dapm_update_widget_flags on both ends: input/output/line roles depend on their routes.
    update_static_flags(source);
    update_static_flags(sink);
    invalidate(source, Dir::Out);
    invalidate(source, Dir::In);
    invalidate(sink, Dir::In);
    invalidate(sink, Dir::Out);
    mark_dirty(source);
    mark_dirty(sink);
    return id;
}

void DapmGraph::set_fully_routed(bool fully_routed) {
    if (fully_routed_ == fully_routed) return;
    fully_routed_ = fully_routed;
    for (WidgetId w = 0; w < widgets_.size(); ++w) {
        const auto t = widgets_[w].type;
        if (t != WidgetType::Input && t != WidgetType::Output) continue;
        update_static_flags(w);
        invalidate(w, Dir::In);
        invalidate(w, Dir::Out);
        mark_dirty(w);
    }
}

std::optional<WidgetId> DapmGraph::find(std::string_view name) const {
    const auto& all = named(name);
    if (all.empty()) return std::nullopt;
    return all.front();
}

const std::vector<WidgetId>& DapmGraph::named(std::string_view name) const {
    static const std::vector<WidgetId> none;
    auto it = by_name_.find(std::string(name));
    return it == by_name_.end() ? none : it->second;
}

void DapmGraph::update_static_flags(WidgetId id) {
    const DapmWidget& w = widgets_[id];
    uint8_t ep = 0;
    switch (w.type) {
        case WidgetType::Mic:
        case WidgetType::Siggen:
        case WidgetType::Vmid: ep = kEpSource; break;
        case WidgetType::Hp:
        case WidgetType::Spk:
        case WidgetType::Sink: ep = kEpSink; break;
        case WidgetType::Line:
            // A line is a source if it feeds something, a sink if something feeds it.
            if (!w.sinks.empty()) ep |= kEpSource;
            if (!w.sources.empty()) ep |= kEpSink;
            break;
        case WidgetType::Input:
            // An input fed from a mic, line, micbias or output is part of a longer path.
            if (fully_routed_) break;
            ep = kEpSource;
            for (PathId p : w.sources) {
                const auto t = widgets_[paths_[p].source].type;
                if (t == WidgetType::Mic || t == WidgetType::Line || t == WidgetType::Micbias ||
                    t == WidgetType::Output)
                    ep = 0;
            }
            break;
        case WidgetType::Output:
            if (fully_routed_) break;
            ep = kEpSink;
            for (PathId p : w.sinks) {
                const auto t = widgets_[paths_[p].sink].type;
                if (t == WidgetType::Spk || t == WidgetType::Hp || t == WidgetType::Line || t == WidgetType::Input)
                    ep = 0;
            }
            break;
        default: break;
    }
    static_ep_[id] = ep;
}

uint8_t DapmGraph::ep_flags(WidgetId id) const noexcept {
    const DapmWidget& w = widgets_[id];
    if (w.type == WidgetType::DaiIn) return w.stream_active ? kEpSource : 0;
    if (w.type == WidgetType::DaiOut) return w.stream_active ? kEpSink : 0;
    return static_ep_[id];
}

void DapmGraph::mark_dirty(WidgetId w) {
    if (dirty_[w]) return;
    dirty_[w] = 1;
    dirty_list_.push_back(w);
}

void DapmGraph::invalidate(WidgetId start, Dir dir) {
    // dapm_widget_invalidate_paths: the cached answer for `dir` of `start` and of every widget
    // whose answer can depend on it (downstream for In, upstream for Out) becomes unknown.
    auto& cache = ep_cache_[dir_index(dir)];
    if (cache[start] == -1) return;
    cache[start] = -1;
    std::vector<WidgetId> work{start};
    while (!work.empty()) {
        const WidgetId w = work.back();
        work.pop_back();
        const auto& edges = dir == Dir::In ? widgets_[w].sinks : widgets_[w].sources;
        for (PathId p : edges) {
            if (!audio_path(paths_[p])) continue;
            const WidgetId next = dir == Dir::In ? paths_[p].sink : paths_[p].source;
            if (cache[next] != -1) {
                cache[next] = -1;
                work.push_back(next);
            }
        }
    }
}

void DapmGraph::invalidate_path(const DapmPath& p) {
    // dapm_path_invalidate: a neighbour that reaches no endpoint cannot change the answer.
    if (p.supply) return;
    if (ep_cache_[dir_index(Dir::In)][p.source] != 0) invalidate(p.sink, Dir::In);
    if (ep_cache_[dir_index(Dir::Out)][p.sink] != 0) invalidate(p.source, Dir::Out);
}

bool DapmGraph::connect_path(PathId id, bool connected) {
    DapmPath& p = paths_[id];
    if (p.connected == connected) return false;
    // Invalidate along the path while it still carries audio (disconnect), or after it does
    // (connect), so the walk reaches everything whose answer may change.
    if (!connected) invalidate_path(p);
    p.connected = connected;
    if (connected) invalidate_path(p);
    mark_dirty(p.source);
    mark_dirty(p.sink);
    return true;
}

bool DapmGraph::set_endpoint_flag(WidgetId w, bool DapmWidget::*flag, bool value) {
    // Whether a widget counts as an endpoint changed: both cached answers that can depend on
    // it are stale (snd_soc_dapm_set_pin, and the DAI stream events).
    if (widgets_[w].*flag == value) return false;
    widgets_[w].*flag = value;
    invalidate(w, Dir::In);
    invalidate(w, Dir::Out);
    mark_dirty(w);
    return true;
}

bool DapmGraph::set_pin(WidgetId w, bool enabled) { return set_endpoint_flag(w, &DapmWidget::pin_enabled, enabled); }

bool DapmGraph::set_stream_active(WidgetId w, bool active) {
    return set_endpoint_flag(w, &DapmWidget::stream_active, active);
}

bool DapmGraph::reaches_endpoint(WidgetId start, Dir dir) {
    // is_connected_input_ep / is_connected_output_ep as a yes/no question, walked iteratively
    // (graphs from files can be deep). Loops are resolved as strongly connected components
    // (Tarjan): every member of a loop gets the same answer, and every widget the walk visits
    // ends with a cached answer. That keeps the invariant the incremental invalidation relies
    // on: a cached answer never depends on a widget whose answer is unknown. (The kernel counts
    // a loop as a connected endpoint; dynpcm does not.)
    auto& cache = ep_cache_[dir_index(dir)];
    const uint8_t want = dir == Dir::Out ? kEpSink : kEpSource;
    auto is_ep = [&](WidgetId w) { return (ep_flags(w) & want) != 0 && widgets_[w].pin_enabled; };
    if (cache[start] >= 0) return cache[start] == 1;
    if (is_ep(start)) return (cache[start] = 1) == 1;

    struct Frame {
        WidgetId w;
        uint32_t edge;
        bool found;
        int32_t low;
    };
    std::vector<Frame> frames;
    std::vector<WidgetId> component;  // Tarjan's stack: visited, not yet assigned
    int32_t counter = 0;
    auto push = [&](WidgetId w) {
        stack_depth_[w] = counter;
        frames.push_back({w, 0, false, counter});
        component.push_back(w);
        ++counter;
        ++stats_.walk_steps;
    };
    push(start);
    bool result = false;
    while (!frames.empty()) {
        Frame& f = frames.back();
        const auto& edges = dir == Dir::Out ? widgets_[f.w].sinks : widgets_[f.w].sources;
        if (!f.found && f.edge < edges.size()) {
            const DapmPath& p = paths_[edges[f.edge++]];
            if (!audio_path(p)) continue;
            const WidgetId next = dir == Dir::Out ? p.sink : p.source;
            if (cache[next] == 1) {
                f.found = true;
            } else if (cache[next] == -1) {
                if (stack_depth_[next] != kNotOnStack) {
                    f.low = std::min(f.low, stack_depth_[next]);
                } else if (is_ep(next)) {
                    cache[next] = 1;
                    f.found = true;
                } else {
                    push(next);
                }
            }
            continue;
        }
        const Frame done = f;
        frames.pop_back();
        if (done.found) cache[done.w] = 1;
        if (done.low >= stack_depth_[done.w]) {
            // Root of a component: everything above it on Tarjan's stack reaches it, so shares
            // its answer.
            for (;;) {
                const WidgetId m = component.back();
                component.pop_back();
                stack_depth_[m] = kNotOnStack;
                if (cache[m] == -1) cache[m] = done.found ? 1 : 0;
                if (m == done.w) break;
            }
        }
        if (frames.empty()) {
            result = done.found;
        } else {
            Frame& parent = frames.back();
            parent.found = parent.found || done.found;
            parent.low = std::min(parent.low, done.low);
        }
    }
    return result;
}

namespace {
// Widgets whose power does not depend on connectivity (dapm_always_on_check_power, and pre).
bool fixed_power(WidgetType t) {
    return t == WidgetType::Pre || t == WidgetType::Post || t == WidgetType::Siggen || t == WidgetType::Vmid ||
           t == WidgetType::Sink;
}
}  // namespace

bool DapmGraph::supply_needed(WidgetId id) {
    // dapm_supply_check_power, over chains of supplies: on while a connected path of supplies
    // leads to a powered widget that is not a supply. Searched rather than recursed, so a loop
    // of supplies cannot keep itself on.
    std::vector<WidgetId> work{id};
    std::vector<WidgetId> seen{id};
    while (!work.empty()) {
        const WidgetId w = work.back();
        work.pop_back();
        for (PathId p : widgets_[w].sinks) {
            if (!paths_[p].connected) continue;
            const WidgetId next = paths_[p].sink;
            if (!widget_is_supply(widgets_[next].type)) {
                if (power_check(next)) return true;
            } else if (std::find(seen.begin(), seen.end(), next) == seen.end()) {
                seen.push_back(next);
                work.push_back(next);
            }
        }
    }
    return false;
}

bool DapmGraph::power_check(WidgetId id) {
    if (checked_[id]) return new_power_[id] != 0;
    ++stats_.widgets_checked;
    const DapmWidget& w = widgets_[id];
    bool on = false;
    if (w.type == WidgetType::Pre) on = false;
    else if (fixed_power(w.type)) on = true;
    else if (widget_is_supply(w.type)) on = supply_needed(id);
    else on = reaches_endpoint(id, Dir::In) && reaches_endpoint(id, Dir::Out);
    checked_[id] = 1;
    checked_list_.push_back(id);
    new_power_[id] = on ? 1 : 0;
    return on;
}

std::vector<PowerChange> DapmGraph::sync() {
    stats_ = {};
    std::vector<PowerChange> down, up;
    // dirty_list_ grows while we walk it: a widget whose power changes dirties the neighbours
    // whose power differs from its new state (dapm_widget_set_peer_power).
    for (size_t i = 0; i < dirty_list_.size(); ++i) {
        const WidgetId w = dirty_list_[i];
        const bool on = power_check(w);
        // A widget of fixed power still passes connectivity on: whatever changed next to it may
        // change what lies beyond it, so it always dirties its neighbours, and its neighbours
        // always dirty it.
        const bool fixed = fixed_power(widgets_[w].type);
        if (on == widgets_[w].power && !fixed) continue;
        auto touch = [&](WidgetId peer) {
            if (fixed || fixed_power(widgets_[peer].type) || widgets_[peer].power != on) mark_dirty(peer);
        };
        for (PathId p : widgets_[w].sources)
            if (paths_[p].connected) touch(paths_[p].source);
        if (!widget_is_supply(widgets_[w].type))
            for (PathId p : widgets_[w].sinks)
                if (paths_[p].connected) touch(paths_[p].sink);
        if (on != widgets_[w].power) (on ? up : down).push_back({w, on});
    }
    for (WidgetId w : dirty_list_) dirty_[w] = 0;
    dirty_list_.clear();
    for (WidgetId w : checked_list_) checked_[w] = 0;
    checked_list_.clear();

    auto order = [this](bool power_up) {
        return [this, power_up](const PowerChange& a, const PowerChange& b) {
            const DapmWidget& wa = widgets_[a.widget];
            const DapmWidget& wb = widgets_[b.widget];
            const int sa = power_up ? widget_up_seq(wa.type) : widget_down_seq(wa.type);
            const int sb = power_up ? widget_up_seq(wb.type) : widget_down_seq(wb.type);
            if (sa != sb) return sa < sb;
            if (wa.subseq != wb.subseq) return power_up ? wa.subseq < wb.subseq : wa.subseq > wb.subseq;
            return a.widget < b.widget;
        };
    };
    std::sort(down.begin(), down.end(), order(false));
    std::sort(up.begin(), up.end(), order(true));
    std::vector<PowerChange> applied;
    applied.reserve(down.size() + up.size());
    for (const auto& c : down) applied.push_back(c);
    for (const auto& c : up) applied.push_back(c);
    for (const auto& c : applied) {
        widgets_[c.widget].power = c.up;
        log_.push_back(c);
    }
    stats_.changed = static_cast<uint32_t>(applied.size());
    return applied;
}

std::vector<PowerChange> DapmGraph::sync_full() {
    for (auto& c : ep_cache_) std::fill(c.begin(), c.end(), int8_t{-1});
    for (WidgetId w = 0; w < widgets_.size(); ++w) mark_dirty(w);
    return sync();
}

std::vector<WidgetId> DapmGraph::walk(WidgetId from, Dir dir, const std::function<bool(WidgetId)>& stop) const {
    const uint8_t want = dir == Dir::Out ? kEpSink : kEpSource;
    std::vector<WidgetId> out{from};
    std::vector<uint8_t> seen(widgets_.size(), 0);
    seen[from] = 1;
    for (size_t i = 0; i < out.size(); ++i) {
        const WidgetId w = out[i];
        if (w != from && ((stop && stop(w)) || ((ep_flags(w) & want) && widgets_[w].pin_enabled))) continue;
        const auto& edges = dir == Dir::Out ? widgets_[w].sinks : widgets_[w].sources;
        for (PathId p : edges) {
            if (!audio_path(paths_[p])) continue;
            const WidgetId next = dir == Dir::Out ? paths_[p].sink : paths_[p].source;
            if (!seen[next]) {
                seen[next] = 1;
                out.push_back(next);
            }
        }
    }
    return out;
}

}  // namespace dynpcm
