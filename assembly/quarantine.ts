// Checks mode's quarantine (the `quarantine` option): freed blocks held out of use for a while, so
// that a write through a dangling pointer lands in junk that is checked, rather than in a block
// already handed to someone else. First-fit and best-fit both hand a freed block straight back to
// the next request of its size, and after that a write after free is undetectable: it is the new
// owner's data. Held in order of their frees, up to `limit` bytes of blocks; the oldest leave first
// (AddressSanitizer's quarantine, in small).
//
//    heap + HEAP_QUARANTINE + 0    u32 limit    bytes of blocks it may hold (0: off)
//    heap + HEAP_QUARANTINE + 4    u32 oldest   the block that leaves next (0: none held)
//    heap + HEAP_QUARANTINE + 8    u32 newest   the block freed last
//    heap + HEAP_QUARANTINE + 12   u32 blocks   how many it holds
//    heap + HEAP_QUARANTINE + 16   u32 bytes    their sizes, headers included
//
//    a held block:  header (USED | CACHED) │ u32 next newer held block │ JUNK ... to its end
//
// Junk from the payload's fifth byte: a freed struct's first fields are where writes after free
// land most (a free block's first 16 payload bytes hold its index node instead: checks.ts).
//
// A held block is marked as a small-block cache's blocks are (block.ts CACHED): its neighbours do
// not merge with it, a free of it is a DOUBLE_FREE, and statistics, blocks() and validate() count it
// as free. (Checks mode has no small-block caches, so the flag means held here.)
//
// Leaving: a block's junk is checked first (a write found is CORRUPTION naming the block, reported
// once: the junk is laid again), then it goes back to the pool through releaseBlock, where it
// coalesces. A free that must make room checks every block that has to leave before any leaves, so
// a refused free changes nothing. Before a request would fail or grow the pool every held block
// leaves (as the caches are flushed), and so on trim().
//
// Invariants (validate.ts quarantineCheck): the list from oldest holds `blocks` blocks of `bytes`
// bytes, each sound and marked USED | CACHED, ending at newest; with the caches' lists, every block
// so marked is in one.

import { HEADER_SIZE, MIN_BLOCK_SIZE, USED, CACHED, blockSize, magicMismatch, sizeInWord, clearFlag } from "./block";
import { HEAP_QUARANTINE, HEAP_POOL_START, HEAP_SENTINEL } from "./control";
import { checksOn, junkFill, junkIntact, junkHolds } from "./checks";
import { markIndexDamaged, markIndexDamagedRecorded } from "./freeindex";
import { releaseBlock } from "./heap";
import { neighboursHold } from "./pointers";

const LIMIT: usize = 0;
const OLDEST: usize = 4;
const NEWEST: usize = 8;
const BLOCKS: usize = 12;
const BYTES: usize = 16;
/** Where a held block keeps the next newer one: the first word of its payload. */
const NEXT: usize = HEADER_SIZE;
/** A held block's bytes before its junk: header and link. */
export const HELD_PREFIX: usize = NEXT + 4;

// @ts-ignore: decorator
@inline function field(heap: usize, at: usize): u32 {
  return load<u32>(heap + HEAP_QUARANTINE + at);
}
// @ts-ignore: decorator
@inline function setField(heap: usize, at: usize, value: u32): void {
  store<u32>(heap + HEAP_QUARANTINE + at, value);
}

/** Sets the bytes the quarantine may hold (heapInit, over a zeroed control block: none held); 0 turns it off. */
export function quarantineInit(heap: usize, limit: u32): void {
  setField(heap, LIMIT, limit);
}

/** True when frees go through the quarantine: checks mode with a limit. */
// @ts-ignore: decorator
@inline export function quarantineOn(heap: usize): bool {
  return checksOn(heap) && field(heap, LIMIT) != 0;
}

// @ts-ignore: decorator
@inline export function quarantinedBlocks(heap: usize): u32 {
  return field(heap, BLOCKS);
}
// @ts-ignore: decorator
@inline export function quarantinedBytes(heap: usize): u32 {
  return field(heap, BYTES);
}

/** A held block as the list says it is: in the pool, its magic, USED | CACHED, a size that fits. */
export function heldBlockSound(heap: usize, block: usize): bool {
  const start: usize = load<u32>(heap + HEAP_POOL_START);
  const sentinel: usize = load<u32>(heap + HEAP_SENTINEL);
  if (block < start || block >= sentinel || (block & 7) != 0) return false;
  const word = load<u32>(block);
  const size = sizeInWord(word);
  if (magicMismatch(block, load<u32>(block, 4)) != 0 || (word & (USED | CACHED)) != (USED | CACHED)) return false;
  return size >= MIN_BLOCK_SIZE && <u64>block + size <= <u64>sentinel;
}

/** quarantineHold's and quarantineFlush's answers. */
export const HELD: i32 = 1;
export const NOT_HELD: i32 = 0;
/** A block that had to leave was written after its free: the fault is recorded, naming it. */
export const WRITTEN_AFTER_FREE: i32 = -1;
/** A held block or its neighbours do not hold: noted as damage (CORRUPTION once the call is over, and a rebuild). */
export const DAMAGED: i32 = -2;

/**
 * May the held block `block` leave? Sound, its neighbours sound (it will merge with them), its junk
 * intact. With `report`, what does not hold is reported: damage noted (CORRUPTION once the call is
 * over), or the write after free recorded naming the block and the junk laid again (reported once).
 * Without, nothing is recorded or changed: the block stays for a call that can report it.
 */
