/*
 * fe_trigger.pml -- SPIN model of an FE's DPCM state moved from two sides: a control-side
 * trigger (a pause release) and the interrupt path's stop (an xrun, a device gone), with the
 * BE's per-FE role behind the BE's executor (src/dpcm/fe_fanout.cpp: fe_trigger and
 * fe_trigger_rt; src/dpcm/streams.h: BeStream::apply).
 *
 * One FE, paused on one BE. Control releases the pause: it reads the FE's state, moves it
 * PAUSED -> START, applies PAUSE_RELEASE to the BE as its executor's owner, then reconciles
 * the BE's role with the FE's current state (be_reconcile). The interrupt path stops the FE
 * once -- the device is gone, so the stop is final -- and posts STOP to the BE's executor
 * (push, try to own it once, run the queue if it got it; SerialExecutor::post).
 *
 * At the end the FE must be STOP and the BE's role for it IDLE: a disconnected FE never keeps
 * a BE running (defect 10 of the hardening issue).
 *
 * MODE 0: compare-and-swap on both sides (the real protocol)  -> must verify
 * MODE 1: plain load and store (before the fix)                 -> must fail
 * In MODE 0 a control trigger whose CAS fails gives up (the interrupt path stopped the FE
 * under it); in MODE 1 the control side's START overwrites the interrupt path's STOP.
 *
 * Run: spin -DMODE=n -a fe_trigger.pml && gcc -O2 -DSAFETY -o pan pan.c && ./pan
 */

#ifndef MODE
#define MODE 0
#endif

#define START 1
#define PAUSED 2
#define STOP 3
#define IDLE 0
#define RUN 1
#define PAUSE 2

byte fe = PAUSED;     /* FeStream::state */
byte role = PAUSE;    /* BeStream::role[fe]: touched only by the executor's owner */
bool owned;           /* SerialExecutor::owned_ */
chan q = [1] of { byte };

/* BeStream::apply, as the executor's owner. START stands for PAUSE_RELEASE and for the
 * reconciliation's START alike: both make the role RUN. */
inline apply(cmd) {
    atomic {
        assert(owned);
        if
        :: cmd == STOP -> role = IDLE
        :: cmd == START -> role = RUN
        fi
    }
}

inline own() { atomic { !owned -> owned = 1 } }
inline try_own(got) {
    atomic {
        if
        :: !owned -> owned = 1; got = 1
        :: else -> got = 0
        fi
    }
}
inline drain_and_leave(c, got) {
    do
    :: true ->
        do
        :: atomic { q?c -> apply(c) }
        :: empty(q) -> break
        od;
        owned = 0;
        if
        :: len(q) == 0 -> break
        :: else ->
            try_own(got);
            if
            :: got -> skip
            :: else -> break
            fi
        fi
    od
}

/* be_reconcile: bring the role to the FE's state, as the owner. */
inline reconcile(c, got) {
    own();
    atomic {
        if
        :: fe == START -> role = RUN
        :: fe == STOP -> role = IDLE
        :: fe == PAUSED && role == RUN -> role = PAUSE
        :: else -> skip
        fi
    };
    drain_and_leave(c, got)
}

proctype Control() {
    byte s, c, got;
    bool moved;
    s = fe;                     /* the state the runtime decided on */
    if
    :: s == PAUSED ->
#if MODE == 1
        fe = START; moved = 1;
#else
        atomic {
            if
            :: fe == PAUSED -> fe = START; moved = 1
            :: else -> moved = 0     /* the interrupt path stopped it: give up */
            fi
        };
#endif
        if
        :: moved -> own(); apply(START); drain_and_leave(c, got)
        :: else -> skip
        fi
    :: else -> skip
    fi;
    reconcile(c, got)
}

proctype Rt() {
    byte c, got;
#if MODE == 1
    byte s;
    s = fe;                     /* load ... */
    fe = STOP;                  /* ... then store */
#else
    atomic { fe = STOP };       /* the CAS loop always lands: a stop from here wins */
#endif
    q!STOP;
    try_own(got);
    if
    :: got -> drain_and_leave(c, got)
    :: else -> skip
    fi
}

init {
    atomic {
        run Control();
        run Rt()
    };
    (_nr_pr == 1);
    assert(fe == STOP);
    assert(role == IDLE);
    assert(!owned && len(q) == 0)
}
