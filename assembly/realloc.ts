// realloc: a used block resized in place when it can be, moved when it cannot.
//
//   shrink        the tail past the new size is freed (and coalesces) when it can hold a block
//   grow          into a free right neighbour (an indexed block or the top) that has the bytes
//   move          a new block (placed by the policy), the contents copied, the old block freed
//   grow the pool a block at the pool's end (the top or the sentinel after it) that no free block
//                 can take moves nowhere: the pool grows under it, as far as maxSize allows
//
// Contents are kept up to min(old, new requested size); on failure the old block stays as it was.
// The caller holds the heap's lock (index.ts), as for every function in heap.ts.

import { HEADER_SIZE, MIN_BLOCK_SIZE, GRANULE, PREV_FREE, PROT_READ_WRITE, blockSize, isUsed, writeUsedHeader, writeFreeHeader, clearFlag, protectionOf, requestedBytes, retireHeader } from "./block";
import { CONTROL_STATS, HEAP_SENTINEL, HEAP_ALIGNMENT } from "./control";
import { indexReplace, indexDamaged } from "./freeindex";
import { isPending, pendingReplace } from "./pending";
import { checkReleasable, releasableAtOnce, nextHeaderHolds, neighboursHold } from "./pointers";
import { checksOn, writeCanary, FREE_BLOCK_PREFIX } from "./checks";
import { quarantineOn, quarantineHold, NOT_HELD } from "./quarantine";
import { statsOnAllocate, statsOnFree, statsOnFailure } from "./stats";
import { ERR_CORRUPTION, errorResult, isErrorResult } from "./errors";
import { heapMalloc, heapFree, allocateBlock, releaseBlock, leaveFreeSet, needFor, handOutIntact, growFor } from "./heap";
import { settle } from "./repair";

/** Shrinks a used block to `need` bytes, freeing the tail when it can hold a block. */
function shrinkInPlace(heap: usize, block: usize, need: u32): void {
  const size = blockSize(block);
  if (size - need < MIN_BLOCK_SIZE) return;
  store<u32>(block, need | (load<u32>(block) & 7));
  const tail = block + need;
  writeUsedHeader(tail, size - need, 0, 0, PROT_READ_WRITE);
  releaseBlock(heap, tail);
}

const GREW: i32 = 1;
const CANNOT_GROW: i32 = 0;
const FREED_BYTES_WRITTEN: i32 = -1;

/** Grows a used block in place into a free right neighbour: GREW, CANNOT_GROW, or (checks mode) FREED_BYTES_WRITTEN. */
function growInPlace(heap: usize, block: usize, need: u32): i32 {
  const size = blockSize(block);
  const next = block + size;
  if (isUsed(next)) return CANNOT_GROW;
  const total = size + blockSize(next);
  if (total < need) return CANNOT_GROW;
  if (checksOn(heap) && !handOutIntact(heap, next, next, block + need + FREE_BLOCK_PREFIX)) return FREED_BYTES_WRITTEN;
  const end = block + total;
  // The top is out of the index: what is left of it stays the top; any other neighbour's rest keeps its place.
  const nextIsTop = end == <usize>load<u32>(heap + HEAP_SENTINEL);
  let grownTo = need;
  if (total - need >= MIN_BLOCK_SIZE) {
    if (nextIsTop) writeFreeHeader(block + need, total - need);
    else if (isPending(next)) pendingReplace(heap, next, block + need, total - need);
    else indexReplace(heap, next, block + need, total - need);
  } else {
    if (!nextIsTop) leaveFreeSet(heap, next);
    clearFlag(end, PREV_FREE);
    grownTo = total;
  }
  store<u32>(block, grownTo | (load<u32>(block) & 7));
  retireHeader(next); // inside the grown block now (a rest's header starts 8 bytes past it at least)
  return GREW;
}

