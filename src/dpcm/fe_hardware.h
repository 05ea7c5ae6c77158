#pragma once
// FeHardware: what an FE's PcmRuntime sees as its hardware. Its DMA (moved by the data path)
// plus the fan-out of every operation to the FE's BEs, in the kernel's order
// (fe_fanout.cpp). Not a public header.

#include "dpcm/streams.h"

namespace dynpcm::detail {

/// The FE's "hardware": its DMA (moved by the data path), plus the fan-out of every
/// operation to its BEs, in the kernel's order.
class FeHardware final : public PcmHardware {
public:
    FeHardware(Dpcm::Impl& d, FeStream& f) : d_(d), f_(f) {}

    Result<void> hw_params(const HwParams& p) override {
        auto lk = d_.lock();
        d_.service();
        return d_.fe_hw_params(f_, p);
    }
    Result<void> hw_free() override {
        auto lk = d_.lock();
        d_.service();
        return d_.fe_hw_free(f_);
    }
    Result<void> prepare() override {
        auto lk = d_.lock();
        d_.service();
        return d_.fe_prepare(f_);
    }
    int trigger(TriggerCmd cmd) noexcept override {
        // Control-side triggers serialise with runtime updates on the card lock, so they are
        // never deferred and report only what has actually run.
        auto lk = d_.lock();
        d_.service();
        return d_.fe_trigger(f_, cmd);
    }
    int trigger_rt(TriggerCmd cmd) noexcept override {
        d_.fe_trigger_rt(f_, cmd);
        return 0;
    }
    Frames pointer() noexcept override { return f_.dma.pointer(); }
    int64_t now_ns() noexcept override { return f_.dma.now_ns(); }
    Frames delay() noexcept override { return f_.dma.delay(); }
    void attach(PcmRuntime& r) override { f_.dma.attach(r); }
    void detach(PcmRuntime& r) override { f_.dma.detach(r); }

private:
    Dpcm::Impl& d_;
    FeStream& f_;
};

}  // namespace dynpcm::detail
