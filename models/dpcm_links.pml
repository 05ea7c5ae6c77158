/*
 * dpcm_links.pml -- SPIN model of dynpcm's FE->BE link publication protocol and of the
 * per-BE SerialExecutor (flat combining), for 2 FEs x 2 BEs.
 *
 * What is modelled (src/dpcm/dpcm.cpp, include/dynpcm/rt/{epoch,serial_executor}.h):
 *
 *  - Control (one process: the card mutex serialises control operations) runs NOPS link
 *    toggles, each a nondeterministically chosen (FE, BE) pair:
 *      connect:    own BE exec; be_startup (client, users); be_reconcile to the FE's state;
 *                  leave; publish(new set); reconcile every BE of the new set.
 *      disconnect: publish(new set); own BE exec; be_shutdown = STOP for that FE, drop the
 *                  client, close on the last user; leave; reconcile every BE of the new set.
 *    publish = exchange the FE's set pointer, EpochDomain::synchronize() (epoch++, then wait
 *    for every reader slot to be 0 or >= the new epoch), free the old set.
 *  - One RT process per FE (own epoch reader slot): an xrun sets the FE state to stopped,
 *    enters the epoch section, loads the FE's set, and for each link dereferences the set and
 *    posts STOP to that BE's executor: own it if free (run what is queued, then the STOP),
 *    else push to its queue and try to own it once (never waits), run the queue if it got
 *    it; then exits the section.
 *  - SerialExecutor: a bounded queue per BE (a channel), an `owned` flag taken by test-and-
 *    set. drain_and_leave: run the queue, release, then (MODE != 2) re-check the queue and
 *    take ownership again if something is there.
 *  - BE bookkeeping is per FE: role[BE][FE] Idle/Running, be_start = number of Running roles,
 *    the BE's hardware runs iff be_start > 0. STOP of an Idle role is a no-op, so a stale or
 *    repeated STOP cannot count twice.
 *
 * SPIN explores interleavings under sequential consistency: this checks the protocol. The
 * C++ memory ordering of the same code (the seq_cst fences) is checked by Relacy
 * (tests/model/relacy_*.cpp).
 *
 * State-space economy: steps that touch only owner-private data (BE bookkeeping, a popped
 * command and its execution) or control-private data (choosing the link, building a set not
 * yet published) are grouped with atomic { }: no other process can observe the intermediate
 * states, so no behaviour is lost. Every access to shared protocol state (set pointers, freed
 * flags, epoch and slots, queue, owned flag, FE state) is a separate step.
 *
 * MODE 0: the real protocol                  -> must verify (errors: 0)
 * MODE 1: no grace period (free at once)     -> a reader dereferences a freed set
 * MODE 2: the owner does not re-check        -> a posted STOP is never executed
 *
 * Run: spin -DMODE=n -a dpcm_links.pml && gcc -O2 -DSAFETY -o pan pan.c && ./pan
 */

#ifndef MODE
#define MODE 0
#endif
#ifndef NOPS
#define NOPS 2            /* control link toggles (NOPS=3: ~12M states, ~12 s) */
#endif

#define NFE 2
#define NBE 2
#define NSET (2 + NOPS)   /* set objects: 2 initial + one per publish; never reused */
#define IDLE 0
#define RUN 1
#define R(b, f) ((b) * NFE + (f))
#define HAS(s, b) (((set_be[s] >> (b)) & 1) == 1)

/* LinkSets: immutable once published. */
byte set_be[NSET];        /* bitmask of the BEs in the set */
bool freed[NSET];
byte nsets;
byte published[NFE];      /* FeStream::published */

/* EpochDomain: one reader slot per RT process. */
byte epoch = 1;
byte slot_epoch[NFE];     /* Slot::active: 0 outside; else the epoch read at entry */

/* SerialExecutor per BE. */
chan q[NBE] = [NFE] of { byte };  /* a STOP command carries its FE; one per RT per BE at most */
bool owned[NBE];
byte owner[NBE];          /* _pid of the owner: checks that commands run only as the owner */
byte posted[NBE];
byte executed[NBE];

/* BeStream state, touched only by the executor's owner. */
byte role[NBE * NFE];
byte be_start[NBE];
bool be_hw[NBE];          /* the BE's hardware is running */
byte clients[NBE];        /* bitmask of FEs */
byte users[NBE];

