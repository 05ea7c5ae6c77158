#pragma once
/// Named points where tests can stop a thread to force an interleaving. They exist only when
/// the library is built with DYNPCM_TEST_HOOKS (the test builds); otherwise they compile to
/// nothing and the production paths carry no trace of them.

#include <cstdint>

namespace dynpcm::test {

enum class Point : uint8_t {
    /// The interrupt path has read a link from an FE's published BE set and not yet used it.
    /// `id`: the FE stream (Dpcm::fe_id).
    RtAfterLinkRead,
    /// The control path has published a new BE set and is about to wait for the grace period.
    ControlBeforeGrace,
    /// The control path owns a BE's executor, in the middle of that BE's hw_params.
    ControlOwnsBe,
    /// The interrupt path has finished an FE's trigger fan-out.
    RtAfterFanOut,
    /// A SimClock's realtime thread holds a timer it loaded from the clock's list and is about
    /// to service it. `id`: the timer's slot on the clock.
    ClockHoldsTimer,
    /// Dpcm::close has released the card lock and is about to destroy the FE's old runtime.
    ControlCloseBeforeDestroy,
    /// A control-side FE trigger has read the FE's DPCM state and not yet moved it.
    ControlFeTrigger,
    /// An FE's hw_free reaches its own DMA (`id`: the FE) or one of its BEs (`id`: the BE).
    ControlFeHwFree,
    ControlBeHwFree,
    /// Dpcm::put is about to wait for the fades its update began (real time). `id`: 0.
    ControlSettling,
    /// The alsa backend is about to call alsa-lib for something that may block: drop, prepare,
    /// start, pause, resume, or a prefill write (not an rt transfer). `id`: 0.
    BackendDeviceCall,
};

/// `id` identifies the FE stream, BE stream or timer the point is about. The hook may block
/// (that is its purpose).
using Hook = void (*)(Point point, uint32_t id, void* context);

/// Installs (or, with nullptr, removes) the hook. Thread: any. Returns false when the library
/// was built without DYNPCM_TEST_HOOKS.
bool set_hook(Hook hook, void* context) noexcept;

/// How many times the interrupt path read a link from a retired (poisoned) set. Only the
/// unprotected test mode retires sets while they may still be read, so anything but 0 is the
/// use-after-free the protocol exists to prevent. Thread: any.
uint64_t retired_link_reads() noexcept;

}  // namespace dynpcm::test
