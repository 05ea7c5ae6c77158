/// DapmGraph: connectivity and endpoint rules per widget type, power sequencing, the power log,
/// incrementality, and a randomized property test of incremental sync() against sync_full() and
/// an independent reference model of the kernel's DAPM rules (sound/soc/soc-dapm.c).

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "dynpcm/dapm/graph.h"
#include "dynpcm/dapm/widget.h"

namespace dynpcm {
namespace {

constexpr uint8_t kSourceEp = 1;  // endpoint_flags bit 0
constexpr uint8_t kSinkEp = 2;    // endpoint_flags bit 1

// ---------------------------------------------------------------------------------------------
// Helpers

WidgetId W(DapmGraph& g, WidgetType t, std::string name = {}, int subseq = 0) {
    if (name.empty()) name = "w" + std::to_string(g.widget_count());
    return g.add_widget(std::move(name), t, {}, subseq);
}

PathId P(DapmGraph& g, WidgetId source, WidgetId sink, bool connected = true) {
    return g.add_path(source, sink, {}, connected);
}

bool on(const DapmGraph& g, WidgetId w) {
    return g.widget(w).power;
}

std::vector<bool> powers(const DapmGraph& g) {
    std::vector<bool> out(g.widget_count());
    for (WidgetId w = 0; w < g.widget_count(); ++w) out[w] = g.widget(w).power;
    return out;
}

/// The powers a from-scratch recomputation gives for g's current state (g is not touched).
std::vector<bool> full_recompute(const DapmGraph& g) {
    DapmGraph copy = g;
    copy.sync_full();
    return powers(copy);
}

using ChangeList = std::vector<std::pair<WidgetId, bool>>;
ChangeList as_list(const std::vector<PowerChange>& changes) {
    ChangeList out;
    for (const auto& c : changes) out.emplace_back(c.widget, c.up);
    return out;
}

std::vector<WidgetId> widgets_of(const std::vector<PowerChange>& changes) {
    std::vector<WidgetId> out;
    for (const auto& c : changes) out.push_back(c.widget);
    return out;
}

bool is_supply_type(WidgetType t) {
    return t == WidgetType::Supply || t == WidgetType::RegulatorSupply ||
           t == WidgetType::ClockSupply || t == WidgetType::Pinctrl;
}

/// Empty if `changes` obey the kernel's order (all power-downs first, by dapm_down_seq then
/// descending subseq; then power-ups by dapm_up_seq then ascending subseq), else why not.
std::string order_violation(const DapmGraph& g, const std::vector<PowerChange>& changes) {
    bool seen_up = false;
    for (size_t i = 0; i < changes.size(); ++i) {
        const PowerChange& c = changes[i];
        if (c.up) {
            seen_up = true;
        } else if (seen_up) {
            return "power-down of " + g.widget(c.widget).name + " applied after a power-up";
        }
        if (i == 0 || changes[i - 1].up != c.up) continue;
        const DapmWidget& a = g.widget(changes[i - 1].widget);
        const DapmWidget& b = g.widget(c.widget);
        const int sa = c.up ? widget_up_seq(a.type) : widget_down_seq(a.type);
        const int sb = c.up ? widget_up_seq(b.type) : widget_down_seq(b.type);
        bool ok = sa < sb;
        if (sa == sb) ok = c.up ? a.subseq <= b.subseq : a.subseq >= b.subseq;
        if (!ok)
            return std::string(c.up ? "power-up" : "power-down") + " of " + a.name + " (" +
                   std::string(widget_type_name(a.type)) + ", subseq " + std::to_string(a.subseq) +
                   ") before " + b.name + " (" + std::string(widget_type_name(b.type)) +
                   ", subseq " + std::to_string(b.subseq) + ")";
    }
    return {};
}

// ---------------------------------------------------------------------------------------------
// Reference model: the DAPM rules written out directly, with no caches and no history.
//
//  * endpoint roles from type, routes, stream activity and fully_routed;
//  * an endpoint counts only while its pin is enabled;
//  * audio flows over connected paths with no supply at either end;
//  * ordinary widgets are on when reachable from a source endpoint and reaching a sink endpoint
//    (a loop by itself reaches nothing);
//  * siggen, vmid, sink (and post) are always on, pre never;
//  * supplies are the least fixed point of "on while anything on the far end of one of its sink
//    paths is on". As in the kernel's dapm_supply_check_power, a supply path's connect state
//    is not consulted (supply paths carry no audio).

struct Reference {
    std::vector<uint8_t> flags;  // endpoint role, pin state not applied
    std::vector<bool> power;
};

uint8_t reference_flags(const DapmGraph& g, WidgetId id, bool fully_routed) {
    const DapmWidget& w = g.widget(id);
    switch (w.type) {
        case WidgetType::Mic:
        case WidgetType::Siggen:
        case WidgetType::Vmid:
            return kSourceEp;
        case WidgetType::Hp:
        case WidgetType::Spk:
        case WidgetType::Sink:
            return kSinkEp;
        case WidgetType::Line: {
            uint8_t f = 0;
            if (!w.sinks.empty()) f |= kSourceEp;
            if (!w.sources.empty()) f |= kSinkEp;
            return f;
        }
        case WidgetType::Input: {
            if (fully_routed) return 0;
            for (PathId p : w.sources) {
                const auto t = g.widget(g.path(p).source).type;
                if (t == WidgetType::Mic || t == WidgetType::Line || t == WidgetType::Micbias ||
                    t == WidgetType::Output)
                    return 0;
            }
            return kSourceEp;
        }
        case WidgetType::Output: {
            if (fully_routed) return 0;
            for (PathId p : w.sinks) {
                const auto t = g.widget(g.path(p).sink).type;
                if (t == WidgetType::Spk || t == WidgetType::Hp || t == WidgetType::Line ||
                    t == WidgetType::Input)
                    return 0;
            }
            return kSinkEp;
        }
        case WidgetType::DaiIn:
            return w.stream_active ? kSourceEp : 0;
        case WidgetType::DaiOut:
            return w.stream_active ? kSinkEp : 0;
        default:
            return 0;
    }
}

bool reference_audio(const DapmGraph& g, const DapmPath& p) {
    return p.connected && !is_supply_type(g.widget(p.source).type) &&
           !is_supply_type(g.widget(p.sink).type);
}

Reference reference_model(const DapmGraph& g, bool fully_routed) {
    const size_t n = g.widget_count();
    Reference r;
    r.flags.resize(n);
    for (WidgetId w = 0; w < n; ++w) r.flags[w] = reference_flags(g, w, fully_routed);

    // reach[0]: reachable from an enabled source endpoint; reach[1]: reaches an enabled sink one.
    std::vector<bool> reach[2];
    for (int d = 0; d < 2; ++d) {
        const uint8_t want = d == 0 ? kSourceEp : kSinkEp;
        std::vector<bool>& seen = reach[d];
        seen.assign(n, false);
        std::deque<WidgetId> queue;
        for (WidgetId w = 0; w < n; ++w)
            if ((r.flags[w] & want) && g.widget(w).pin_enabled) {
                seen[w] = true;
                queue.push_back(w);
            }
        while (!queue.empty()) {
            const WidgetId w = queue.front();
            queue.pop_front();
            const auto& edges = d == 0 ? g.widget(w).sinks : g.widget(w).sources;
            for (PathId pid : edges) {
                const DapmPath& p = g.path(pid);
                if (!reference_audio(g, p)) continue;
                const WidgetId next = d == 0 ? p.sink : p.source;
                if (!seen[next]) {
                    seen[next] = true;
                    queue.push_back(next);
                }
            }
        }
    }

    r.power.assign(n, false);
    for (WidgetId w = 0; w < n; ++w) {
        switch (g.widget(w).type) {
            case WidgetType::Pre:
                r.power[w] = false;
                break;
            case WidgetType::Post:
            case WidgetType::Siggen:
            case WidgetType::Vmid:
            case WidgetType::Sink:
                r.power[w] = true;
                break;
            default:
                r.power[w] = !is_supply_type(g.widget(w).type) && reach[0][w] && reach[1][w];
        }
    }
    for (bool changed = true; changed;) {
        changed = false;
        for (WidgetId w = 0; w < n; ++w) {
            if (!is_supply_type(g.widget(w).type) || r.power[w]) continue;
            for (PathId p : g.widget(w).sinks)
                if (g.path(p).connected && r.power[g.path(p).sink]) {
                    r.power[w] = true;
                    changed = true;
                    break;
                }
        }
    }
    return r;
}

/// Reference for walk(): the set it must list and each member's breadth-first depth.
std::vector<int> reference_walk_depths(const DapmGraph& g, const std::vector<uint8_t>& flags,
                                       WidgetId from, Dir dir,
                                       const std::function<bool(WidgetId)>& stop) {
    const uint8_t want = dir == Dir::Out ? kSinkEp : kSourceEp;
    std::vector<int> depth(g.widget_count(), -1);
    std::deque<WidgetId> queue{from};
    depth[from] = 0;
    while (!queue.empty()) {
        const WidgetId w = queue.front();
        queue.pop_front();
        if (w != from && (stop(w) || ((flags[w] & want) && g.widget(w).pin_enabled))) continue;
        const auto& edges = dir == Dir::Out ? g.widget(w).sinks : g.widget(w).sources;
        for (PathId pid : edges) {
            const DapmPath& p = g.path(pid);
            if (!reference_audio(g, p)) continue;
            const WidgetId next = dir == Dir::Out ? p.sink : p.source;
            if (depth[next] < 0) {
                depth[next] = depth[w] + 1;
                queue.push_back(next);
            }
        }
    }
    return depth;
}

// =============================================================================================
// 1. Connectivity and endpoint rules

TEST(DapmGraph, MicToSpeakerPathPowersEveryWidgetOnIt) {
    DapmGraph g;
    const auto mic = W(g, WidgetType::Mic, "Mic");
    const auto mix = W(g, WidgetType::Mixer, "Mix");
    const auto pga = W(g, WidgetType::Pga, "PGA");
    const auto spk = W(g, WidgetType::Spk, "Spk");
    const auto idle = W(g, WidgetType::Pga, "Idle");
    P(g, mic, mix);
    P(g, mix, pga);
    P(g, pga, spk);
    g.sync();
    EXPECT_TRUE(on(g, mic));
    EXPECT_TRUE(on(g, mix));
    EXPECT_TRUE(on(g, pga));
    EXPECT_TRUE(on(g, spk));
    EXPECT_FALSE(on(g, idle));
    EXPECT_TRUE(g.reaches_endpoint(mix, Dir::In));
    EXPECT_TRUE(g.reaches_endpoint(mix, Dir::Out));
    EXPECT_FALSE(g.reaches_endpoint(idle, Dir::Out));
}

TEST(DapmGraph, WidgetWithPathToSinkEndpointButNoneFromSourceEndpointStaysOff) {
    DapmGraph g;
    const auto aif = W(g, WidgetType::AifIn, "AIF");  // not an endpoint
    const auto dac = W(g, WidgetType::Dac, "DAC");
    const auto spk = W(g, WidgetType::Spk, "Spk");
    P(g, aif, dac);
    P(g, dac, spk);
    g.sync();
    EXPECT_FALSE(on(g, aif));
    EXPECT_FALSE(on(g, dac));
    EXPECT_FALSE(on(g, spk));
    EXPECT_FALSE(g.reaches_endpoint(dac, Dir::In));
    EXPECT_TRUE(g.reaches_endpoint(dac, Dir::Out));
}

TEST(DapmGraph, WidgetFedFromSourceEndpointButReachingNoSinkEndpointStaysOff) {
    DapmGraph g;
    const auto mic = W(g, WidgetType::Mic, "Mic");
    const auto adc = W(g, WidgetType::Adc, "ADC");
    const auto aif = W(g, WidgetType::AifOut, "AIF");  // not an endpoint
    P(g, mic, adc);
    P(g, adc, aif);
    g.sync();
    EXPECT_FALSE(on(g, mic));
    EXPECT_FALSE(on(g, adc));
    EXPECT_FALSE(on(g, aif));
}

TEST(DapmGraph, DisconnectingAPathPowersTheDownstreamChainOff) {
    DapmGraph g;
    const auto mic = W(g, WidgetType::Mic, "Mic");
    const auto a = W(g, WidgetType::Pga, "A");
    const auto b = W(g, WidgetType::Mixer, "B");
    const auto c = W(g, WidgetType::OutDrv, "C");
    const auto spk = W(g, WidgetType::Spk, "Spk");
    const auto first = P(g, mic, a);
    P(g, a, b);
    P(g, b, c);
    const auto last = P(g, c, spk);
    g.sync();
    for (WidgetId w : {mic, a, b, c, spk}) EXPECT_TRUE(on(g, w)) << g.widget(w).name;

    EXPECT_TRUE(g.connect_path(first, false));
    EXPECT_FALSE(g.path(first).connected);
    g.sync();
    for (WidgetId w : {mic, a, b, c, spk}) EXPECT_FALSE(on(g, w)) << g.widget(w).name;

    EXPECT_TRUE(g.connect_path(first, true));
    g.sync();
    for (WidgetId w : {mic, a, b, c, spk}) EXPECT_TRUE(on(g, w)) << g.widget(w).name;

    // Cutting the far end powers the upstream chain off the same way.
    EXPECT_TRUE(g.connect_path(last, false));
    g.sync();
    for (WidgetId w : {mic, a, b, c, spk}) EXPECT_FALSE(on(g, w)) << g.widget(w).name;
}

TEST(DapmGraph, MixerWithTwoInputsStaysOnWhileOneRemains) {
    DapmGraph g;
    const auto mic1 = W(g, WidgetType::Mic, "Mic1");
    const auto mic2 = W(g, WidgetType::Mic, "Mic2");
    const auto mix = W(g, WidgetType::Mixer, "Mix");
    const auto spk = W(g, WidgetType::Spk, "Spk");
    const auto in1 = g.add_path(mic1, mix, "Mic1 Switch", true);
    const auto in2 = g.add_path(mic2, mix, "Mic2 Switch", true);
    P(g, mix, spk);
    g.sync();
    EXPECT_TRUE(on(g, mix));

    g.connect_path(in1, false);
    g.sync();
    EXPECT_FALSE(on(g, mic1));
    EXPECT_TRUE(on(g, mic2));
    EXPECT_TRUE(on(g, mix));
    EXPECT_TRUE(on(g, spk));

    g.connect_path(in2, false);
    g.sync();
    EXPECT_FALSE(on(g, mic2));
    EXPECT_FALSE(on(g, mix));
    EXPECT_FALSE(on(g, spk));

    g.connect_path(in1, true);
    g.sync();
    EXPECT_TRUE(on(g, mic1));
    EXPECT_FALSE(on(g, mic2));
    EXPECT_TRUE(on(g, mix));
}

TEST(DapmGraph, DisabledPinsStopBeingEndpoints) {
    DapmGraph g;
    const auto mic = W(g, WidgetType::Mic, "Mic");
    const auto pga = W(g, WidgetType::Pga, "PGA");
    const auto hp = W(g, WidgetType::Hp, "HP");
    P(g, mic, pga);
    P(g, pga, hp);
    g.sync();
    ASSERT_TRUE(on(g, pga));

    EXPECT_TRUE(g.set_pin(mic, false));
    EXPECT_FALSE(g.widget(mic).pin_enabled);
    g.sync();
    EXPECT_FALSE(on(g, mic));
    EXPECT_FALSE(on(g, pga));
    EXPECT_FALSE(on(g, hp));

    EXPECT_TRUE(g.set_pin(mic, true));
    g.sync();
    EXPECT_TRUE(on(g, pga));

    EXPECT_TRUE(g.set_pin(hp, false));
    g.sync();
    EXPECT_FALSE(on(g, mic));
    EXPECT_FALSE(on(g, pga));
    EXPECT_FALSE(on(g, hp));

    EXPECT_TRUE(g.set_pin(hp, true));
    g.sync();
    EXPECT_TRUE(on(g, hp));
}

TEST(DapmGraph, DisabledEndpointIsStillAPassThrough) {
    // A disabled endpoint is an ordinary widget: audio flows through it, it just does not
    // terminate a path.
    DapmGraph g;
    const auto in = W(g, WidgetType::Input, "IN");  // source endpoint
    const auto a = W(g, WidgetType::Pga, "A");
    const auto hp = W(g, WidgetType::Hp, "HP");
    const auto b = W(g, WidgetType::Pga, "B");
    const auto spk = W(g, WidgetType::Spk, "Spk");
    P(g, in, a);
    P(g, a, hp);
    P(g, hp, b);
    const auto exit = P(g, b, spk);
    g.set_pin(hp, false);
    g.sync();
    for (WidgetId w : {in, a, hp, b, spk}) EXPECT_TRUE(on(g, w)) << g.widget(w).name;

    g.connect_path(exit, false);  // the disabled headphone does not end the path by itself
    g.sync();
    for (WidgetId w : {in, a, hp, b, spk}) EXPECT_FALSE(on(g, w)) << g.widget(w).name;

    g.set_pin(hp, true);
    g.sync();
    EXPECT_TRUE(on(g, in));
    EXPECT_TRUE(on(g, a));
    EXPECT_TRUE(on(g, hp));
    EXPECT_FALSE(on(g, b));  // fed through the headphone, but reaching no sink
}

TEST(DapmGraph, InputWidgetIsASourceEndpointOnItsOwn) {
    DapmGraph g;
    const auto in = W(g, WidgetType::Input, "IN");
    const auto pga = W(g, WidgetType::Pga, "PGA");
    const auto spk = W(g, WidgetType::Spk, "Spk");
    EXPECT_EQ(g.endpoint_flags(in), kSourceEp);
    P(g, in, pga);
    P(g, pga, spk);
    g.sync();
    EXPECT_EQ(g.endpoint_flags(in), kSourceEp);
    EXPECT_TRUE(on(g, in));
    EXPECT_TRUE(on(g, pga));
}

TEST(DapmGraph, InputFedByMicLineMicbiasOrOutputIsNotASourceEndpoint) {
    for (WidgetType feeder_type :
         {WidgetType::Mic, WidgetType::Line, WidgetType::Micbias, WidgetType::Output}) {
        SCOPED_TRACE(std::string(widget_type_name(feeder_type)));
        DapmGraph g;
        const auto feeder = W(g, feeder_type, "Feeder");
        const auto in = W(g, WidgetType::Input, "IN");
        const auto pga = W(g, WidgetType::Pga, "PGA");
        const auto spk = W(g, WidgetType::Spk, "Spk");
        // The route alone decides the role, connected or not.
        const auto feed = P(g, feeder, in, false);
        P(g, in, pga);
        P(g, pga, spk);
        EXPECT_EQ(g.endpoint_flags(in), 0);
        g.sync();
        // pga is only reachable through the input: with no source endpoint upstream it is off.
        EXPECT_FALSE(on(g, in));
        EXPECT_FALSE(on(g, pga));
        EXPECT_FALSE(on(g, spk));

        g.connect_path(feed, true);
        g.sync();
        EXPECT_EQ(g.endpoint_flags(in), 0);
        // A mic or a line that feeds something is a source endpoint itself; a micbias is not,
        // and an output is never a source endpoint.
        const bool feeder_is_source =
            feeder_type == WidgetType::Mic || feeder_type == WidgetType::Line;
        EXPECT_EQ(on(g, pga), feeder_is_source);
        EXPECT_EQ(on(g, in), feeder_is_source);
    }
}

TEST(DapmGraph, InputFedByOtherWidgetsRemainsASourceEndpoint) {
    for (WidgetType feeder_type :
         {WidgetType::Pga, WidgetType::Mixer, WidgetType::Siggen, WidgetType::Input}) {
        SCOPED_TRACE(std::string(widget_type_name(feeder_type)));
        DapmGraph g;
        const auto feeder = W(g, feeder_type, "Feeder");
        const auto in = W(g, WidgetType::Input, "IN");
        const auto pga = W(g, WidgetType::Pga, "PGA");
        const auto spk = W(g, WidgetType::Spk, "Spk");
        P(g, feeder, in, false);
        P(g, in, pga);
        P(g, pga, spk);
        g.sync();
        EXPECT_EQ(g.endpoint_flags(in), kSourceEp);
        EXPECT_TRUE(on(g, pga));
    }
}

TEST(DapmGraph, OutputWidgetIsASinkEndpointOnItsOwn) {
    DapmGraph g;
    const auto mic = W(g, WidgetType::Mic, "Mic");
    const auto pga = W(g, WidgetType::Pga, "PGA");
    const auto out = W(g, WidgetType::Output, "OUT");
    EXPECT_EQ(g.endpoint_flags(out), kSinkEp);
    P(g, mic, pga);
    P(g, pga, out);
    g.sync();
    EXPECT_EQ(g.endpoint_flags(out), kSinkEp);
    EXPECT_TRUE(on(g, pga));
    EXPECT_TRUE(on(g, out));
}

TEST(DapmGraph, OutputFeedingSpkHpLineOrInputIsNotASinkEndpoint) {
    for (WidgetType fed_type :
         {WidgetType::Spk, WidgetType::Hp, WidgetType::Line, WidgetType::Input}) {
        SCOPED_TRACE(std::string(widget_type_name(fed_type)));
        DapmGraph g;
        const auto mic = W(g, WidgetType::Mic, "Mic");
        const auto pga = W(g, WidgetType::Pga, "PGA");
        const auto out = W(g, WidgetType::Output, "OUT");
        const auto fed = W(g, fed_type, "Fed");
        P(g, mic, pga);
        P(g, pga, out);
        const auto feed = P(g, out, fed, false);
        EXPECT_EQ(g.endpoint_flags(out), 0);
        g.sync();
        EXPECT_FALSE(on(g, pga));
        EXPECT_FALSE(on(g, out));

        g.connect_path(feed, true);
        g.sync();
        const bool fed_is_sink = fed_type != WidgetType::Input;  // spk, hp and a fed line are sinks
        EXPECT_EQ(on(g, pga), fed_is_sink);
        EXPECT_EQ(on(g, out), fed_is_sink);
    }
}

TEST(DapmGraph, OutputFeedingOtherWidgetsRemainsASinkEndpoint) {
    DapmGraph g;
    const auto mic = W(g, WidgetType::Mic, "Mic");
    const auto out = W(g, WidgetType::Output, "OUT");
    const auto pga = W(g, WidgetType::Pga, "PGA");
    P(g, mic, out);
    P(g, out, pga);
    g.sync();
    EXPECT_EQ(g.endpoint_flags(out), kSinkEp);
    EXPECT_TRUE(on(g, out));
    EXPECT_FALSE(on(g, pga));  // beyond the sink endpoint nothing reaches a sink
}

TEST(DapmGraph, LineIsASourceWhenItFeedsSomethingAndASinkWhenFed) {
    DapmGraph g;
    const auto line_in = W(g, WidgetType::Line, "Line In");
    const auto line_out = W(g, WidgetType::Line, "Line Out");
    const auto line_thru = W(g, WidgetType::Line, "Line Thru");
    const auto pga = W(g, WidgetType::Pga, "PGA");
    EXPECT_EQ(g.endpoint_flags(line_in), 0);
    P(g, line_in, pga, false);
    EXPECT_EQ(g.endpoint_flags(line_in), kSourceEp);
    P(g, pga, line_out, false);
    EXPECT_EQ(g.endpoint_flags(line_out), kSinkEp);
    P(g, pga, line_thru, false);
    const auto b = W(g, WidgetType::Pga, "B");
    P(g, line_thru, b, false);
    EXPECT_EQ(g.endpoint_flags(line_thru), kSourceEp | kSinkEp);
    g.sync();
    EXPECT_FALSE(on(g, pga));

    // Connect Line In -> PGA -> Line Out: the first line acts as the source, the second as the
    // sink.
    g.connect_path(g.widget(line_in).sinks[0], true);
    g.connect_path(g.widget(line_out).sources[0], true);
    g.sync();
    EXPECT_TRUE(on(g, line_in));
    EXPECT_TRUE(on(g, pga));
    EXPECT_TRUE(on(g, line_out));
    EXPECT_FALSE(on(g, b));
}

TEST(DapmGraph, FullyRoutedCardHasNoInputOrOutputEndpoints) {
    DapmGraph g;
    const auto in = W(g, WidgetType::Input, "IN");
    const auto pga = W(g, WidgetType::Pga, "PGA");
    const auto out = W(g, WidgetType::Output, "OUT");
    P(g, in, pga);
    P(g, pga, out);
    g.sync();
    EXPECT_TRUE(on(g, pga));

    g.set_fully_routed(true);
    EXPECT_EQ(g.endpoint_flags(in), 0);
    EXPECT_EQ(g.endpoint_flags(out), 0);
    g.sync();
    EXPECT_FALSE(on(g, in));
    EXPECT_FALSE(on(g, pga));
    EXPECT_FALSE(on(g, out));

    // Inputs and outputs added afterwards obey the same rule; real endpoints still work.
    const auto in2 = W(g, WidgetType::Input, "IN2");
    EXPECT_EQ(g.endpoint_flags(in2), 0);
    const auto mic = W(g, WidgetType::Mic, "Mic");
    const auto spk = W(g, WidgetType::Spk, "Spk");
    P(g, mic, pga);
    P(g, pga, spk);
    g.sync();
    EXPECT_TRUE(on(g, pga));
    EXPECT_FALSE(on(g, out));

    g.set_fully_routed(false);
    EXPECT_EQ(g.endpoint_flags(in), kSourceEp);
    EXPECT_EQ(g.endpoint_flags(out), kSinkEp);
    g.sync();
    EXPECT_TRUE(on(g, in));
    EXPECT_TRUE(on(g, out));
}

TEST(DapmGraph, DaiInIsASourceEndpointOnlyWhileItsStreamIsActive) {
    DapmGraph g;
    const auto dai = g.add_widget("DAI In", WidgetType::DaiIn, "Playback");
    const auto dac = W(g, WidgetType::Dac, "DAC");
    const auto spk = W(g, WidgetType::Spk, "Spk");
    P(g, dai, dac);
    P(g, dac, spk);
    EXPECT_EQ(g.widget(dai).stream, "Playback");
    g.sync();
    EXPECT_EQ(g.endpoint_flags(dai), 0);
    EXPECT_FALSE(on(g, dac));

    EXPECT_TRUE(g.set_stream_active(dai, true));
    EXPECT_TRUE(g.widget(dai).stream_active);
    EXPECT_EQ(g.endpoint_flags(dai), kSourceEp);
    g.sync();
    EXPECT_TRUE(on(g, dai));
    EXPECT_TRUE(on(g, dac));
    EXPECT_TRUE(on(g, spk));

    EXPECT_TRUE(g.set_stream_active(dai, false));
    EXPECT_EQ(g.endpoint_flags(dai), 0);
    g.sync();
    EXPECT_FALSE(on(g, dai));
    EXPECT_FALSE(on(g, dac));
    EXPECT_FALSE(on(g, spk));
}

TEST(DapmGraph, DaiOutIsASinkEndpointOnlyWhileItsStreamIsActive) {
    DapmGraph g;
    const auto mic = W(g, WidgetType::Mic, "Mic");
    const auto adc = W(g, WidgetType::Adc, "ADC");
    const auto dai = g.add_widget("DAI Out", WidgetType::DaiOut, "Capture");
    P(g, mic, adc);
    P(g, adc, dai);
    g.sync();
    EXPECT_EQ(g.endpoint_flags(dai), 0);
    EXPECT_FALSE(on(g, adc));

    g.set_stream_active(dai, true);
    EXPECT_EQ(g.endpoint_flags(dai), kSinkEp);
    g.sync();
    EXPECT_TRUE(on(g, mic));
    EXPECT_TRUE(on(g, adc));
    EXPECT_TRUE(on(g, dai));

    g.set_stream_active(dai, false);
    g.sync();
    EXPECT_FALSE(on(g, mic));
    EXPECT_FALSE(on(g, adc));
    EXPECT_FALSE(on(g, dai));
}

TEST(DapmGraph, SupplyIsPoweredOnlyWhileSomethingItFeedsIsPowered) {
    DapmGraph g;
    const auto mic = W(g, WidgetType::Mic, "Mic");
    const auto pga = W(g, WidgetType::Pga, "PGA");
    const auto spk = W(g, WidgetType::Spk, "Spk");
    const auto sup = W(g, WidgetType::Supply, "Supply");
    const auto unused = W(g, WidgetType::Supply, "Unused");
    const auto in = P(g, mic, pga, false);
    P(g, pga, spk);
    const auto sp = P(g, sup, pga);
    EXPECT_TRUE(g.path(sp).supply);
    EXPECT_FALSE(g.path(in).supply);
    g.sync();
    EXPECT_FALSE(on(g, sup));

    g.connect_path(in, true);
    g.sync();
    EXPECT_TRUE(on(g, pga));
    EXPECT_TRUE(on(g, sup));
    EXPECT_FALSE(on(g, unused));

    g.connect_path(in, false);
    g.sync();
    EXPECT_FALSE(on(g, pga));
    EXPECT_FALSE(on(g, sup));
}

TEST(DapmGraph, SupplyFeedingTwoWidgetsStaysOnWhileEitherIsPowered) {
    DapmGraph g;
    const auto sup = W(g, WidgetType::Supply, "Supply");
    const auto mic = W(g, WidgetType::Mic, "Mic");
    const auto a = W(g, WidgetType::Pga, "A");
    const auto b = W(g, WidgetType::Pga, "B");
    const auto spk = W(g, WidgetType::Spk, "Spk");
    const auto to_a = P(g, mic, a);
    const auto to_b = P(g, mic, b);
    P(g, a, spk);
    P(g, b, spk);
    P(g, sup, a);
    P(g, sup, b);
    g.sync();
    EXPECT_TRUE(on(g, sup));
    g.connect_path(to_a, false);
    g.sync();
    EXPECT_FALSE(on(g, a));
    EXPECT_TRUE(on(g, sup));
    g.connect_path(to_b, false);
    g.sync();
    EXPECT_FALSE(on(g, sup));
    g.connect_path(to_a, true);
    g.sync();
    EXPECT_TRUE(on(g, sup));
}

TEST(DapmGraph, SupplyChainIsPoweredWhileTheEndConsumerIs) {
    DapmGraph g;
    const auto mic = W(g, WidgetType::Mic, "Mic");
    const auto pga = W(g, WidgetType::Pga, "PGA");
    const auto spk = W(g, WidgetType::Spk, "Spk");
    const auto ldo = W(g, WidgetType::Supply, "LDO");
    const auto bias = W(g, WidgetType::Supply, "Bias");
    const auto in = P(g, mic, pga, false);
    P(g, pga, spk);
    P(g, ldo, bias);  // supply feeding a supply feeding a pga
    P(g, bias, pga);
    g.sync();
    EXPECT_FALSE(on(g, ldo));
    EXPECT_FALSE(on(g, bias));

    g.connect_path(in, true);
    g.sync();
    EXPECT_TRUE(on(g, ldo));
    EXPECT_TRUE(on(g, bias));
    EXPECT_TRUE(on(g, pga));

    g.connect_path(in, false);
    g.sync();
    EXPECT_FALSE(on(g, ldo));
    EXPECT_FALSE(on(g, bias));
}

TEST(DapmGraph, RegulatorClockAndPinctrlSuppliesFollowTheirConsumers) {
    for (WidgetType t :
         {WidgetType::RegulatorSupply, WidgetType::ClockSupply, WidgetType::Pinctrl}) {
        SCOPED_TRACE(std::string(widget_type_name(t)));
        EXPECT_TRUE(widget_is_supply(t));
        DapmGraph g;
        const auto mic = W(g, WidgetType::Mic, "Mic");
        const auto adc = W(g, WidgetType::Adc, "ADC");
        const auto dai = g.add_widget("Capture", WidgetType::DaiOut, "Capture");
        const auto sup = W(g, t, "Sup");
        const auto sup2 = W(g, WidgetType::Supply, "Sup2");  // fed by the regulator/clock
        P(g, mic, adc);
        P(g, adc, dai);
        EXPECT_TRUE(g.path(P(g, sup, sup2)).supply);
        P(g, sup2, adc);
        g.sync();
        EXPECT_FALSE(on(g, sup));
        EXPECT_FALSE(on(g, sup2));
        g.set_stream_active(dai, true);
        g.sync();
        EXPECT_TRUE(on(g, adc));
        EXPECT_TRUE(on(g, sup2));
        EXPECT_TRUE(on(g, sup));
        g.set_stream_active(dai, false);
        g.sync();
        EXPECT_FALSE(on(g, sup2));
        EXPECT_FALSE(on(g, sup));
    }
}

TEST(DapmGraph, SupplyPathsCarryNoAudio) {
    DapmGraph g;
    const auto mic = W(g, WidgetType::Mic, "Mic");
    const auto sup = W(g, WidgetType::Supply, "Supply");
    const auto spk = W(g, WidgetType::Spk, "Spk");
    EXPECT_TRUE(g.path(P(g, mic, sup)).supply);
    EXPECT_TRUE(g.path(P(g, sup, spk)).supply);
    g.sync();
    EXPECT_FALSE(on(g, mic));
    EXPECT_FALSE(on(g, sup));
    EXPECT_FALSE(on(g, spk));
    EXPECT_FALSE(g.reaches_endpoint(sup, Dir::In));
    EXPECT_FALSE(g.reaches_endpoint(mic, Dir::Out));
}

TEST(DapmGraph, SiggenVmidAndSinkAreAlwaysOn) {
    DapmGraph g;
    const auto siggen = W(g, WidgetType::Siggen, "Siggen");
    const auto vmid = W(g, WidgetType::Vmid, "VMID");
    const auto sink = W(g, WidgetType::Sink, "Sink");
    const auto pga = W(g, WidgetType::Pga, "Lonely");
    const auto changes = g.sync();
    EXPECT_TRUE(on(g, siggen));
    EXPECT_TRUE(on(g, vmid));
    EXPECT_TRUE(on(g, sink));
    EXPECT_FALSE(on(g, pga));
    EXPECT_EQ(changes.size(), 3u);
    EXPECT_EQ(g.endpoint_flags(siggen), kSourceEp);
    EXPECT_EQ(g.endpoint_flags(vmid), kSourceEp);
    EXPECT_EQ(g.endpoint_flags(sink), kSinkEp);
}

TEST(DapmGraph, SiggenAndVmidSourceAndSinkSinksCompleteAPath) {
    DapmGraph g;
    const auto siggen = W(g, WidgetType::Siggen, "Siggen");
    const auto a = W(g, WidgetType::Pga, "A");
    const auto spk = W(g, WidgetType::Spk, "Spk");
    const auto vmid = W(g, WidgetType::Vmid, "VMID");
    const auto b = W(g, WidgetType::Mixer, "B");
    const auto sink = W(g, WidgetType::Sink, "Sink");
    const auto c = W(g, WidgetType::Pga, "C");
    P(g, siggen, a);
    P(g, a, spk);
    P(g, vmid, b);
    P(g, b, sink);
    P(g, vmid, c);  // c reaches no sink
    g.sync();
    EXPECT_TRUE(on(g, a));
    EXPECT_TRUE(on(g, spk));
    EXPECT_TRUE(on(g, b));
    EXPECT_FALSE(on(g, c));
}

TEST(DapmGraph, PreWidgetIsNeverPowered) {
    DapmGraph g;
    const auto mic = W(g, WidgetType::Mic, "Mic");
    const auto pre = W(g, WidgetType::Pre, "Pre");
    const auto spk = W(g, WidgetType::Spk, "Spk");
    const auto lone_pre = W(g, WidgetType::Pre, "Pre2");
    const auto sup = W(g, WidgetType::Supply, "Supply");
    P(g, mic, pre);
    P(g, pre, spk);
    P(g, sup, pre);
    g.sync();
    EXPECT_FALSE(on(g, pre));
    EXPECT_FALSE(on(g, lone_pre));
    EXPECT_FALSE(on(g, sup));  // its only consumer is never on
    EXPECT_TRUE(on(g, mic));   // audio still passes through it
    EXPECT_TRUE(on(g, spk));
    g.sync_full();
    EXPECT_FALSE(on(g, pre));
}

TEST(DapmGraph, CycleWithNoEndpointStaysOff) {
    DapmGraph g;
    const auto a = W(g, WidgetType::Pga, "A");
    const auto b = W(g, WidgetType::Mixer, "B");
    const auto c = W(g, WidgetType::Mux, "C");
    P(g, a, b);
    P(g, b, c);
    P(g, c, a);
    // A loop that reaches a sink but no source, and one that is fed but reaches no sink.
    const auto d = W(g, WidgetType::Pga, "D");
    const auto e = W(g, WidgetType::Pga, "E");
    const auto spk = W(g, WidgetType::Spk, "Spk");
    P(g, d, e);
    P(g, e, d);
    P(g, e, spk);
    const auto mic = W(g, WidgetType::Mic, "Mic");
    const auto f = W(g, WidgetType::Pga, "F");
    const auto h = W(g, WidgetType::Pga, "H");
    P(g, mic, f);
    P(g, f, h);
    P(g, h, f);
    g.sync();
    for (WidgetId w : {a, b, c, d, e, spk, mic, f, h}) EXPECT_FALSE(on(g, w)) << g.widget(w).name;
    EXPECT_FALSE(g.reaches_endpoint(a, Dir::In));
    EXPECT_FALSE(g.reaches_endpoint(a, Dir::Out));
    EXPECT_TRUE(g.reaches_endpoint(d, Dir::Out));
    EXPECT_FALSE(g.reaches_endpoint(d, Dir::In));
    EXPECT_TRUE(g.reaches_endpoint(h, Dir::In));
    EXPECT_FALSE(g.reaches_endpoint(h, Dir::Out));
    g.sync_full();
    for (WidgetId w : {a, b, c, d, e, spk, mic, f, h}) EXPECT_FALSE(on(g, w)) << g.widget(w).name;
}

TEST(DapmGraph, CycleOnAMicToSpeakerPathIsPowered) {
    DapmGraph g;
    const auto mic = W(g, WidgetType::Mic, "Mic");
    const auto a = W(g, WidgetType::Mixer, "A");
    const auto b = W(g, WidgetType::Pga, "B");
    const auto c = W(g, WidgetType::Mux, "C");
    const auto spk = W(g, WidgetType::Spk, "Spk");
    P(g, mic, a);
    P(g, a, b);
    P(g, b, c);
    const auto back = P(g, c, a);
    const auto exit = P(g, b, spk);
    g.sync();
    for (WidgetId w : {mic, a, b, c, spk}) EXPECT_TRUE(on(g, w)) << g.widget(w).name;

    // The loop's exit goes away: nothing in the loop reaches a sink any more.
    g.connect_path(exit, false);
    g.sync();
    for (WidgetId w : {mic, a, b, c, spk}) EXPECT_FALSE(on(g, w)) << g.widget(w).name;

    g.connect_path(exit, true);
    g.connect_path(back, false);
    g.sync();
    for (WidgetId w : {mic, a, b, spk}) EXPECT_TRUE(on(g, w)) << g.widget(w).name;
    EXPECT_FALSE(on(g, c));  // now a dead end
}

TEST(DapmGraph, SelfLoopNeitherPowersNorBlocksAWidget) {
    DapmGraph g;
    const auto mic = W(g, WidgetType::Mic, "Mic");
    const auto a = W(g, WidgetType::Mixer, "A");
    const auto spk = W(g, WidgetType::Spk, "Spk");
    const auto lone = W(g, WidgetType::Mixer, "Lone");
    P(g, mic, a);
    P(g, a, a);
    const auto exit = P(g, a, spk);
    P(g, lone, lone);
    g.sync();
    EXPECT_TRUE(on(g, a));
    EXPECT_FALSE(on(g, lone));
    g.connect_path(exit, false);
    g.sync();
    EXPECT_FALSE(on(g, a));
}

// ---- walk()

struct WalkGraph {
    DapmGraph g;
    WidgetId x, mic, a, b, c, d, spk, e, sup;
    PathId a_c;
    WalkGraph() {
        x = W(g, WidgetType::Pga, "X");
        mic = W(g, WidgetType::Mic, "Mic");
        a = W(g, WidgetType::Mixer, "A");
        b = W(g, WidgetType::Pga, "B");
        c = W(g, WidgetType::Pga, "C");
        d = W(g, WidgetType::Mixer, "D");
        spk = W(g, WidgetType::Spk, "Spk");
        e = W(g, WidgetType::Pga, "E");
        sup = W(g, WidgetType::Supply, "Supply");
        P(g, x, mic);  //          X -> Mic -> A -> B -> D -> Spk -> E
        P(g, mic, a);  //                       A -> C -> D
        P(g, a, b);    //     Supply -> A, Supply -> D
        a_c = P(g, a, c);
        P(g, b, d);
        P(g, c, d);
        P(g, d, spk);
        P(g, spk, e);
        P(g, sup, a);
        P(g, sup, d);
    }
};

TEST(DapmGraphWalk, ListsReachableWidgetsBreadthFirstAndStopsAtEndpoints) {
    WalkGraph t;
    // Spk is a sink endpoint: listed, not expanded, so E is not reached.
    EXPECT_EQ(t.g.walk(t.mic, Dir::Out), (std::vector<WidgetId>{t.mic, t.a, t.b, t.c, t.d, t.spk}));
    // Upstream from Spk: Mic is a source endpoint, so X is not reached.
    EXPECT_EQ(t.g.walk(t.spk, Dir::In), (std::vector<WidgetId>{t.spk, t.d, t.b, t.c, t.a, t.mic}));
    // Walking downstream, a source endpoint is expanded like any widget.
    EXPECT_EQ(t.g.walk(t.x, Dir::Out),
              (std::vector<WidgetId>{t.x, t.mic, t.a, t.b, t.c, t.d, t.spk}));
    // The starting widget is always expanded, endpoint or not.
    EXPECT_EQ(t.g.walk(t.spk, Dir::Out), (std::vector<WidgetId>{t.spk, t.e}));
}

TEST(DapmGraphWalk, StopWidgetsAreListedButNotExpanded) {
    WalkGraph t;
    EXPECT_EQ(t.g.walk(t.mic, Dir::Out, [&](WidgetId w) { return w == t.a; }),
              (std::vector<WidgetId>{t.mic, t.a}));
    // Stopping at B does not hide D, which is also reached through C.
    EXPECT_EQ(t.g.walk(t.mic, Dir::Out, [&](WidgetId w) { return w == t.b; }),
              (std::vector<WidgetId>{t.mic, t.a, t.b, t.c, t.d, t.spk}));
    // Stopping at both B and C hides D.
    EXPECT_EQ(t.g.walk(t.mic, Dir::Out, [&](WidgetId w) { return w == t.b || w == t.c; }),
              (std::vector<WidgetId>{t.mic, t.a, t.b, t.c}));
    // stop() does not apply to the starting widget.
    EXPECT_EQ(t.g.walk(t.a, Dir::Out, [](WidgetId) { return true; }),
              (std::vector<WidgetId>{t.a, t.b, t.c}));
}

TEST(DapmGraphWalk, DoesNotFollowDisconnectedOrSupplyPaths) {
    WalkGraph t;
    t.g.connect_path(t.a_c, false);
    EXPECT_EQ(t.g.walk(t.mic, Dir::Out), (std::vector<WidgetId>{t.mic, t.a, t.b, t.d, t.spk}));
    EXPECT_EQ(t.g.walk(t.c, Dir::In), (std::vector<WidgetId>{t.c}));
    // Supply paths are power only.
    EXPECT_EQ(t.g.walk(t.sup, Dir::Out), (std::vector<WidgetId>{t.sup}));
    for (WidgetId w : t.g.walk(t.spk, Dir::In)) EXPECT_NE(w, t.sup);
}

TEST(DapmGraphWalk, DisabledOrInactiveEndpointsDoNotStopTheWalk) {
    WalkGraph t;
    t.g.set_pin(t.spk, false);
    EXPECT_EQ(t.g.walk(t.mic, Dir::Out),
              (std::vector<WidgetId>{t.mic, t.a, t.b, t.c, t.d, t.spk, t.e}));
    t.g.set_pin(t.mic, false);
    EXPECT_EQ(t.g.walk(t.a, Dir::In), (std::vector<WidgetId>{t.a, t.mic, t.x}));

    DapmGraph g;
    const auto pga = W(g, WidgetType::Pga, "PGA");
    const auto dai = g.add_widget("DAI", WidgetType::DaiOut, "Capture");
    const auto after = W(g, WidgetType::Pga, "After");
    P(g, pga, dai);
    P(g, dai, after);
    EXPECT_EQ(g.walk(pga, Dir::Out), (std::vector<WidgetId>{pga, dai, after}));
    g.set_stream_active(dai, true);
    EXPECT_EQ(g.walk(pga, Dir::Out), (std::vector<WidgetId>{pga, dai}));
}

// =============================================================================================
// Incremental updates must reach past widgets whose own power does not follow connectivity.

TEST(DapmGraph, DisablingASiggenPinPowersOffWhatOnlyItFed) {
    DapmGraph g;
    const auto siggen = W(g, WidgetType::Siggen, "Siggen");
    const auto pga = W(g, WidgetType::Pga, "PGA");
    const auto spk = W(g, WidgetType::Spk, "Spk");
    P(g, siggen, pga);
    P(g, pga, spk);
    g.sync();
    ASSERT_TRUE(on(g, pga));
    g.set_pin(siggen, false);  // no longer an endpoint: nothing feeds the pga
    g.sync();
    EXPECT_TRUE(on(g, siggen));  // always on
    EXPECT_FALSE(on(g, pga));
    EXPECT_FALSE(on(g, spk));
    EXPECT_EQ(powers(g), full_recompute(g));
}

TEST(DapmGraph, PowerChangesPropagateThroughAlwaysOnAndPreWidgets) {
    // Mic -> U -> X -> D -> Spk, X being a widget whose own power ignores connectivity. Every
    // toggle of every path must give the same result as a full recomputation and as the rules.
    for (WidgetType x_type : {WidgetType::Siggen, WidgetType::Vmid, WidgetType::Sink,
                              WidgetType::Post, WidgetType::Pre}) {
        const std::vector<WidgetType> chain{WidgetType::Mic, WidgetType::Pga, x_type,
                                            WidgetType::Pga, WidgetType::Spk};
        for (size_t cut = 0; cut + 1 < chain.size(); ++cut) {
            SCOPED_TRACE(std::string(widget_type_name(x_type)) + ", toggling path " +
                         std::to_string(cut));
            DapmGraph g;
            std::vector<WidgetId> ws;
            std::vector<PathId> ps;
            for (size_t i = 0; i < chain.size(); ++i)
                ws.push_back(W(g, chain[i], "n" + std::to_string(i)));
            for (size_t i = 0; i + 1 < chain.size(); ++i) ps.push_back(P(g, ws[i], ws[i + 1]));
            g.sync();
            for (bool connected : {false, true}) {
                g.connect_path(ps[cut], connected);
                g.sync();
                EXPECT_EQ(powers(g), full_recompute(g))
                    << "after connect_path(" << cut << ", " << connected << ")";
                EXPECT_EQ(powers(g), reference_model(g, false).power);
            }
        }
    }
}

TEST(DapmGraph, SupplyFedThroughADisconnectedPathMatchesFullRecomputation) {
    // The supply's route to the PGA is marked disconnected. Whatever the rule for such a route,
    // incremental and full recomputation must agree. dynpcm's rule: a disconnected supply route
    // supplies nothing (the kernel's dapm_supply_check_power ignores the connect state, which
    // only a route control could change).
    DapmGraph g;
    const auto mic = W(g, WidgetType::Mic, "Mic");
    const auto pga = W(g, WidgetType::Pga, "PGA");
    const auto spk = W(g, WidgetType::Spk, "Spk");
    const auto sup = W(g, WidgetType::Supply, "Supply");
    const auto in = P(g, mic, pga, false);
    P(g, pga, spk);
    P(g, sup, pga, false);
    g.sync();
    g.connect_path(in, true);
    g.sync();
    ASSERT_TRUE(on(g, pga));
    EXPECT_FALSE(on(g, sup)) << "a disconnected supply route powered the supply";
    EXPECT_EQ(powers(g), full_recompute(g)) << "supply incremental=" << on(g, sup);
    g.connect_path(in, false);
    g.sync();
    EXPECT_EQ(powers(g), full_recompute(g)) << "supply incremental=" << on(g, sup);
}

TEST(DapmGraph, SupplyLoopDoesNotKeepItselfPowered) {
    // Two supplies feeding each other, one of them also feeding a PGA. Once the PGA is off,
    // nothing real consumes either supply; the result must not depend on history.
    auto build = [](DapmGraph& g, bool connected) {
        const auto mic = W(g, WidgetType::Mic, "Mic");
        const auto pga = W(g, WidgetType::Pga, "PGA");
        const auto spk = W(g, WidgetType::Spk, "Spk");
        const auto s1 = W(g, WidgetType::Supply, "S1");
        const auto s2 = W(g, WidgetType::Supply, "S2");
        const auto in = P(g, mic, pga, connected);
        P(g, pga, spk);
        P(g, s1, pga);
        P(g, s1, s2);
        P(g, s2, s1);
        return std::array<WidgetId, 3>{s1, s2, in};
    };
    DapmGraph g;
    const auto [s1, s2, in] = build(g, true);
    g.sync();
    ASSERT_TRUE(on(g, s1));
    ASSERT_TRUE(on(g, s2));
    g.connect_path(in, false);
    g.sync();
    EXPECT_FALSE(on(g, s1));
    EXPECT_FALSE(on(g, s2));
    g.sync_full();
    EXPECT_FALSE(on(g, s1)) << "sync_full keeps the loop on";
    EXPECT_FALSE(on(g, s2));

    DapmGraph fresh;  // same final state, no history
    build(fresh, false);
    fresh.sync();
    EXPECT_EQ(powers(g), powers(fresh));
}

// =============================================================================================
// 2. Sequencing

struct SequenceGraph {
    DapmGraph g;
    WidgetId mic, dac, mix, pga, hp, spk, sup;
    PathId in;
    SequenceGraph() {
        // Added in an order unrelated to the sequence so ids do not give the answer away.
        spk = W(g, WidgetType::Spk, "Spk");
        pga = W(g, WidgetType::Pga, "PGA");
        hp = W(g, WidgetType::Hp, "HP");
        mix = W(g, WidgetType::Mixer, "Mixer");
        sup = W(g, WidgetType::Supply, "Supply");
        dac = W(g, WidgetType::Dac, "DAC");
        mic = W(g, WidgetType::Mic, "Mic");
        in = P(g, mic, dac, false);
        P(g, dac, mix);
        P(g, mix, pga);
        P(g, pga, hp);
        P(g, pga, spk);
        P(g, sup, dac);
        g.sync();
    }
};

TEST(DapmGraphSequencing, PowerUpFollowsDapmUpSeqFromSupplyToSpeaker) {
    SequenceGraph t;
    t.g.connect_path(t.in, true);
    const auto changes = t.g.sync();
    // dapm_up_seq: supply 3, mic 6, dac 8, mixer 9, pga 10, hp 12, spk 13.
    const ChangeList expected{{t.sup, true}, {t.mic, true}, {t.dac, true}, {t.mix, true},
                              {t.pga, true}, {t.hp, true},  {t.spk, true}};
    EXPECT_EQ(as_list(changes), expected);
    EXPECT_EQ(order_violation(t.g, changes), "");
}

TEST(DapmGraphSequencing, PowerDownFollowsDapmDownSeqFromSpeakerToSupply) {
    SequenceGraph t;
    t.g.connect_path(t.in, true);
    t.g.sync();
    t.g.connect_path(t.in, false);
    const auto changes = t.g.sync();
    // dapm_down_seq: spk 4, hp 5, pga 6, mixer 7, dac 8, mic 9, supply 14.
    const ChangeList expected{{t.spk, false}, {t.hp, false},  {t.pga, false}, {t.mix, false},
                              {t.dac, false}, {t.mic, false}, {t.sup, false}};
    EXPECT_EQ(as_list(changes), expected);
    EXPECT_EQ(order_violation(t.g, changes), "");
}

TEST(DapmGraphSequencing, UpAndDownSeqNumbersAreTheKernels) {
    EXPECT_LT(widget_up_seq(WidgetType::Supply), widget_up_seq(WidgetType::Dac));
    EXPECT_LT(widget_up_seq(WidgetType::Dac), widget_up_seq(WidgetType::Mixer));
    EXPECT_LT(widget_up_seq(WidgetType::Mixer), widget_up_seq(WidgetType::Pga));
    EXPECT_LT(widget_up_seq(WidgetType::Pga), widget_up_seq(WidgetType::Hp));
    EXPECT_LT(widget_up_seq(WidgetType::Hp), widget_up_seq(WidgetType::Spk));
    EXPECT_LT(widget_down_seq(WidgetType::Spk), widget_down_seq(WidgetType::Hp));
    EXPECT_LT(widget_down_seq(WidgetType::Hp), widget_down_seq(WidgetType::Pga));
    EXPECT_LT(widget_down_seq(WidgetType::Pga), widget_down_seq(WidgetType::Mixer));
    EXPECT_LT(widget_down_seq(WidgetType::Mixer), widget_down_seq(WidgetType::Dac));
    EXPECT_LT(widget_down_seq(WidgetType::Dac), widget_down_seq(WidgetType::Supply));
    EXPECT_LT(widget_up_seq(WidgetType::RegulatorSupply), widget_up_seq(WidgetType::Supply));
    EXPECT_GT(widget_down_seq(WidgetType::RegulatorSupply), widget_down_seq(WidgetType::Supply));
}

TEST(DapmGraphSequencing, PowerDownsAreAppliedBeforePowerUps) {
    DapmGraph g;
    const auto mic_a = W(g, WidgetType::Mic, "MicA");
    const auto sup = W(g, WidgetType::Supply, "SupplyA");
    const auto pga_a = W(g, WidgetType::Pga, "PGA A");
    const auto spk_a = W(g, WidgetType::Spk, "SpkA");
    const auto mic_b = W(g, WidgetType::Mic, "MicB");
    const auto pga_b = W(g, WidgetType::Pga, "PGA B");
    const auto spk_b = W(g, WidgetType::Spk, "SpkB");
    const auto in_a = P(g, mic_a, pga_a, true);
    P(g, pga_a, spk_a);
    P(g, sup, pga_a);
    const auto in_b = P(g, mic_b, pga_b, false);
    P(g, pga_b, spk_b);
    g.sync();
    g.connect_path(in_b, true);
    g.connect_path(in_a, false);
    const auto changes = g.sync();
    const ChangeList expected{{spk_a, false}, {pga_a, false}, {mic_a, false}, {sup, false},
                              {mic_b, true},  {pga_b, true},  {spk_b, true}};
    EXPECT_EQ(as_list(changes), expected);
    EXPECT_EQ(order_violation(g, changes), "");
}

TEST(DapmGraphSequencing, SubseqOrdersWidgetsOfTheSameTypeAscendingUpDescendingDown) {
    DapmGraph g;
    const auto mic = W(g, WidgetType::Mic, "Mic");
    const auto pga2 = W(g, WidgetType::Pga, "PGA sub2", 2);
    const auto pga0 = W(g, WidgetType::Pga, "PGA sub0", 0);
    const auto pga1 = W(g, WidgetType::Pga, "PGA sub1", 1);
    // subseq only breaks ties: a mixer with a large subseq still goes before any pga on the way up.
    const auto mix = W(g, WidgetType::Mixer, "Mixer sub9", 9);
    const auto spk = W(g, WidgetType::Spk, "Spk");
    for (WidgetId p : {pga2, pga0, pga1}) {
        P(g, mix, p);
        P(g, p, spk);
    }
    P(g, mic, mix);
    g.set_pin(spk, false);
    g.sync();

    g.set_pin(spk, true);
    const auto up = g.sync();
    EXPECT_EQ(widgets_of(up), (std::vector<WidgetId>{mic, mix, pga0, pga1, pga2, spk}));
    EXPECT_EQ(order_violation(g, up), "");

    g.set_pin(spk, false);
    const auto down = g.sync();
    EXPECT_EQ(widgets_of(down), (std::vector<WidgetId>{spk, pga2, pga1, pga0, mix, mic}));
    EXPECT_EQ(order_violation(g, down), "");
}

// =============================================================================================
// 3. Power log and return values

TEST(DapmGraphPowerLog, SyncReturnsExactlyWhatItAppendsToThePowerLog) {
    SequenceGraph t;  // its constructor synced once with nothing powered
    EXPECT_TRUE(t.g.power_log().empty());
    t.g.connect_path(t.in, true);
    const auto up = t.g.sync();
    ASSERT_EQ(up.size(), 7u);
    EXPECT_EQ(as_list(t.g.power_log()), as_list(up));
    EXPECT_EQ(t.g.last_sync().changed, 7u);

    t.g.connect_path(t.in, false);
    const auto down = t.g.sync();
    ASSERT_EQ(t.g.power_log().size(), up.size() + down.size());
    const std::vector<PowerChange> tail(
        t.g.power_log().begin() + static_cast<std::ptrdiff_t>(up.size()), t.g.power_log().end());
    EXPECT_EQ(as_list(tail), as_list(down));

    t.g.clear_power_log();
    EXPECT_TRUE(t.g.power_log().empty());
    t.g.connect_path(t.in, true);
    const auto again = t.g.sync();
    EXPECT_EQ(as_list(again), as_list(t.g.power_log()));
}

TEST(DapmGraphPowerLog, SyncWithNothingDirtyReturnsNothing) {
    SequenceGraph t;
    t.g.connect_path(t.in, true);
    EXPECT_FALSE(t.g.sync().empty());
    const size_t logged = t.g.power_log().size();
    EXPECT_TRUE(t.g.sync().empty());
    EXPECT_EQ(t.g.last_sync().widgets_checked, 0u);
    EXPECT_EQ(t.g.last_sync().changed, 0u);
    EXPECT_EQ(t.g.power_log().size(), logged);
    // A full recomputation of an up-to-date graph finds nothing to change either.
    EXPECT_TRUE(t.g.sync_full().empty());
    EXPECT_EQ(t.g.power_log().size(), logged);
}

TEST(DapmGraphPowerLog, StateChangesReturnFalseWhenNothingChanges) {
    DapmGraph g;
    const auto mic = W(g, WidgetType::Mic, "Mic");
    const auto dai = g.add_widget("DAI", WidgetType::DaiOut, "Capture");
    const auto p = P(g, mic, dai, true);
    g.sync();
    EXPECT_FALSE(g.connect_path(p, true));
    EXPECT_FALSE(g.set_pin(mic, true));
    EXPECT_FALSE(g.set_stream_active(dai, false));
    EXPECT_TRUE(g.sync().empty());
    EXPECT_EQ(g.last_sync().widgets_checked, 0u);

    EXPECT_TRUE(g.connect_path(p, false));
    EXPECT_FALSE(g.connect_path(p, false));
    EXPECT_TRUE(g.set_pin(mic, false));
    EXPECT_FALSE(g.set_pin(mic, false));
    EXPECT_TRUE(g.set_stream_active(dai, true));
    EXPECT_FALSE(g.set_stream_active(dai, true));
}

TEST(DapmGraphPowerLog, SyncReportsOnlyWidgetsWhosePowerFlipped) {
    SequenceGraph t;
    t.g.connect_path(t.in, true);
    t.g.sync();
    const auto before = powers(t.g);
    // Disconnect and reconnect before syncing: nothing changes in the end.
    t.g.connect_path(t.in, false);
    t.g.connect_path(t.in, true);
    EXPECT_TRUE(t.g.sync().empty());
    EXPECT_EQ(powers(t.g), before);
}

// =============================================================================================
// 4. Incrementality

TEST(DapmGraphIncremental, TogglingOnePathInALargeGraphChecksOnlyNearbyWidgets) {
    constexpr int kChains = 2000;
    DapmGraph g;
    const auto sup = W(g, WidgetType::Supply, "Shared Supply");
    std::vector<PathId> inputs;
    std::vector<WidgetId> pgas;
    for (int i = 0; i < kChains; ++i) {
        const auto s = std::to_string(i);
        const auto mic = W(g, WidgetType::Mic, "Mic " + s);
        const auto pga = W(g, WidgetType::Pga, "PGA " + s);
        const auto spk = W(g, WidgetType::Spk, "Spk " + s);
        inputs.push_back(P(g, mic, pga));
        P(g, pga, spk);
        P(g, sup, pga);
        pgas.push_back(pga);
    }
    ASSERT_EQ(g.widget_count(), static_cast<size_t>(3 * kChains + 1));
    const auto initial = g.sync();
    EXPECT_EQ(initial.size(), g.widget_count());
    EXPECT_GE(g.last_sync().widgets_checked, g.widget_count());

    for (int chain : {0, 1234, kChains - 1}) {
        SCOPED_TRACE("chain " + std::to_string(chain));
        const auto idx = static_cast<size_t>(chain);
        g.connect_path(inputs[idx], false);
        const auto down = g.sync();
        EXPECT_EQ(down.size(), 3u);  // mic, pga, spk
        EXPECT_FALSE(on(g, pgas[idx]));
        EXPECT_TRUE(on(g, sup));
        EXPECT_LT(g.last_sync().widgets_checked, 20u);
        EXPECT_LT(g.last_sync().walk_steps, 20u);

        g.connect_path(inputs[idx], true);
        const auto up = g.sync();
        EXPECT_EQ(up.size(), 3u);
        EXPECT_TRUE(on(g, pgas[idx]));
        EXPECT_LT(g.last_sync().widgets_checked, 20u);
        EXPECT_LT(g.last_sync().walk_steps, 20u);
    }

    EXPECT_TRUE(g.sync_full().empty());
    EXPECT_EQ(g.last_sync().widgets_checked, g.widget_count());
}

// =============================================================================================
// 5. Property test: incremental sync() against sync_full() and the reference model.

struct TypeEntry {
    WidgetType type;
    const char* cpp;
};
constexpr std::array<TypeEntry, 38> kAllTypes{{
    {WidgetType::Mic, "Mic"},
    {WidgetType::Line, "Line"},
    {WidgetType::Hp, "Hp"},
    {WidgetType::Spk, "Spk"},
    {WidgetType::Siggen, "Siggen"},
    {WidgetType::Sink, "Sink"},
    {WidgetType::AifIn, "AifIn"},
    {WidgetType::AifOut, "AifOut"},
    {WidgetType::DaiIn, "DaiIn"},
    {WidgetType::DaiOut, "DaiOut"},
    {WidgetType::DaiLink, "DaiLink"},
    {WidgetType::Mixer, "Mixer"},
    {WidgetType::MixerNamedCtl, "MixerNamedCtl"},
    {WidgetType::Mux, "Mux"},
    {WidgetType::Demux, "Demux"},
    {WidgetType::Switch, "Switch"},
    {WidgetType::Pga, "Pga"},
    {WidgetType::OutDrv, "OutDrv"},
    {WidgetType::Adc, "Adc"},
    {WidgetType::Dac, "Dac"},
    {WidgetType::Supply, "Supply"},
    {WidgetType::RegulatorSupply, "RegulatorSupply"},
    {WidgetType::ClockSupply, "ClockSupply"},
    {WidgetType::Pinctrl, "Pinctrl"},
    {WidgetType::Micbias, "Micbias"},
    {WidgetType::Vmid, "Vmid"},
    {WidgetType::Input, "Input"},
    {WidgetType::Output, "Output"},
    {WidgetType::Virtual, "Virtual"},
    {WidgetType::Pre, "Pre"},
    {WidgetType::Post, "Post"},
    {WidgetType::Buffer, "Buffer"},
    {WidgetType::Scheduler, "Scheduler"},
    {WidgetType::Effect, "Effect"},
    {WidgetType::Src, "Src"},
    {WidgetType::Asrc, "Asrc"},
    {WidgetType::Encoder, "Encoder"},
    {WidgetType::Decoder, "Decoder"},
}};
static_assert(kAllTypes.size() == static_cast<size_t>(kWidgetTypeCount));

const char* cpp_name(WidgetType t) {
    for (const auto& e : kAllTypes)
        if (e.type == t) return e.cpp;
    return "?";
}

TEST(DapmGraphProperty, TypeTableCoversEveryWidgetType) {
    std::set<int> values;
    for (const auto& e : kAllTypes) {
        values.insert(static_cast<int>(e.type));
        EXPECT_EQ(parse_widget_type(widget_type_name(e.type)), e.type) << e.cpp;
    }
    EXPECT_EQ(values.size(), kAllTypes.size());
    EXPECT_EQ(*values.begin(), 0);
    EXPECT_EQ(*values.rbegin(), kWidgetTypeCount - 1);
}

enum class OpKind : uint8_t {
    AddWidget,
    AddPath,
    Connect,
    SetPin,
    SetStream,
    FullyRouted,
    SyncOnly
};

/// One step of a random scenario. Widgets and paths are named by creation ordinal (the n-th
/// add_widget / add_path of the original scenario), so ops can be dropped when shrinking.
struct Op {
    OpKind kind = OpKind::Connect;
    uint32_t id = 0;  // AddWidget / AddPath: ordinal created
    uint32_t a =
        0;  // AddPath: source ordinal; Connect: path ordinal; SetPin/SetStream: widget ordinal
    uint32_t b = 0;  // AddPath: sink ordinal
    WidgetType type = WidgetType::Virtual;
    int subseq = 0;
    bool flag = false;  // connected / enabled / active / fully routed
    bool sync_after = true;
};

const char* bool_str(bool b) {
    return b ? "true" : "false";
}

std::string op_cpp(const Op& op) {
    std::ostringstream s;
    switch (op.kind) {
        case OpKind::AddWidget:
            s << "auto w" << op.id << " = g.add_widget(\"w" << op.id
              << "\", WidgetType::" << cpp_name(op.type) << ", \"\", " << op.subseq << ");";
            break;
        case OpKind::AddPath:
            s << "auto p" << op.id << " = g.add_path(w" << op.a << ", w" << op.b << ", \"\", "
              << bool_str(op.flag) << ");";
            break;
        case OpKind::Connect:
            s << "g.connect_path(p" << op.a << ", " << bool_str(op.flag) << ");";
            break;
        case OpKind::SetPin:
            s << "g.set_pin(w" << op.a << ", " << bool_str(op.flag) << ");";
            break;
        case OpKind::SetStream:
            s << "g.set_stream_active(w" << op.a << ", " << bool_str(op.flag) << ");";
            break;
        case OpKind::FullyRouted:
            s << "g.set_fully_routed(" << bool_str(op.flag) << ");";
            break;
        case OpKind::SyncOnly:
            return "g.sync();";
    }
    if (op.sync_after) s << " g.sync();";
    return s.str();
}

std::string op_compact(const Op& op) {
    std::ostringstream s;
    const char* f = op.flag ? "+" : "-";
    switch (op.kind) {
        case OpKind::AddWidget:
            s << "W" << op.id << ":" << widget_type_name(op.type) << "/" << op.subseq;
            break;
        case OpKind::AddPath:
            s << "P" << op.id << ":" << op.a << ">" << op.b << f;
            break;
        case OpKind::Connect:
            s << "C" << op.a << f;
            break;
        case OpKind::SetPin:
            s << "N" << op.a << f;
            break;
        case OpKind::SetStream:
            s << "S" << op.a << f;
            break;
        case OpKind::FullyRouted:
            s << "F" << f;
            break;
        case OpKind::SyncOnly:
            break;
    }
    if (op.sync_after) s << "|";
    return s.str();
}

std::string ops_cpp(const std::vector<Op>& ops) {
    std::string out = "    DapmGraph g;\n";
    for (const auto& op : ops) out += "    " + op_cpp(op) + "\n";
    return out;
}

std::string ops_compact(const std::vector<Op>& ops) {
    std::string out, line;
    for (const auto& op : ops) {
        line += op_compact(op) + " ";
        if (line.size() > 100) {
            out += "    " + line + "\n";
            line.clear();
        }
    }
    if (!line.empty()) out += "    " + line + "\n";
    return out;
}

class Rng {
  public:
    explicit Rng(uint32_t seed) : gen_(seed) {}
    uint32_t below(size_t n) {  // uniform in [0, n)
        return std::uniform_int_distribution<uint32_t>(0, static_cast<uint32_t>(n - 1))(gen_);
    }
    int between(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(gen_); }
    bool chance(int percent) { return between(0, 99) < percent; }