export function heapRealloc(heap: usize, ptr: usize, requested: u32): usize {
  if (ptr == 0) return heapMalloc(heap, requested);
  // free's fast acceptance first (pointers.ts releasableAtOnce): the full check, which names the
  // problem, only for a pointer it does not accept (realloc 1,561 -> 1,487 instructions an operation).
  if (!releasableAtOnce(heap, ptr)) {
    const problem = checkReleasable(heap, ptr);
    if (problem != 0) return errorResult(problem);
  }
  // The neighbours before anything changes (a move's release merges with them; a shrink's freed
  // tail and a growth write next to the right one), the right one's header too: free's fast
  // acceptance leaves it out (a free that parks its block in a cache does not touch it), and without
  // it an overflow of this block into the next was a flag set in the overwritten header, not CORRUPTION.
  const block = ptr - HEADER_SIZE;
  if (!nextHeaderHolds(heap, block) || !neighboursHold(heap, block)) return errorResult(ERR_CORRUPTION);
  if (requested == 0) {
    heapFree(heap, ptr);
    return 0;
  }
  const stats = heap + CONTROL_STATS;
  const oldRequested = requestedBytes(block);
  const prot = protectionOf(block);
  const need = needFor(heap, requested);
  if (need == 0) {
    statsOnFailure(stats);
    return 0;
  }
  const fits = need <= blockSize(block); // (the same size, or smaller)
  const grown = fits ? GREW : growInPlace(heap, block, need);
  if (grown == FREED_BYTES_WRITTEN) return errorResult(ERR_CORRUPTION);
  if (fits) {
    shrinkInPlace(heap, block, need);
  } else if (grown == CANNOT_GROW) {
    // A block at the pool's end is not moved up into a grown pool: where no free block takes it,
    // the pool grows under it. (A buffer that grew at the end was copied at every growth, its old
    // place left behind as a hole: doubling one from 100 bytes failed at 800 KB in a 1 MiB heap.)
    const atEnd = endsPool(heap, block);
    const moved = allocateBlock(heap, requested, load<u32>(heap + HEAP_ALIGNMENT), prot, !atEnd);
    if (isErrorResult(<u32>moved)) return moved;
    if (moved == 0) {
      if (!atEnd || indexDamaged()) {
        statsOnFailure(stats);
        return 0;
      }
      const size = blockSize(block);
      const extended = growFor(heap, need - size, GRANULE) ? growInPlace(heap, block, need) : CANNOT_GROW;
      if (extended == FREED_BYTES_WRITTEN) return errorResult(ERR_CORRUPTION);
      if (extended != GREW) {
        statsOnFailure(stats);
        return 0;
      }
      return resizedInPlace(heap, block, oldRequested, requested, prot);
    }
    memory.copy(moved, ptr, oldRequested < requested ? oldRequested : requested);
    // checks mode's quarantine holds the old place, so that a pointer kept to it is caught writing.
    if (!quarantineOn(heap) || quarantineHold(heap, block, false) == NOT_HELD) releaseBlock(heap, block);
    statsOnFree(stats, oldRequested);
    statsOnAllocate(stats, requested);
    return reallocDone(heap, moved);
  }
  return resizedInPlace(heap, block, oldRequested, requested, prot);
}

/** The block, shrunk or grown where it is, gets its header for `requested` bytes; statistics moved. Its pointer. */
function resizedInPlace(heap: usize, block: usize, oldRequested: u32, requested: u32, prot: u32): usize {
  const stats = heap + CONTROL_STATS;
  writeUsedHeader(block, blockSize(block), load<u32>(block) & PREV_FREE, requested, prot);
  if (checksOn(heap)) writeCanary(block);
  statsOnFree(stats, oldRequested);
  statsOnAllocate(stats, requested);
  return reallocDone(heap, block + HEADER_SIZE);
}

/** The block after `block` is the sentinel, or the top (the free block that ends at it). */
function endsPool(heap: usize, block: usize): bool {
  const next = block + blockSize(block);
  const sentinel: usize = load<u32>(heap + HEAP_SENTINEL);
  return next == sentinel || (!isUsed(next) && next + blockSize(next) == sentinel);
}

/**
 * A realloc whose change is made (the block moved, grown or shrunk): damage its walks met on the way
 * (a free-index link they would not follow) is repaired here, the fault recorded and the index laid
 * anew, and the call returns its pointer. Reported as CORRUPTION, as other calls report it, the
 * caller would lose the block it now holds (or believe a shrunk one still had its old size).
 * Damage met before any change (the search for a new block) is still reported: nothing was changed.
 */
function reallocDone(heap: usize, ptr: usize): usize {
  if (indexDamaged()) settle(heap, 0);
  return ptr;
}
