// The stack allocator: linear bump allocation over a fixed pool, freed in LIFO order only.
//
// Control block (the same first words and statistics record as the heap's, see control.ts):
//
//    stack + 0    i32 lock             see lock.ts
//    stack + 4    u32 state            STACK_READY while usable, ALLOCATOR_DESTROYED after destroy
//    stack + 8    u32 poolStart        first byte of the pool
//    stack + 12   u32 poolEnd          one past the last byte
//    stack + 16   u32 top              first byte not in use
//    stack + 20   u32 last             payload of the most recent block, 0 when empty
//    stack + 24   u32 depth            blocks on the stack
//    stack + 28   u32 alignment        default payload alignment
//    stack + 60   u32 holder           the face holding the lock (lock.ts), as a heap's
//    stack + 64   stats record         see stats.ts
//    stack + 128  pool
//
// A block is a 16-byte header right before its payload, then the payload; alignment padding goes
// before the header, so the header always sits at payload - 16:
//
//    previous top ─┐
//                  ▼ padding │ prevTop │ prevLast │ requested │ tag │ payload ... │ ▲ top
//                              u32       u32        u32         u32                (8-aligned)
//
//    prevTop    where the top stood before this push: a pop restores it exactly, padding included
//    prevLast   the payload of the block below, so a pop knows the new most recent block
//    tag        STACK_MAGIC ^ payload: a pointer that is not a block start does not match
//
// Invariants: poolStart <= top <= poolEnd; depth == 0 exactly when last == 0; following prevLast
// from `last` visits depth blocks at strictly decreasing addresses. push and pop are O(1); a pop
// checks the header it is about to trust (lastBlockHolds) and reports CORRUPTION rather than follow
// a header a stray write changed. The statistics are counted inline (stats.ts countAllocation,
// countFree): a push/pop pair of the lifo trace went from 162 to 140 machine instructions an
// operation (valgrind, as bench/instructions.ts counts the heap), for 80 bytes of code. Then the
// pop's check read each header word once and made one branch of its tests (144 -> 125, counted
// again), and push and pop were inlined into their exports, which have no free index to settle
// (-> 117, of which the replay loop takes 27: `npm run bench:functions -- --workload lifo --stack`):
// 9.6 -> 7.1 ns an operation in a wasm loop, where dlmalloc's heap takes 7.8.

import { alignUp } from "./block";
import { CONTROL_STATE, CONTROL_STATS, CONTROL_SIZE, ADDRESS_LIMIT, PAGE_SIZE } from "./control";
import { statsClear, countAllocation, countFree, statsOnFailure, statsOnFreeAll, statsRecount } from "./stats";
import { ERR_INVALID_POINTER, ERR_STACK_ORDER, ERR_STACK_EMPTY, ERR_DESTROYED, ERR_CORRUPTION, errorResult } from "./errors";

export const STACK_POOL_START: usize = 8;
export const STACK_POOL_END: usize = 12;
export const STACK_TOP: usize = 16;
export const STACK_LAST: usize = 20;
export const STACK_DEPTH: usize = 24;
export const STACK_ALIGNMENT: usize = 28;
export const STACK_READY: u32 = 0x5354434b; // "STCK"

const HEADER: usize = 16;
const PREV_TOP: usize = 0;
const PREV_LAST: usize = 4;
const REQUESTED: usize = 8;
const TAG: usize = 12;
export const STACK_MAGIC: u32 = 0x57ac4b1d;

// @ts-ignore: decorator
@inline function field(stack: usize, offset: usize): usize { return load<u32>(stack + offset); }
// @ts-ignore: decorator
@inline function setField(stack: usize, offset: usize, value: usize): void { store<u32>(stack + offset, <u32>value); }
// @ts-ignore: decorator
@inline function isReady(stack: usize): bool { return load<u32>(stack + CONTROL_STATE) == STACK_READY; }

export function stackInit(stack: usize, poolBytes: u32, alignment: u32): u32 {
  if (alignment < 8 || alignment > 4096 || (alignment & (alignment - 1)) != 0) return errorResult(ERR_INVALID_POINTER);
  const start = stack + CONTROL_SIZE;
  const end = <u64>start + (poolBytes & ~7);
  if (end > ADDRESS_LIMIT) return errorResult(ERR_INVALID_POINTER);
  const have = <u64>memory.size() * PAGE_SIZE;
  if (end > have && memory.grow(<i32>((end - have + PAGE_SIZE - 1) / PAGE_SIZE)) < 0) return errorResult(ERR_INVALID_POINTER);
  memory.fill(stack, 0, CONTROL_SIZE);
  statsClear(stack + CONTROL_STATS);
  setField(stack, STACK_POOL_START, start);
  setField(stack, STACK_POOL_END, <usize>end);
  setField(stack, STACK_TOP, start);
  setField(stack, STACK_ALIGNMENT, <usize>alignment);
  store<u32>(stack + CONTROL_STATE, STACK_READY);
  return 0;
}