  private:
    std::mt19937 gen_;
};

/// A random scenario: a random graph, then 30-60 random operations each followed by a sync.
std::vector<Op> generate_scenario(uint32_t seed) {
    Rng rng(seed);
    std::vector<Op> ops;
    std::vector<WidgetType> types;  // by widget ordinal
    std::vector<bool> pin, active;  // by widget ordinal
    std::vector<bool> connected;    // by path ordinal
    bool fully_routed = false;

    static constexpr std::array<WidgetType, 20> kCommon{
        WidgetType::Mic,         WidgetType::Line,
        WidgetType::Hp,          WidgetType::Spk,
        WidgetType::Input,       WidgetType::Output,
        WidgetType::Pga,         WidgetType::Mixer,
        WidgetType::Mux,         WidgetType::Dac,
        WidgetType::Adc,         WidgetType::AifIn,
        WidgetType::DaiIn,       WidgetType::DaiOut,
        WidgetType::Supply,      WidgetType::RegulatorSupply,
        WidgetType::ClockSupply, WidgetType::Micbias,
        WidgetType::Siggen,      WidgetType::Sink};
    auto pick_type = [&] {
        return rng.chance(50) ? kAllTypes[rng.below(kAllTypes.size())].type
                              : kCommon[rng.below(kCommon.size())];
    };
    auto add_widget = [&](bool sync_after) {
        Op op;
        op.kind = OpKind::AddWidget;
        op.id = static_cast<uint32_t>(types.size());
        op.type = pick_type();
        op.subseq = rng.chance(70) ? 0 : rng.between(-2, 2);
        op.sync_after = sync_after;
        types.push_back(op.type);
        pin.push_back(true);
        active.push_back(false);
        ops.push_back(op);
        return op.id;
    };
    std::vector<uint32_t> spine;  // path ordinals on deliberately built source-to-sink routes
    auto add_path = [&](uint32_t src, uint32_t dst, bool sync_after) {
        Op op;
        op.kind = OpKind::AddPath;
        op.id = static_cast<uint32_t>(connected.size());
        op.a = src;
        op.b = dst;
        op.flag = rng.chance(75);
        op.sync_after = sync_after;
        connected.push_back(op.flag);
        ops.push_back(op);
        return op.id;
    };
    auto random_widget = [&] { return rng.below(types.size()); };
    auto random_pair = [&](uint32_t& src, uint32_t& dst) {
        src = random_widget();
        dst = random_widget();
        // Self-loops are allowed, but rarely.
        if (src == dst && types.size() > 1 && !rng.chance(10))
            while (dst == src) dst = random_widget();
    };

    // ---- the initial graph
    const int n = rng.between(5, 60);
    for (int i = 0; i < n; ++i) add_widget(false);
    const int m = rng.between(n / 2, 2 * n);
    for (int i = 0; i < m; ++i) {
        uint32_t src = 0, dst = 0;
        random_pair(src, dst);
        add_path(src, dst, false);
    }
    // A few routes from a source-like widget to a sink-like one through random widgets, so that
    // toggling their paths powers real chains (and the cycles and supplies around them) up and
    // down.
    static constexpr std::array<WidgetType, 6> kSourceLike{WidgetType::Mic,    WidgetType::Line,
                                                           WidgetType::Input,  WidgetType::DaiIn,
                                                           WidgetType::Siggen, WidgetType::Vmid};
    static constexpr std::array<WidgetType, 6> kSinkLike{WidgetType::Spk,    WidgetType::Hp,
                                                         WidgetType::Line,   WidgetType::Output,
                                                         WidgetType::DaiOut, WidgetType::Sink};
    auto find_or_add = [&](const auto& like) {
        std::vector<uint32_t> found;
        for (uint32_t w = 0; w < types.size(); ++w)
            if (std::find(like.begin(), like.end(), types[w]) != like.end()) found.push_back(w);
        if (!found.empty() && rng.chance(80)) return found[rng.below(found.size())];
        const uint32_t w = random_widget();  // retype one: nothing has been replayed yet
        types[w] = like[rng.below(like.size())];
        ops[w].type = types[w];  // the first ops are the add_widget calls, in order
        return w;
    };
    for (int routes = rng.between(1, 4); routes > 0; --routes) {
        uint32_t at = find_or_add(kSourceLike);
        for (int hops = rng.between(1, 5); hops > 0; --hops) {
            const uint32_t next = random_widget();
            spine.push_back(add_path(at, next, false));
            at = next;
        }
        spine.push_back(add_path(at, find_or_add(kSinkLike), false));
    }
    for (int rings = rng.chance(70) ? rng.between(1, 3) : 0; rings > 0; --rings) {
        const int len = rng.between(2, 5);
        std::vector<uint32_t> ring;
        for (int i = 0; i < len; ++i) ring.push_back(random_widget());
        for (size_t i = 0; i < ring.size(); ++i)
            add_path(ring[i], ring[(i + 1) % ring.size()], false);
    }
    for (uint32_t w = 0; w < types.size(); ++w) {
        if (rng.chance(8)) {
            ops.push_back({OpKind::SetPin, 0, w, 0, WidgetType::Virtual, 0, false, false});
            pin[w] = false;
        }
        const bool dai = types[w] == WidgetType::DaiIn || types[w] == WidgetType::DaiOut;
        if (dai && rng.chance(50)) {
            ops.push_back({OpKind::SetStream, 0, w, 0, WidgetType::Virtual, 0, true, false});
            active[w] = true;
        }
    }
    if (rng.chance(10)) {
        ops.push_back({OpKind::FullyRouted, 0, 0, 0, WidgetType::Virtual, 0, true, false});
        fully_routed = true;
    }
    ops.back().sync_after = true;

    // ---- random operations, each followed by a sync
    const int steps = rng.between(30, 60);
    for (int i = 0; i < steps; ++i) {
        const int r = rng.between(0, 99);
        Op op;
        if (r < 52 && !connected.empty()) {
            op.kind = OpKind::Connect;
            op.a = !spine.empty() && rng.chance(50) ? spine[rng.below(spine.size())]
                                                    : rng.below(connected.size());
            op.flag =
                r < 45 ? !connected[op.a] : connected[op.a];  // mostly toggles, sometimes no-ops
            connected[op.a] = op.flag;
        } else if (r < 64) {
            op.kind = OpKind::SetPin;
            op.a = random_widget();
            op.flag = rng.chance(80) ? !pin[op.a] : pin[op.a];
            pin[op.a] = op.flag;
        } else if (r < 80) {
            std::vector<uint32_t> streams;
            for (uint32_t w = 0; w < types.size(); ++w)
                if (types[w] == WidgetType::DaiIn || types[w] == WidgetType::DaiOut ||
                    types[w] == WidgetType::AifIn || types[w] == WidgetType::AifOut)
                    streams.push_back(w);
            op.kind = OpKind::SetStream;
            op.a = streams.empty() ? random_widget() : streams[rng.below(streams.size())];
            op.flag = rng.chance(85) ? !active[op.a] : active[op.a];
            active[op.a] = op.flag;
        } else if (r < 90) {
            uint32_t src = 0, dst = 0;
            random_pair(src, dst);
            add_path(src, dst, true);
            continue;
        } else if (r < 97) {
            const uint32_t w = add_widget(true);
            for (int k = rng.between(0, 2); k > 0; --k) {
                const uint32_t other = random_widget();
                if (rng.chance(50))
                    add_path(w, other, true);
                else
                    add_path(other, w, true);
            }
            continue;
        } else {
            op.kind = OpKind::FullyRouted;
            fully_routed = !fully_routed;
            op.flag = fully_routed;
        }
        op.sync_after = true;
        ops.push_back(op);
    }
    return ops;
}

enum class Check : uint8_t {
    Incremental,  // sync() against sync_full() on an identical graph, plus sync()'s contract
    Reference,    // sync_full() against the reference model, endpoint_flags and walk()
};

struct Failure {
    size_t op_index = 0;
    std::string what;
};

/// Replays `ops` on two graphs, syncing one incrementally and the other with sync_full() at
/// every sync point, and checks the property `check`. Ops whose widgets or paths were dropped
/// (when shrinking) are skipped.
std::optional<Failure> run_scenario(const std::vector<Op>& ops, Check check) {
    DapmGraph inc, full;
    bool fully_routed = false;
    uint32_t max_w = 0, max_p = 0;
    for (const auto& op : ops) {
        if (op.kind == OpKind::AddWidget) max_w = std::max(max_w, op.id + 1);
        if (op.kind == OpKind::AddPath) max_p = std::max(max_p, op.id + 1);
    }
    std::vector<std::optional<WidgetId>> wmap(max_w);
    std::vector<std::optional<PathId>> pmap(max_p);
    auto widget_ok = [&](uint32_t ord) { return ord < wmap.size() && wmap[ord].has_value(); };
    auto wname = [&](WidgetId w) {
        return inc.widget(w).name + " (" + std::string(widget_type_name(inc.widget(w).type)) + ")";
    };

    for (size_t i = 0; i < ops.size(); ++i) {
        const Op& op = ops[i];
        auto fail = [&](const std::string& what) {
            return Failure{i, "after op #" + std::to_string(i) + " [" + op_cpp(op) + "]: " + what};
        };
        std::optional<bool> expected_change;
        std::optional<bool> returned_inc, returned_full;
        switch (op.kind) {
            case OpKind::AddWidget: {
                const std::string name = "w" + std::to_string(op.id);
                wmap[op.id] = inc.add_widget(name, op.type, {}, op.subseq);
                full.add_widget(name, op.type, {}, op.subseq);
                break;
            }
            case OpKind::AddPath: {
                if (!widget_ok(op.a) || !widget_ok(op.b)) break;
                pmap[op.id] = inc.add_path(*wmap[op.a], *wmap[op.b], {}, op.flag);
                full.add_path(*wmap[op.a], *wmap[op.b], {}, op.flag);
                break;
            }
            case OpKind::Connect: {
                if (op.a >= pmap.size() || !pmap[op.a]) break;
                const PathId p = *pmap[op.a];
                expected_change = inc.path(p).connected != op.flag;
                returned_inc = inc.connect_path(p, op.flag);
                returned_full = full.connect_path(p, op.flag);
                break;
            }
            case OpKind::SetPin: {
                if (!widget_ok(op.a)) break;
                const WidgetId w = *wmap[op.a];
                expected_change = inc.widget(w).pin_enabled != op.flag;
                returned_inc = inc.set_pin(w, op.flag);
                returned_full = full.set_pin(w, op.flag);
                break;
            }
            case OpKind::SetStream: {
                if (!widget_ok(op.a)) break;
                const WidgetId w = *wmap[op.a];
                expected_change = inc.widget(w).stream_active != op.flag;
                returned_inc = inc.set_stream_active(w, op.flag);
                returned_full = full.set_stream_active(w, op.flag);
                break;
            }
            case OpKind::FullyRouted:
                inc.set_fully_routed(op.flag);
                full.set_fully_routed(op.flag);
                fully_routed = op.flag;
                break;
            case OpKind::SyncOnly:
                break;
        }
        if (check == Check::Incremental && expected_change && *returned_inc != *expected_change)
            return fail(std::string("state change returned ") + bool_str(*returned_inc));
        if (!op.sync_after) continue;

        const std::vector<bool> before = powers(inc);
        const size_t logged = inc.power_log().size();
        const auto changes = inc.sync();
        full.sync_full();
        const size_t n = inc.widget_count();

        if (check == Check::Incremental) {
            for (WidgetId w = 0; w < n; ++w)
                if (inc.widget(w).power != full.widget(w).power)
                    return fail(wname(w) + ": incremental sync() says " +
                                (inc.widget(w).power ? "on" : "off") + ", sync_full() says " +
                                (full.widget(w).power ? "on" : "off"));
            std::vector<bool> reported(n, false);
            for (const auto& c : changes) {
                if (reported[c.widget]) return fail(wname(c.widget) + " reported twice");
                reported[c.widget] = true;
                if (before[c.widget] == c.up)
                    return fail(wname(c.widget) + " reported without a power flip");
            }
            for (WidgetId w = 0; w < n; ++w)
                if (!reported[w] && before[w] != inc.widget(w).power)
                    return fail(wname(w) + " flipped unreported");
            if (const auto v = order_violation(inc, changes); !v.empty()) return fail(v);
            if (inc.power_log().size() != logged + changes.size() ||
                !std::equal(changes.begin(), changes.end(),
                            inc.power_log().begin() + static_cast<std::ptrdiff_t>(logged),
                            [](const PowerChange& x, const PowerChange& y) {
                                return x.widget == y.widget && x.up == y.up;
                            }))
                return fail("power_log() tail differs from what sync() returned");
            if (inc.last_sync().changed != changes.size())
                return fail("last_sync().changed is wrong");
            if (!inc.sync().empty()) return fail("a second sync() still changed something");
        } else {
            const Reference ref = reference_model(full, fully_routed);
            for (WidgetId w = 0; w < n; ++w) {
                if (full.endpoint_flags(w) != ref.flags[w])
                    return fail(wname(w) + ": endpoint_flags " +
                                std::to_string(full.endpoint_flags(w)) + ", reference " +
                                std::to_string(ref.flags[w]));
                if (full.widget(w).power != ref.power[w])
                    return fail(wname(w) + ": sync_full() says " +
                                (full.widget(w).power ? "on" : "off") +
                                ", the reference model says " + (ref.power[w] ? "on" : "off"));
            }
            // walk() from one widget each way, with a pseudo-random stop set.
            if (n == 0) continue;
            const WidgetId from = static_cast<WidgetId>((i * 7919u) % n);
            auto stop = [&](WidgetId w) { return (w * 31u + i) % 5u == 0u; };
            for (Dir dir : {Dir::Out, Dir::In}) {
                const auto got = full.walk(from, dir, stop);
                const auto depth = reference_walk_depths(full, ref.flags, from, dir, stop);
                const auto dir_name = std::string(dir == Dir::Out ? "Out" : "In");
                size_t expected_count = 0;
                for (int d : depth) expected_count += d >= 0 ? 1u : 0u;
                bool ok = !got.empty() && got.front() == from && got.size() == expected_count;
                std::vector<bool> listed(n, false);
                for (size_t k = 0; ok && k < got.size(); ++k) {
                    ok = got[k] < n && !listed[got[k]] && depth[got[k]] >= 0 &&
                         (k == 0 || depth[got[k - 1]] <= depth[got[k]]);
                    if (ok) listed[got[k]] = true;
                }
                if (!ok)
                    return fail("walk(" + wname(from) + ", " + dir_name +
                                ") is not the reference breadth-first walk");
            }
        }
    }
    return std::nullopt;
}

/// Rewrites ops that refer to a dropped widget or path (which run_scenario skips) as plain
/// sync points, or drops them if they had no sync, so the printed scenario compiles.
std::vector<Op> normalize(const std::vector<Op>& ops) {
    std::set<uint32_t> widgets, paths;
    std::vector<Op> out;
    for (Op op : ops) {
        bool ok = true;
        switch (op.kind) {
            case OpKind::AddWidget:
                widgets.insert(op.id);
                break;
            case OpKind::AddPath:
                ok = widgets.count(op.a) && widgets.count(op.b);
                if (ok) paths.insert(op.id);
                break;
            case OpKind::Connect:
                ok = paths.count(op.a) != 0;
                break;
            case OpKind::SetPin:
            case OpKind::SetStream:
                ok = widgets.count(op.a) != 0;
                break;
            case OpKind::FullyRouted:
            case OpKind::SyncOnly:
                break;
        }
        if (!ok) {
            if (!op.sync_after) continue;
            op = Op{};
            op.kind = OpKind::SyncOnly;
        }
        out.push_back(op);
    }
    return out;
}

/// Drops ops (chunks, then single ones) and sync points while the scenario still fails the
/// same check. Bounded so a failing run stays quick.
std::vector<Op> shrink(std::vector<Op> ops, Check check) {
    int budget = 4000;
    auto still_fails = [&](const std::vector<Op>& candidate) {
        --budget;
        return run_scenario(candidate, check).has_value();
    };
    for (size_t chunk = std::max<size_t>(ops.size() / 2, 1); chunk >= 1 && budget > 0; chunk /= 2) {
        bool removed = true;
        while (removed && budget > 0) {
            removed = false;
            for (size_t start = 0; start < ops.size() && budget > 0;) {
                std::vector<Op> candidate(ops.begin(),
                                          ops.begin() + static_cast<std::ptrdiff_t>(start));
                const size_t end = std::min(ops.size(), start + chunk);
                candidate.insert(candidate.end(), ops.begin() + static_cast<std::ptrdiff_t>(end),
                                 ops.end());
                if (!candidate.empty() && still_fails(candidate)) {
                    ops = std::move(candidate);
                    removed = true;
                } else {
                    start += chunk;
                }
            }
        }
        if (chunk == 1) break;
    }
    for (size_t i = 0; i + 1 < ops.size() && budget > 0; ++i) {
        if (!ops[i].sync_after) continue;
        ops[i].sync_after = false;
        if (!still_fails(ops)) ops[i].sync_after = true;
    }
    return ops;
}

void run_property(Check check, uint32_t first_seed, uint32_t seeds) {
    int failures = 0;
    std::string first_report;
    for (uint32_t seed = first_seed; seed < first_seed + seeds; ++seed) {
        const auto ops = generate_scenario(seed);
        const auto failure = run_scenario(ops, check);
        if (!failure) continue;
        if (++failures > 1) continue;
        const auto small = normalize(shrink(ops, check));
        const auto small_failure = run_scenario(small, check);
        std::ostringstream r;
        r << "seed " << seed << " (generate_scenario(" << seed << "), " << ops.size()
          << " ops) fails " << failure->what
          << "\n  full operation list (W=add_widget P=add_path C=connect_path N=set_pin"
          << " S=set_stream_active F=set_fully_routed, |=sync):\n"
          << ops_compact(ops) << "  shrunk to " << small.size() << " ops, which fail "
          << (small_failure ? small_failure->what : std::string("(no longer fails?)")) << ":\n"
          << ops_cpp(small);
        first_report = r.str();
    }
    EXPECT_EQ(failures, 0) << failures << " of " << seeds << " random scenarios fail. First:\n"
                           << first_report;
}

TEST(DapmGraphProperty, IncrementalSyncMatchesFullRecomputationOnRandomGraphs) {
    run_property(Check::Incremental, 1, 300);
}

TEST(DapmGraphProperty, FullRecomputationMatchesTheReferenceModelOnRandomGraphs) {
    run_property(Check::Reference, 1001, 300);
}

}  // namespace
}  // namespace dynpcm
