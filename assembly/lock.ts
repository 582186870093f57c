// The pool lock: one i32 word in linear memory, so that every thread that instantiates the module
// over the same shared memory serialises on the same word.
//
//    0           unlocked
//    0x10cced01  locked, nobody sleeping
//    0x10cced02  locked, somebody may be sleeping (the unlocker must notify)
//
// Why the two taken states are such numbers, not 1 and 2: a word that holds neither of them nor 0
// was overwritten (a stray write into the control block), and a call that finds it traps at once
// (refuseGarbage) instead of waiting for a release that will never come. The values stray writes
// most often leave (small integers, -1, pointers, which are even) are then all refused; with 1
// and 2 as the states, a stray 1 or 2 hung every later call on that allocator. (The same cost:
// an exchange writes a constant either way.)
//
// Acquire: compare-exchange unlocked -> locked (the uncontended fast path, one atomic), then a spin
// that backs off (below), then mark the word contended and sleep until notified (a futex mutex in
// the style of Drepper, "Futexes Are Tricky"). Release: exchange to unlocked and notify one sleeper
// if the word was contended.
//
// Why sleeping goes through an imported host function rather than memory.atomic.wait32: Node 20's
// baseline wasm compiler (Liftoff) miscompiles wait32 (locals changed before the wait are lost after
// it), and the library must be correct for a user running plain `node app.js`. The host import runs
// Atomics.wait on the same buffer; where a thread may not wait (a browser's main thread) it returns
// at once, saying so, and this loop spins instead, backing off as long as it can between tries (each
// try is an exchange that takes the line from the holder). Waking stays in wasm (memory.atomic.notify
// is unaffected).

// @ts-ignore: decorator
@external("env", "lockWait")
declare function lockWait(word: usize, expected: i32, tries: i32): bool; // true: this thread may not sleep

import { CONTROL_LOCK, CONTROL_HOLDER } from "./control";

const UNLOCKED: i32 = 0;
const LOCKED: i32 = 0x10cc_ed01;
const CONTENDED: i32 = 0x10cc_ed02;
// Critical sections last tens of nanoseconds, while a sleep and its wake-up through the host cost
// microseconds: a waiter spins first, and sleeps only when the lock stays taken for about 90 us
// (SPIN_LIMIT looks, the waits between them summing to about 82,000 rounds of pause, ~1.1 ns each).
//
// Between two looks a waiter backs off, the wait doubling from BACKOFF_START to BACKOFF_LIMIT
// rounds (~70 ns to ~9 us). Why: a thread that allocates in a loop wants the lock again a few tens
// of nanoseconds after it left it. A waiter that looked all the time took it at once, every time,
// and every operation then moved the lock's line, the control block's and the caches' heads from
// one core to the other. Backing off, the holder mostly takes the lock back with those lines still
// in its caches. Aggregate malloc/free throughput on one heap (bench/extras.ts, 2-core machine,
// medians of 6 rounds, A/B interleaved): 2 workers 13.9 -> 25.5 M ops/s, 4 workers 14.6 -> 25.2,
// with one worker alone at about 26 (16..2048 rounds gave about 0.85x one worker). A waiter still
// gets its turn: it looks at least every ~9 us.
const SPIN_LIMIT: i32 = 16;
const BACKOFF_START: i32 = 64;
const BACKOFF_LIMIT: i32 = 8192;
let backoffSink: i32 = 0; // written by pause's loop, so that the optimiser keeps it

/** Burns about `rounds` x 1.1 ns without touching memory another thread writes. */
// @ts-ignore: decorator
@inline function pause(rounds: i32): void {
  let sink = backoffSink;
  for (let i = 0; i < rounds; i++) sink = sink * 31 + i;
  backoffSink = sink;
}

/**
 * A lock word that is none of the three states was overwritten (a stray write into the control
 * block): the call traps rather than wait for a release that will never come, and the host turns
 * the trap into CORRUPTION (host/trap-guard.ts). The word is left holding what was seen (put back
 * after an exchange), so every later call on that allocator is refused the same way. Checked only
 * once the first compare-exchange has failed.
 */