/** The new block's payload, 0 when the pool is full, or an error result. Inlined into its exports. */
// @ts-ignore: decorator
@inline export function stackPush(stack: usize, requested: u32, alignment: u32): usize {
  if (!isReady(stack)) return errorResult(ERR_DESTROYED);
  const defaultAlignment = field(stack, STACK_ALIGNMENT);
  const align: usize = <usize>alignment > defaultAlignment ? <usize>alignment : defaultAlignment;
  const top: usize = field(stack, STACK_TOP);
  const payload = <u64>alignUp(top + HEADER, align);
  const end = (payload + requested + 7) & ~7;
  if (end > <u64>field(stack, STACK_POOL_END) || align > 65536) {
    statsOnFailure(stack + CONTROL_STATS);
    return 0;
  }
  const ptr = <usize>payload;
  store<u32>(ptr - HEADER, <u32>top, PREV_TOP);
  store<u32>(ptr - HEADER, <u32>field(stack, STACK_LAST), PREV_LAST);
  store<u32>(ptr - HEADER, requested, REQUESTED);
  store<u32>(ptr - HEADER, STACK_MAGIC ^ <u32>ptr, TAG);
  setField(stack, STACK_TOP, <usize>end);
  setField(stack, STACK_LAST, ptr);
  setField(stack, STACK_DEPTH, field(stack, STACK_DEPTH) + 1);
  countAllocation(stack + CONTROL_STATS, requested);
  return ptr;
}

/**
 * O(1): does the header of `block`, the `index`-th block from the top (0: the most recent), hold?
 * Its tag, the block under `ceiling` (the top it must lie below: the stack's, or the one the block
 * above it was pushed at), a previous top below it and inside the pool, a previous block below it
 * (none only for the bottom one). Checked before a pop or a reset trusts it, so a header overwritten
 * by a stray write is reported as CORRUPTION instead of sending the top somewhere wrong.
 *
 * Every test is ORed into one branch and each header word read once (see the file's head).
 */
// @ts-ignore: decorator
@inline function blockHolds(stack: usize, block: usize, ceiling: usize, index: u32): bool {
  const low = field(stack, STACK_POOL_START) + HEADER; // the lowest payload a block can have
  if ((<u32>(block < low) | <u32>(block > ceiling) | <u32>(block & 7)) != 0) return false;
  const header = block - HEADER;
  const prevTop: usize = load<u32>(header, PREV_TOP);
  const prevLast: usize = load<u32>(header, PREV_LAST);
  const below = prevLast == 0
    ? <u32>(<usize>index + 1 != field(stack, STACK_DEPTH))
    : <u32>(prevLast >= block) | <u32>(prevLast < low);
  return ((load<u32>(header, TAG) ^ STACK_MAGIC ^ <u32>block) |
    <u32>(prevTop < low - HEADER) | <u32>(prevTop > header) | below) == 0;
}

/** Takes the most recent block, `last`, off the stack (its header checked). */
// @ts-ignore: decorator
@inline function popLast(stack: usize, last: usize): void {
  setField(stack, STACK_TOP, load<u32>(last - HEADER, PREV_TOP));
  setField(stack, STACK_LAST, load<u32>(last - HEADER, PREV_LAST));
  setField(stack, STACK_DEPTH, field(stack, STACK_DEPTH) - 1);
  countFree(stack + CONTROL_STATS, load<u32>(last - HEADER, REQUESTED));
}

/** Pops the most recent block; with `ptr` != 0 it must be that block. 0 or an error result. Inlined into its exports. */
// @ts-ignore: decorator
@inline export function stackPop(stack: usize, ptr: usize): u32 {
  if (!isReady(stack)) return errorResult(ERR_DESTROYED);
  const last: usize = field(stack, STACK_LAST);
  if (last == 0) return errorResult(ERR_STACK_EMPTY);
  if (ptr != 0 && ptr != last) return errorResult(ERR_STACK_ORDER);
  if (!blockHolds(stack, last, field(stack, STACK_TOP), 0)) return errorResult(ERR_CORRUPTION);
  popLast(stack, last);
  return 0;
}

/**
 * Pops every block pushed after `marker` (a top returned by mark). 0 or an error result.
 *
 * A marker is a top the stack had: the current one, or the top one of its blocks was pushed at. It
 * is found before anything is popped, each header checked on the way down: an address above the top
 * or between two tops (inside a block) is STACK_ORDER, a damaged header CORRUPTION, and either way
 * nothing changes (before, a marker inside a block freed the blocks above it and answered 0, and a
 * damaged header under the top was met after the blocks above it were popped).
 */
