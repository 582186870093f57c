// The pool lock: one i32 word in linear memory, so that every thread that instantiates the module
// over the same shared memory serialises on the same word.
//
//    0  unlocked
//    1  locked, nobody sleeping
//    2  locked, somebody may be sleeping (the unlocker must notify)
//
// Acquire: compare-exchange 0 -> 1 (the uncontended fast path, one atomic), then a short spin, then
// mark the word 2 and sleep until notified (a futex mutex in the style of Drepper, "Futexes Are
// Tricky"). Release: exchange to 0 and notify one sleeper if the word was 2.
//
// Why sleeping goes through an imported host function rather than memory.atomic.wait32: Node 20's
// baseline wasm compiler (Liftoff) miscompiles wait32 (locals changed before the wait are lost after
// it), and the library must be correct for a user running plain `node app.js`. The host import runs
// Atomics.wait on the same buffer; where a thread may not wait (a browser's main thread) it returns
// at once and this loop spins instead. Waking stays in wasm (memory.atomic.notify is unaffected).

// @ts-ignore: decorator
@external("env", "lockWait")
declare function lockWait(word: usize, expected: i32): void;

const UNLOCKED: i32 = 0;
const LOCKED: i32 = 1;
const CONTENDED: i32 = 2;
// Critical sections last tens of nanoseconds, while a sleep and its wake-up through the host cost
// microseconds: spinning this long first gave 2 workers 0.67x one thread's throughput, against
// 0.55x with 64 spins (bench/extras.ts, 2-core machine).
const SPIN_LIMIT: i32 = 1024;

export function lockAcquire(word: usize): void {
  if (atomic.cmpxchg<i32>(word, UNLOCKED, LOCKED) == UNLOCKED) return;
  for (let spin = 0; spin < SPIN_LIMIT; spin++) {
    if (atomic.load<i32>(word) == UNLOCKED && atomic.cmpxchg<i32>(word, UNLOCKED, LOCKED) == UNLOCKED) return;
  }
  while (atomic.xchg<i32>(word, CONTENDED) != UNLOCKED) lockWait(word, CONTENDED);
}

export function lockRelease(word: usize): void {
  if (atomic.xchg<i32>(word, UNLOCKED) == CONTENDED) atomic.notify(word, 1);
}
