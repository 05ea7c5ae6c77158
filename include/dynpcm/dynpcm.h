#pragma once
/// Umbrella header: everything public in dynpcm.

#include "dynpcm/core/result.h"
#include "dynpcm/core/thread_role.h"
#include "dynpcm/core/wait_word.h"
#include "dynpcm/pcm/format.h"
#include "dynpcm/pcm/hardware.h"
#include "dynpcm/pcm/hw_params.h"
#include "dynpcm/pcm/interval.h"
#include "dynpcm/pcm/pcm_runtime.h"
#include "dynpcm/pcm/recover.h"
#include "dynpcm/pcm/state.h"
#include "dynpcm/pcm/sw_params.h"
#include "dynpcm/rt/event_queue.h"
#include "dynpcm/sim/sim_clock.h"
#include "dynpcm/sim/sim_dma.h"
#include "dynpcm/version.h"