export function stackReset(stack: usize, marker: usize): u32 {
  if (!isReady(stack)) return errorResult(ERR_DESTROYED);
  let reached: usize = field(stack, STACK_TOP); // the top once `count` blocks are popped
  if (marker < field(stack, STACK_POOL_START) || marker > reached) return errorResult(ERR_STACK_ORDER);
  let block: usize = field(stack, STACK_LAST);
  let count: u32 = 0;
  while (reached > marker) {
    // (The bottom block was pushed at the pool's start, which no marker is below: `block` is not 0.)
    if (block == 0 || !blockHolds(stack, block, reached, count)) return errorResult(ERR_CORRUPTION);
    reached = load<u32>(block - HEADER, PREV_TOP);
    block = load<u32>(block - HEADER, PREV_LAST);
    count++;
  }
  if (reached != marker) return errorResult(ERR_STACK_ORDER);
  for (let i: u32 = 0; i < count; i++) popLast(stack, field(stack, STACK_LAST));
  return 0;
}

/**
 * After a lock was taken over from a thread that stopped inside a call (index.ts
 * allocator_take_over), which may have left the top, the most recent block and the depth out of
 * step: the blocks are walked down from the most recent one, each header checked (its tag, a link
 * to a lower block in the pool, a previous top below it: blockHolds' tests but for the depth, which
 * is one of the things that may be out of step), and the depth, the top (the end of the
 * most recent block's payload, as its push left it) and the statistics are set from them. A push
 * stopped before it linked its block loses the block; a pop stopped before it unlinked its block
 * keeps it. False, changing nothing, when a header does not hold (CORRUPTION).
 */
export function stackAfterTakeOver(stack: usize): bool {
  const start = field(stack, STACK_POOL_START);
  const end = field(stack, STACK_POOL_END);
  const last = field(stack, STACK_LAST);
  let block = last;
  let depth: u32 = 0;
  let usage: u64 = 0;
  let ceiling = end;
  while (block != 0) {
    if (block < start + HEADER || block > ceiling || (block & 7) != 0) return false;
    if (load<u32>(block - HEADER, TAG) != (STACK_MAGIC ^ <u32>block)) return false;
    const prevTop: usize = load<u32>(block - HEADER, PREV_TOP);
    const requested = load<u32>(block - HEADER, REQUESTED);
    if (prevTop < start || prevTop > block - HEADER || <u64>block + requested > <u64>end) return false;
    depth++;
    usage += requested;
    ceiling = prevTop;
    block = load<u32>(block - HEADER, PREV_LAST);
  }
  const top: usize = last == 0 ? start : <usize>((<u64>last + load<u32>(last - HEADER, REQUESTED) + 7) & ~7);
  setField(stack, STACK_TOP, top);
  setField(stack, STACK_DEPTH, depth);
  statsRecount(stack + CONTROL_STATS, depth, usage);
  return true;
}

export function stackClear(stack: usize): u32 {
  if (!isReady(stack)) return errorResult(ERR_DESTROYED);
  setField(stack, STACK_TOP, field(stack, STACK_POOL_START));
  setField(stack, STACK_LAST, 0);
  setField(stack, STACK_DEPTH, 0);
  statsOnFreeAll(stack + CONTROL_STATS);
  return 0;
}

/** O(1): the requested size of the live block at `ptr`, or an error result. */
export function stackBlockSize(stack: usize, ptr: usize): u32 {
  if (!isReady(stack)) return errorResult(ERR_DESTROYED);
  const top: usize = field(stack, STACK_TOP);
  if ((ptr & 7) != 0 || ptr < field(stack, STACK_POOL_START) + HEADER || ptr > top) return errorResult(ERR_INVALID_POINTER);
  if (load<u32>(ptr - HEADER, TAG) != (STACK_MAGIC ^ <u32>ptr)) return errorResult(ERR_INVALID_POINTER);
  const requested = load<u32>(ptr - HEADER, REQUESTED);
  if (<u64>ptr + requested > <u64>top) return errorResult(ERR_INVALID_POINTER);
  return requested;
}

export function stackMark(stack: usize): u32 {
  return isReady(stack) ? <u32>field(stack, STACK_TOP) : errorResult(ERR_DESTROYED);
}

export function stackUsed(stack: usize): u32 { return <u32>(field(stack, STACK_TOP) - field(stack, STACK_POOL_START)); }
export function stackCapacity(stack: usize): u32 { return <u32>(field(stack, STACK_POOL_END) - field(stack, STACK_POOL_START)); }
export function stackDepth(stack: usize): u32 { return <u32>field(stack, STACK_DEPTH); }
export function stackFreeBytes(stack: usize): u32 { return <u32>(field(stack, STACK_POOL_END) - field(stack, STACK_TOP)); }
