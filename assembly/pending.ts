// Pending free blocks: freed blocks not yet in the free index (freeindex.ts), in a doubly linked list.
//
// A free that makes a new free block (no free neighbour to merge with) puts it here in O(1) instead
// of inserting it into the treap (O(log free blocks), a line out of the processor's caches at each
// level on a large heap); a later free beside it merges with it in O(1) too. Placement stays exact:
// before the policy places a request that a pending block might satisfy (its size at most the
// largest size pushed since the last fold, an upper bound), every pending block is folded into the
// index first. So frees in a row (a structure torn down, objects dying in any order) cost O(1)
// each, their blocks merging among themselves and with the top, and a heap emptied that way is one
// free block again without one walk of the treap (10,000 blocks of 8..256 B filled, then freed in a
// shuffled order, 30 rounds, in wasm with the caches off: 676 -> 410 instructions an operation, no
// treap function left among them; 75.4 -> 32.8 ns, TLSF 30.1). Placement is the same block for
// every request (300,000 random operations, both policies, caches on and off: the same offsets).
// checks mode indexes at once (heap.ts releaseBlock): its hand-outs check the index's node.
//
// A burst: more than PENDING_BURST pending blocks, no request having needed them. The small-block
// caches pause (OPTION_CACHES_PAUSED, control.ts) until the next fold: a block parked during a
// burst would split the runs the others merge into, and, handed out again first when the frees
// stop, keep them split, so that the allocations after it took from the treap instead of the top
// (the drain above: 571 instructions an operation with the caches on, against 410 with them off).
// The fold that ends a burst flushes what the caches parked before it began (heap.ts allocateBlock).
//
//    heap + HEAP_PENDING + 0    u32 head     the block pushed last (0: none)
//    heap + HEAP_PENDING + 4    u32 count    blocks on the list
//    heap + HEAP_PENDING + 8    u32 bytes    their sizes, headers included
//    heap + HEAP_PENDING + 12   u32 bound    no pending block is larger (0 after a fold)
//
//    a pending block:  header (free) │ u32 previous │ u32 next │ u32 PENDING_MARK │ ... │ footer
//
// The mark sits where an indexed block keeps its left subtree's largest size (freeindex.ts), a
// figure never 0xFFFFFFFF, so a free block tells which of the two holds it; it is cleared when the
// block leaves the list, so that a block that became the top or part of another is never read as
// pending. Every link is checked to lie in the pool and lead to a marked free block before it is
// followed: damage is noted (markIndexDamaged) and repaired with the index (repair.ts).
//
// Invariants (validate.ts pendingCheck): the list from head holds `count` blocks of `bytes` bytes,
// each free, marked, not the top, its previous link the block before it; no block is both pending
// and indexed.

import { MIN_BLOCK_SIZE, blockSize, isUsed, hasValidMagic, writeFreeHeader } from "./block";
import { HEAP_PENDING, HEAP_POOL_START, HEAP_SENTINEL, HEAP_OPTIONS, OPTION_CACHES_PAUSED } from "./control";
import { indexInsert, markIndexDamaged } from "./freeindex";

const HEAD: usize = 0;
const COUNT: usize = 4;
const BYTES: usize = 8;
const BOUND: usize = 12;
const PREVIOUS: usize = 8;
const NEXT: usize = 12;
const MARK: usize = 16;
const PENDING_MARK: u32 = 0xffff_ffff;
/** Pending blocks beyond which the frees that made them are a burst: the caches pause (see the top). */
export const PENDING_BURST: u32 = 64;

// @ts-ignore: decorator
@inline function field(heap: usize, at: usize): u32 {
  return load<u32>(heap + HEAP_PENDING + at);
}
// @ts-ignore: decorator
@inline function setField(heap: usize, at: usize, value: u32): void {
  store<u32>(heap + HEAP_PENDING + at, value);
}

/** True for a free block held here (not the top: see the mark above). */
// @ts-ignore: decorator
@inline export function isPending(block: usize): bool {
  return load<u32>(block, MARK) == PENDING_MARK;
}

// @ts-ignore: decorator
@inline export function pendingBlocks(heap: usize): u32 {
  return field(heap, COUNT);
}
// @ts-ignore: decorator
@inline export function pendingBytes(heap: usize): u32 {
  return field(heap, BYTES);
}

/** May a pending block hold `need` bytes? Then the policy may not place the request before a fold. */
// @ts-ignore: decorator
@inline export function pendingMayFit(heap: usize, need: u32): bool {
  return field(heap, BOUND) >= need && field(heap, COUNT) != 0;
}

/** No block is pending. */
// @ts-ignore: decorator
@inline export function pendingEmpty(heap: usize): bool {
  return field(heap, COUNT) == 0;
}

/** A free block whose header and footer are written joins the list. */
export function pendingPush(heap: usize, block: usize): void {
  const size = blockSize(block);
  const head: usize = field(heap, HEAD);
  store<u32>(block, 0, PREVIOUS);
  store<u32>(block, <u32>head, NEXT);
  store<u32>(block, PENDING_MARK, MARK);
  if (head != 0) store<u32>(head, <u32>block, PREVIOUS);
  setField(heap, HEAD, <u32>block);
  const count = field(heap, COUNT) + 1;
  setField(heap, COUNT, count);
  setField(heap, BYTES, field(heap, BYTES) + size);
  if (size > field(heap, BOUND)) setField(heap, BOUND, size);
  if (count == PENDING_BURST + 1) store<u32>(heap + HEAP_OPTIONS, load<u32>(heap + HEAP_OPTIONS) | OPTION_CACHES_PAUSED);
}