/* FE state (FeStream::state): running, until its RT process's xrun stops it. */
bool fe_run[NFE];

/* ---- BE bookkeeping ------------------------------------------------------------------- */

/* The per-BE counts match the roles; a role implies a client. */
inline check_counts(b) {
    atomic {
        assert(be_start[b] == (role[R(b, 0)] == RUN -> 1 : 0) + (role[R(b, 1)] == RUN -> 1 : 0));
        assert(be_hw[b] == (be_start[b] > 0 -> 1 : 0));
        assert(role[R(b, 0)] == IDLE || (clients[b] & 1));
        assert(role[R(b, 1)] == IDLE || (clients[b] & 2))
    }
}

/* BeStream::apply(STOP) for FE f. Only the executor's owner may run it. */
inline apply_stop(b, f) {
    atomic {
        assert(owned[b] && owner[b] == _pid);
        if
        :: role[R(b, f)] == RUN ->
            role[R(b, f)] = IDLE;
            be_start[b]--;
            if
            :: be_start[b] == 0 -> be_hw[b] = 0
            :: else -> skip
            fi
        :: else -> skip   /* stale or repeated: no double count */
        fi;
        check_counts(b)
    }
}

/* BeStream::apply(START) for FE f. */
inline apply_start(b, f) {
    atomic {
        assert(owned[b] && owner[b] == _pid);
        if
        :: role[R(b, f)] == IDLE ->
            role[R(b, f)] = RUN;
            be_start[b]++;
            be_hw[b] = 1
        :: else -> skip
        fi;
        check_counts(b)
    }
}

/* ---- SerialExecutor -------------------------------------------------------------------- */

/* try_own(): one compare-and-swap, never waits. */
inline try_own(b, got) {
    atomic {
        if
        :: !owned[b] -> owned[b] = 1; owner[b] = _pid; got = 1
        :: else -> got = 0
        fi
    }
}

/* run(): control may wait for the current owner. */
inline own(b) {
    atomic { !owned[b] -> owned[b] = 1; owner[b] = _pid }
}

/* drain(): run everything queued, as the owner. */
inline drain(b, c) {
    do
    :: atomic { q[b]?c -> executed[b]++; apply_stop(b, c) }
    :: empty(q[b]) -> break
    od
}

/* drain_and_leave(): run everything queued, let go, re-check (unless MODE 2). */
inline drain_and_leave(b, c, got) {
    do
    :: true ->
        drain(b, c);
        atomic { owned[b] = 0; owner[b] = 0 };   /* store(owned_, false, release) */
#if MODE == 2
        break
#else
        if
        :: len(q[b]) == 0 -> break   /* empty_hint() */
        :: else ->
            try_own(b, got);
            if
            :: got -> skip            /* we own it again: drain once more */
            :: else -> break          /* the new owner runs it */
            fi
        fi
#endif
    od
}

/* post(): if nobody owns the executor, run as the owner: what is queued first, then this
 * command (the fast path). Otherwise push, then try to own once. Never waits. */
inline post(b, f, c, got) {
    try_own(b, got);
    if
    :: got ->
        drain(b, c);
        atomic { posted[b]++; executed[b]++; apply_stop(b, f) };
        drain_and_leave(b, c, got)
    :: else ->
        assert(nfull(q[b]));          /* the queue is sized for the worst case: nothing dropped */
        atomic { q[b]!f; posted[b]++ };
        try_own(b, got);
        if
        :: got -> drain_and_leave(b, c, got)
        :: else -> skip
        fi
    fi
}

/* ---- Control ---------------------------------------------------------------------------- */

/* be_reconcile(): as the owner, bring BE b's view of FE f to the FE's current state. */
inline reconcile(b, f) {
    if
    :: fe_run[f] && role[R(b, f)] == IDLE -> apply_start(b, f)
    :: !fe_run[f] && role[R(b, f)] == RUN -> apply_stop(b, f)
    :: else -> check_counts(b)
    fi
}