// @ts-ignore: decorator
@inline function refuseGarbage(word: usize, seen: i32): void {
  // Neither taken state (one compare: they are adjacent); the callers have ruled out UNLOCKED.
  if (<u32>(seen - LOCKED) > <u32>(CONTENDED - LOCKED)) {
    atomic.store<i32>(word, seen);
    unreachable();
  }
}

/**
 * Takes the lock at `word` (a control block's first word), then notes this instance's face in the
 * control block's holder word, so that a thread that outlives a holder that stopped for good (a
 * worker terminated inside a call) can take the lock over from it by name (lockTakeOver).
 */
export function lockAcquire(word: usize): void {
  acquire(word);
  store<u32>(word + HOLDER, face);
}

// @ts-ignore: decorator
@inline function acquire(word: usize): void {
  const seen = atomic.cmpxchg<i32>(word, UNLOCKED, LOCKED);
  if (seen == UNLOCKED) return;
  refuseGarbage(word, seen);
  let delay = BACKOFF_START;
  for (let spin = 0; spin < SPIN_LIMIT; spin++) {
    pause(delay);
    if (delay < BACKOFF_LIMIT) delay <<= 1;
    const now = atomic.load<i32>(word);
    if (now != UNLOCKED) refuseGarbage(word, now);
    else if (atomic.cmpxchg<i32>(word, UNLOCKED, LOCKED) == UNLOCKED) return;
  }
  // `tries` tells the host where one acquisition's waits begin, so that it can say when a single
  // acquisition has waited for seconds (a holder that was stopped inside a call never lets go).
  for (let tries = 0; ; tries++) {
    const was = atomic.xchg<i32>(word, CONTENDED);
    if (was == UNLOCKED) return;
    refuseGarbage(word, was);
    if (lockWait(word, CONTENDED, tries)) pause(BACKOFF_LIMIT);
  }
}

export function lockRelease(word: usize): void {
  store<u32>(word + HOLDER, 0);
  if (atomic.xchg<i32>(word, UNLOCKED) == CONTENDED) atomic.notify(word, 1);
}

// ─── The holder, by name ─────────────────────────────────────────────────────────────────────────
// Every instance of the module (a face: each thread makes its own) is given a random nonzero
// 32-bit name by the host (instance_set_face). The holder of a lock writes its name into the
// control block's holder word right after taking the lock and clears it right before letting go:
// plain stores, under the lock (about 1 ns of a locked operation). A thread that knows a face
// stopped for good, and that face's name, can then take the lock over: the compare-exchange below
// succeeds only while the lock is taken and the holder word still names that face, so a live
// holder is never robbed by mistake (names are random: two faces share one with odds of 2^-32), and
// of two threads taking over from one dead face, one wins. A face that stopped between taking the
// lock and writing its name, or between clearing it and letting go, could not be named: its lock
// would stay taken (LOCK_TIMEOUT the way out). V8 stops a terminated thread only where it checks
// for interrupts, at a function's entry and a loop's head, and lockAcquire and lockRelease keep
// none between their atomic and the store to the holder word (acquire is inlined, and its loops
// are left by a return): so keep them, and keep any call out of those two windows.

const HOLDER: usize = CONTROL_HOLDER - CONTROL_LOCK;
let face: u32 = 0;

/** This instance's name (instance_set_face). */
export function lockSetFace(name: u32): void {
  face = name;
}

export function lockFace(): u32 {
  return face;
}

/**
 * When the lock at `word` is taken by the face named `dead`: this instance becomes its holder
 * (true), to repair what the dead face may have left half done and release it. Else false, and
 * nothing changes.
 */
export function lockTakeOver(word: usize, dead: u32): bool {
  const state = atomic.load<i32>(word);
  if (dead == 0 || (state != LOCKED && state != CONTENDED)) return false;
  return atomic.cmpxchg<u32>(word + HOLDER, dead, face) == dead;
}