function mayLeave(heap: usize, block: usize, report: bool): i32 {
  if (!heldBlockSound(heap, block)) {
    if (report) markIndexDamaged();
    return DAMAGED;
  }
  if (!neighboursHold(heap, block)) {
    if (report) markIndexDamagedRecorded(); // its fault names the neighbour
    return DAMAGED;
  }
  const intact = report ? heldJunkIntact(heap, block) : junkHolds(block + HELD_PREFIX, block + blockSize(block));
  return intact ? HELD : WRITTEN_AFTER_FREE;
}

/** A held block's junk (past its link, to its end) is intact; else the fault is recorded naming it, and the junk laid again. */
export function heldJunkIntact(heap: usize, block: usize): bool {
  return junkIntact(heap, block, block + HELD_PREFIX, block + blockSize(block));
}

/** The oldest held block, checked by mayLeave, leaves: back to the pool, where it coalesces. */
function leaveOldest(heap: usize): void {
  const block: usize = field(heap, OLDEST);
  const next: usize = load<u32>(block, NEXT);
  setField(heap, OLDEST, <u32>next);
  if (next == 0) setField(heap, NEWEST, 0);
  setField(heap, BLOCKS, field(heap, BLOCKS) - 1);
  setField(heap, BYTES, field(heap, BYTES) - blockSize(block));
  clearFlag(block, CACHED);
  releaseBlock(heap, block);
}

/**
 * Holds the used block `block` (checked by the caller: its header, red zone and neighbours) instead
 * of freeing it: HELD; NOT_HELD when it is larger than the quarantine (the caller frees it);
 * WRITTEN_AFTER_FREE or DAMAGED when a block that had to leave to make room does not hold, reported
 * (see mayLeave). Every block that must leave is checked before any leaves, so a refused free
 * changes nothing. Without `report` (realloc's move, which cannot be refused once the block has
 * moved) such a block is left held, unreported, and the answer is NOT_HELD.
 */
export function quarantineHold(heap: usize, block: usize, report: bool = true): i32 {
  const size = blockSize(block);
  const limit = field(heap, LIMIT);
  if (size > limit) return NOT_HELD;
  let bytes = field(heap, BYTES);
  let leaving: usize = field(heap, OLDEST);
  let count: u32 = 0;
  while (<u64>bytes + size > <u64>limit && leaving != 0) {
    const verdict = mayLeave(heap, leaving, report);
    if (verdict != HELD) return report ? verdict : NOT_HELD;
    bytes -= blockSize(leaving);
    leaving = load<u32>(leaving, NEXT);
    count++;
  }
  for (let i: u32 = 0; i < count; i++) leaveOldest(heap);
  store<u32>(block, load<u32>(block) | CACHED);
  junkFill(block + HELD_PREFIX, block + size);
  store<u32>(block, 0, NEXT);
  const newest: usize = field(heap, NEWEST);
  if (newest != 0) store<u32>(newest, <u32>block, NEXT);
  else setField(heap, OLDEST, <u32>block);
  setField(heap, NEWEST, <u32>block);
  setField(heap, BLOCKS, field(heap, BLOCKS) + 1);
  setField(heap, BYTES, field(heap, BYTES) + size);
  return HELD;
}

/**
 * Every held block leaves (before a request would fail or grow the pool, and on trim()): HELD when
 * all left; else WRITTEN_AFTER_FREE or DAMAGED for the first that may not, which stays held with
 * the blocks after it.
 */
export function quarantineFlush(heap: usize): i32 {
  while (field(heap, OLDEST) != 0) {
    const verdict = mayLeave(heap, field(heap, OLDEST), true);
    if (verdict != HELD) return verdict;
    leaveOldest(heap);
  }
  return HELD;
}

/** Forgets every held block without touching them (the index rebuild re-reads the blocks). */
export function quarantineForget(heap: usize): void {
  setField(heap, OLDEST, 0);
  setField(heap, NEWEST, 0);
  setField(heap, BLOCKS, 0);
  setField(heap, BYTES, 0);
}

/** Size of the largest held block, 0 when none. O(held blocks): for statistics. */
export function largestHeld(heap: usize): u32 {
  let largest: u32 = 0;
  let block: usize = field(heap, OLDEST);
  for (let left = field(heap, BLOCKS); left > 0 && block != 0 && heldBlockSound(heap, block); left--) {
    const size = blockSize(block);
    if (size > largest) largest = size;
    block = load<u32>(block, NEXT);
  }
  return largest;
}

/**
 * validate(): -1 when the list holds exactly its count and bytes of sound held blocks, ending at
 * newest; else how many sound blocks it led to before it did not.
 */
export function quarantineCheck(heap: usize): i32 {
  let block: usize = field(heap, OLDEST);
  let last: usize = 0;
  let blocks: u32 = 0;
  let bytes: u32 = 0;
  while (block != 0) {
    if (blocks >= field(heap, BLOCKS) || !heldBlockSound(heap, block)) return <i32>blocks;
    blocks++;
    bytes += blockSize(block);
    last = block;
    block = load<u32>(block, NEXT);
  }
  return blocks == field(heap, BLOCKS) && bytes == field(heap, BYTES) && last == <usize>field(heap, NEWEST) ? -1 : <i32>blocks;
}