/* publish(): swap the set in, wait for a grace period, free the old set. */
inline publish(f, s, old, i, target) {
    published[f] = s;                 /* exchange(seq_cst) */
#if MODE != 1
    epoch++;                          /* synchronize(): fetch_add(epoch) */
    target = epoch;
    i = 0;
    do
    :: i < NFE ->
        (slot_epoch[i] == 0 || slot_epoch[i] >= target);   /* wait for readers that entered before */
        i++
    :: else -> break
    od;
#endif
    freed[old] = 1                    /* delete old */
}

proctype Control() {
    byte op, f, b, s, old, i, target, c, got, x;
    do
    :: op < NOPS ->
        atomic {   /* control-private: pick the link to toggle, build the new (unpublished) set */
            if
            :: f = 0
            :: f = 1
            fi;
            if
            :: b = 0
            :: b = 1
            fi;
            old = published[f];
            s = nsets;
            nsets++;
            set_be[s] = set_be[old] ^ (1 << b)
        };
        if
        :: HAS(s, b) ->
            /* connect: startup and reconcile before the rt path can see the BE */
            own(b);
            clients[b] = clients[b] | (1 << f);
            users[b]++;
            reconcile(b, f);
            drain_and_leave(b, c, got);
            publish(f, s, old, i, target)
        :: else ->
            /* disconnect: unpublish, grace period, then stop and close for this FE */
            publish(f, s, old, i, target);
            own(b);
            apply_stop(b, f);
            clients[b] = clients[b] & ~(1 << f);
            users[b]--;
            drain_and_leave(b, c, got)
        fi;
        /* the trigger rule: bring every BE of the new set to the FE's current state */
        x = 0;
        do
        :: x < NBE ->
            if
            :: HAS(s, x) -> own(x); reconcile(x, f); drain_and_leave(x, c, got)
            :: else -> skip
            fi;
            x++
        :: else -> break
        od;
        op++
    :: else -> break
    od
}

/* ---- RT: the interrupt path's xrun stop (fe_trigger_rt) ---------------------------------- */

proctype Rt(byte f) {
    byte s, b, c, got;
    bool has;
    fe_run[f] = 0;                    /* FE state -> STOP before the walk */
    slot_epoch[f] = epoch;                /* enter(): announce the epoch ... */
    s = published[f];                 /* ... then load the set (acquire) */
    assert(!freed[s]);                /* read set->count */
    b = 0;
    do
    :: b < NBE ->
        atomic { assert(!freed[s]); has = HAS(s, b) }   /* read set->links[i] */
        if
        :: has -> post(b, f, c, got)
        :: else -> skip
        fi;
        b++
    :: else -> break
    od;
    slot_epoch[f] = 0                     /* exit() */
}

init {
    byte b, f;
    atomic {
        /* FE0 -> {BE0, BE1}, FE1 -> {BE1}; both FEs running, every link started. */
        set_be[0] = 3; published[0] = 0;
        set_be[1] = 2; published[1] = 1;
        nsets = 2;
        fe_run[0] = 1; fe_run[1] = 1;
        role[R(0, 0)] = RUN;
        role[R(1, 0)] = RUN;
        role[R(1, 1)] = RUN;
        be_start[0] = 1; be_start[1] = 2;
        be_hw[0] = 1; be_hw[1] = 1;
        clients[0] = 1; clients[1] = 3;
        users[0] = 1; users[1] = 2;
        run Control();
        run Rt(0);
        run Rt(1)
    }
    (_nr_pr == 1);                    /* everything else has terminated */
    b = 0;
    do
    :: b < NBE ->
        /* no posted command was lost, and nobody still owns the executor */
        assert(posted[b] == executed[b]);
        assert(len(q[b]) == 0);
        assert(!owned[b]);
        check_counts(b);
        f = 0;
        do
        :: f < NFE ->
            /* BE b runs for FE f iff f is running and b is in f's published set */
            assert((role[R(b, f)] == RUN) == (fe_run[f] && HAS(published[f], b)));
            assert(((clients[b] >> f) & 1) == (HAS(published[f], b) -> 1 : 0));
            f++
        :: else -> break
        od;
        assert(users[b] == ((clients[b] & 1) + ((clients[b] >> 1) & 1)));
        b++
    :: else -> break
    od;
    f = 0;
    do
    :: f < NFE -> assert(!freed[published[f]]); f++
    :: else -> break
    od
}
