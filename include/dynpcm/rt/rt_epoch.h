#pragma once
/// The process-wide epoch domain every realtime thread reads under (docs/CONCURRENCY.md, "One
/// way to wait for the realtime thread"), each thread's reader slot in it, and the two things
/// code does with it: run realtime work inside an RtSection, and wait_for_rt() on the control
/// side after making a change the realtime thread can see.

#include "dynpcm/rt/epoch.h"

namespace dynpcm {

/// Thread: any. Blocking: wait-free. Allocates: no.
EpochDomain& rt_epoch() noexcept;

/// The calling thread's reader slot, claimed on first use (a bounded CAS scan) and given back
/// when the thread ends. Aborts if every slot is taken: that is more realtime threads than
/// dynpcm is built for. Thread: any. Blocking: lock-free. Allocates: no, except that the first
/// call on a thread registers the thread-exit release (clock threads claim before they loop).
int rt_reader_slot() noexcept;
/// Gives the calling thread's slot back now. Thread: the slot's owner, outside any section.
void release_rt_reader_slot() noexcept;

/// A read-side section for the enclosing scope, on the calling thread's slot. Sections nest.
/// Thread: rt. Blocking: wait-free. Allocates: no.
class RtSection {
public:
    RtSection() noexcept : slot_(rt_reader_slot()) { rt_epoch().enter(slot_); }
    ~RtSection() { rt_epoch().exit(slot_); }
    RtSection(const RtSection&) = delete;
    RtSection& operator=(const RtSection&) = delete;

private:
    int slot_;
};

/// Returns once every realtime section that began before the call has ended, so whatever was
/// unpublished, stopped or cleared before the call is no longer seen by any realtime thread.
/// Thread: control (never inside a section). Blocking: yes, a short spin then a sleep, for at
/// most the sections in progress. Allocates: no.
/// Called inside a section (a control-side operation reached from the realtime thread), it
/// would wait for itself: it aborts with a message instead.
void wait_for_rt() noexcept;

}  // namespace dynpcm