/** True while a burst of frees pauses the caches. */
// @ts-ignore: decorator
@inline export function inBurst(heap: usize): bool {
  return (load<u32>(heap + HEAP_OPTIONS) & OPTION_CACHES_PAUSED) != 0;
}

/**
 * The pending block leaves the list (to be merged, taken or folded); its header must still hold
 * the size it was pushed with. Its neighbours on the list are known sound: each was checked when
 * the list was last followed, or pushed by this module.
 */
export function pendingUnlink(heap: usize, block: usize): void {
  const previous: usize = load<u32>(block, PREVIOUS);
  const next: usize = load<u32>(block, NEXT);
  if (!linkHolds(heap, previous) || !linkHolds(heap, next)) {
    markIndexDamaged(); // a write after free over the links: the list and the index are laid anew
    return;
  }
  if (previous != 0) store<u32>(previous, <u32>next, NEXT);
  else setField(heap, HEAD, <u32>next);
  if (next != 0) store<u32>(next, <u32>previous, PREVIOUS);
  store<u32>(block, 0, MARK);
  setField(heap, COUNT, field(heap, COUNT) - 1);
  setField(heap, BYTES, field(heap, BYTES) - blockSize(block));
}

/** A pending block grows in place (merged with the block on its right): its new size is written. */
export function pendingResize(heap: usize, block: usize, size: u32): void {
  setField(heap, BYTES, field(heap, BYTES) - blockSize(block) + size);
  writeFreeHeader(block, size);
  if (size > field(heap, BOUND)) setField(heap, BOUND, size);
}

/** A free block of `size` bytes at `block` takes the pending block `old`'s place (a merge, a block grown into it). */
export function pendingReplace(heap: usize, old: usize, block: usize, size: u32): void {
  pendingUnlink(heap, old);
  writeFreeHeader(block, size);
  pendingPush(heap, block);
}

/** Every pending block goes into the free index; the list is empty after. */
export function pendingFold(heap: usize): void {
  let block: usize = field(heap, HEAD);
  for (let left = field(heap, COUNT); left > 0 && block != 0; left--) {
    if (!linkHolds(heap, block)) {
      markIndexDamaged();
      return;
    }
    const next: usize = load<u32>(block, NEXT);
    store<u32>(block, 0, MARK); // (the index writes its own figure there)
    indexInsert(heap, block);
    block = next;
  }
  if (block != 0) markIndexDamaged(); // more blocks than the count: a link written over
  pendingForget(heap);
}

/** An empty list, its blocks forgotten without touching them (an index rebuild re-reads the blocks; clear). */
export function pendingForget(heap: usize): void {
  store<u32>(heap + HEAP_OPTIONS, load<u32>(heap + HEAP_OPTIONS) & ~OPTION_CACHES_PAUSED); // the burst is over
  setField(heap, HEAD, 0);
  setField(heap, COUNT, 0);
  setField(heap, BYTES, 0);
  setField(heap, BOUND, 0);
}

/** Size of the largest pending block, 0 when none. O(pending blocks): for statistics. */
export function largestPending(heap: usize): u32 {
  let largest: u32 = 0;
  let block: usize = field(heap, HEAD);
  for (let left = field(heap, COUNT); left > 0 && block != 0 && linkHolds(heap, block); left--) {
    const size = blockSize(block);
    if (size > largest) largest = size;
    block = load<u32>(block, NEXT);
  }
  return largest;
}

/**
 * A link that may be followed: 0, or a marked free block inside the pool, room for its node before
 * the sentinel, its header's magic sound.
 */
function linkHolds(heap: usize, link: usize): bool {
  if (link == 0) return true;
  const start: usize = load<u32>(heap + HEAP_POOL_START);
  const sentinel: usize = load<u32>(heap + HEAP_SENTINEL);
  if ((link & 7) != 0 || link < start || link > sentinel - MIN_BLOCK_SIZE) return false; // (no sum: it may wrap)
  return hasValidMagic(link) && !isUsed(link) && isPending(link);
}

/**
 * validate(): the list from head holds `count` blocks of `bytes` bytes, each a marked free block
 * whose previous link is the block before it. -1 when it does, else how many blocks it led to.
 */
export function pendingCheck(heap: usize): i32 {
  let block: usize = field(heap, HEAD);
  let previous: usize = 0;
  let seen: u32 = 0;
  let bytes: u32 = 0;
  let bound: u32 = 0;
  while (block != 0) {
    if (seen >= field(heap, COUNT) || !linkHolds(heap, block) || <usize>load<u32>(block, PREVIOUS) != previous) return <i32>seen;
    const size = blockSize(block);
    if (size < MIN_BLOCK_SIZE || <usize>size >= <usize>load<u32>(heap + HEAP_SENTINEL) - block) return <i32>seen; // the top is never pending
    seen++;
    bytes += size;
    if (size > bound) bound = size;
    previous = block;
    block = load<u32>(block, NEXT);
  }
  if (seen != field(heap, COUNT) || bytes != field(heap, BYTES) || bound > field(heap, BOUND)) return <i32>seen;
  return -1;
}
