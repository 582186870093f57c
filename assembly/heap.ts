// The heap allocator: set-up, placement, splitting, coalescing, growth, free. (realloc is
// realloc.ts; what a heap holds, read without a change, queries.ts; the index's repair, repair.ts.)
//
// A heap is a control block (control.ts) followed by a pool of blocks (block.ts) that tile it up to
// an end sentinel. Free blocks are found through the free index (freeindex.ts), which applies the
// placement policy, except the top: the free block that ends at the sentinel (when the last block
// is free) stays out of the index, as dlmalloc's top chunk does. It is the highest-addressed free
// block, so first-fit takes it only when no indexed block fits (best-fit compares its size), and
// the commonest changes at the end of the heap (a block carved from it, a block freed next to it,
// growth) cost O(1) instead of a walk of the index. Every function here expects the caller to hold
// the heap's lock (index.ts takes it), and none of them traps on a bad pointer: the checks in
// pointers.ts answer with an error code first.
//
// Costs: malloc, realloc and free cost O(log free blocks) in the index; coalescing is O(1) through
// boundary tags; every pointer check is O(1). In checks mode (checks.ts) each also touches the
// bytes it hands out or frees, and free validates the whole heap.

import {
  HEADER_SIZE, FOOTER_SIZE as FOOTER_SIZE_BYTES, MIN_BLOCK_SIZE, GRANULE, USED, PREV_FREE, PROT_READ_WRITE,
  blockSize, isUsed, isPrevFree, prevBlock, writeUsedHeader, writeFreeHeader, sizeInWord, requestedInWords, magicMismatch,
  writeSentinel, setFlag, clearFlag, blockSizeFor, alignUp, retagUsed, retireHeader,
} from "./block";
import {
  CONTROL_STATE, HEAP_POOL_START, HEAP_SENTINEL, HEAP_LIMIT, HEAP_ALIGNMENT, HEAP_POLICY, HEAP_OPTIONS,
  POLICY_BEST_FIT, CONTROL_STATS, HEAP_CONTROL_SIZE, HEAP_READY, ADDRESS_LIMIT, PAGE_SIZE, HEAP_FREES_TO_VALIDATION,
} from "./control";
import {
  indexClear, indexInsert, indexRemove, indexResize, indexReplace, indexFind, indexDamaged, payloadIn,
  payloadFitting, indexTakeLowest, indexTakenSize, indexRestSize, indexRefused, markIndexDamaged, markIndexDamagedRecorded, indexEmpty, nodeHolds,
} from "./freeindex";
import {
  checkReleasable, pointerReleasableAtOnce, headerReleasableAtOnce, neighboursHold, nextHolds, freeBlockHolds,
  soundFreeBlock,
} from "./pointers";
import {
  CACHE_REQUEST_LIMIT, cachesOn, cacheTake, cachePut, cacheFlush, cachedBlocks,
} from "./caches";
import {
  checksOn, writeCanary, junkFill, junkIntact, junkStart, junkEnd, FREE_BLOCK_PREFIX,
  validationDue, validationPassed,
} from "./checks";
import { heapValidate } from "./validate";
import { quarantineInit, quarantineOn, quarantineHold, quarantineFlush, quarantinedBlocks, NOT_HELD, WRITTEN_AFTER_FREE, DAMAGED } from "./quarantine";
import { heapPoolSize } from "./queries";
import { settle } from "./repair";
import { isPending, pendingPush, pendingUnlink, pendingReplace, pendingResize, pendingMayFit, pendingFold, inBurst, pendingEmpty } from "./pending";
import {
  FAULT_NONE, FAULT_FINGERPRINT, FAULT_DESTROYED,
} from "./faults";
import { statsClear, statsOnAllocate, statsOnFailure, countAllocation, countFree } from "./stats";
import {
  ERR_INVALID_POINTER, ERR_CORRUPTION, ERR_PROTECTION, ERR_DESTROYED, errorResult, isErrorResult,
} from "./errors";

// ─── Set-up ──────────────────────────────────────────────────────────────────────────────────────

/** Address of the first block of a heap whose control block is at `heap`. */
export function poolStartFor(heap: usize, alignment: u32): usize {
  return alignUp(heap + HEAP_CONTROL_SIZE + HEADER_SIZE, alignment) - HEADER_SIZE;
}

/**
 * Makes sure linear memory reaches `end`; false when it cannot grow that far. Heaps in regions of
 * one shared memory (host/region.ts) grow it under locks of their own, each counting the pages it
 * asks for from the size it saw: two at once ask for too much, and one may be refused at the
 * memory's maximum although what it needs is there, or nearly. A refusal while the memory grew
 * meanwhile is asked again, for what is still missing; only one that saw no growth is final.
 */
function ensureMemory(end: u64): bool {
  let have = <u64>memory.size() * PAGE_SIZE;
  while (end > have) {
    if (memory.grow(<i32>((end - have + PAGE_SIZE - 1) / PAGE_SIZE)) >= 0) return true;
    const now = <u64>memory.size() * PAGE_SIZE;
    if (now == have) return false;
    have = now;
  }
  return true;
}

/**
 * Lays a heap out at `heap`: a pool of `poolBytes` that may grow to `limitBytes`. Returns 0, or an
 * error result when the arguments cannot describe a heap (the host checks them first).
 */
export function heapInit(heap: usize, poolBytes: u32, limitBytes: u32, alignment: u32, policy: u32, options: u32, quarantineBytes: u32 = 0): u32 {
  poolBytes &= ~7;
  limitBytes &= ~7;
  if (alignment < 8 || alignment > 4096 || (alignment & (alignment - 1)) != 0) return errorResult(ERR_INVALID_POINTER);
  if (limitBytes < poolBytes || poolBytes < MIN_BLOCK_SIZE + HEADER_SIZE) return errorResult(ERR_INVALID_POINTER);
  const start = poolStartFor(heap, alignment);
  const end = <u64>start + poolBytes;
  const limit = <u64>start + limitBytes;
  if (limit > ADDRESS_LIMIT || !ensureMemory(end)) return errorResult(ERR_INVALID_POINTER);

  memory.fill(heap, 0, HEAP_CONTROL_SIZE);
  store<u32>(heap + HEAP_POOL_START, <u32>start);
  store<u32>(heap + HEAP_LIMIT, <u32>limit);
  store<u32>(heap + HEAP_ALIGNMENT, alignment);
  store<u32>(heap + HEAP_POLICY, policy);
  store<u32>(heap + HEAP_OPTIONS, options);
  statsClear(heap + CONTROL_STATS);
  indexClear(heap);
  store<u32>(heap + HEAP_FREES_TO_VALIDATION, 1); // the first free validates
  quarantineInit(heap, quarantineBytes);

  const sentinel = <usize>end - HEADER_SIZE;
  store<u32>(heap + HEAP_SENTINEL, <u32>sentinel);
  layPool(heap, start, sentinel);
  store<u32>(heap + CONTROL_STATE, HEAP_READY);
  return 0;
}

/** The pool from `start` to the sentinel as one free block, the top (junk-filled in checks mode). */
export function layPool(heap: usize, start: usize, sentinel: usize): void {
  const size = <u32>(sentinel - start);
  writeFreeHeader(start, size);
  writeSentinel(sentinel, PREV_FREE);
  if (checksOn(heap)) junkFill(junkStart(start, size, sentinel), junkEnd(start, size));
}

// @ts-ignore: decorator
@inline export function isReady(heap: usize): bool {
  return load<u32>(heap + CONTROL_STATE) == HEAP_READY;
}

// ─── Allocation ──────────────────────────────────────────────────────────────────────────────────

/**
 * Grows the pool so that a block of `need` bytes at `alignment` fits at its end: the last free
 * block is extended, or a new one is made where the sentinel was. Bounded by the heap's limit.
 */
export function growFor(heap: usize, need: u32, alignment: u32): bool {
  const sentinel: usize = load<u32>(heap + HEAP_SENTINEL);
  const limit: u64 = load<u32>(heap + HEAP_LIMIT);
  const lastFree = soundTop(heap);
  if (lastFree == 0 && isPrevFree(sentinel)) return false; // never extend a damaged top
  const freeStart: usize = lastFree != 0 ? lastFree : sentinel;
  // Worst case of a placement at the end: the block, the alignment gap, and a gap block.
  const wanted = <u64>freeStart + need + alignment + MIN_BLOCK_SIZE + HEADER_SIZE;
  let end = (wanted + PAGE_SIZE - 1) & ~(<u64>PAGE_SIZE - 1);
  if (end > limit) end = limit;
  if (end < wanted - alignment - MIN_BLOCK_SIZE || end <= <u64>sentinel + HEADER_SIZE) return false;
  if (!ensureMemory(end)) return false;

  const newSentinel = <usize>end - HEADER_SIZE;
  if (lastFree != 0) retireHeader(sentinel); // the old sentinel, now inside the grown top
  if (checksOn(heap)) junkFill(lastFree != 0 ? junkEnd(lastFree, blockSize(lastFree)) : junkStart(freeStart, <u32>(newSentinel - freeStart), newSentinel), newSentinel - FOOTER_SIZE_BYTES);
  writeSentinel(newSentinel, PREV_FREE);
  store<u32>(heap + HEAP_SENTINEL, <u32>newSentinel);
  writeFreeHeader(freeStart, <u32>(newSentinel - freeStart)); // the top, grown or new: never indexed
  return true;
}

/** The top: the free block that ends at the sentinel, kept out of the free index; 0 when the last block is used. */
export function topBlock(heap: usize): usize {
  const sentinel: usize = load<u32>(heap + HEAP_SENTINEL);
  if (!isPrevFree(sentinel)) return 0;
  const size = load<u32>(sentinel - FOOTER_SIZE_BYTES);
  return topSizeHolds(heap, sentinel, size) ? sentinel - size : 0;
}

/**
 * The top's footer (`size`, just below the sentinel) says where it starts: a footer a stray write
 * changed must not lead out of the pool (statistics read the top's size); validate() reports it,
 * and the flag without a top below.
 */
// @ts-ignore: decorator
@inline function topSizeHolds(heap: usize, sentinel: usize, size: u32): bool {
  return (<u32>(size < MIN_BLOCK_SIZE) | (size & 7) | <u32>(<usize>size > sentinel - <usize>load<u32>(heap + HEAP_POOL_START))) == 0;
}

/**
 * The top when there is one and it looks sound, else 0; a damaged one (its footer or header) is
 * marked as damage, reported as CORRUPTION once the call is over, and repaired.
 */
function soundTop(heap: usize): usize {
  return soundTopInline(heap);
}

/**
 * soundTop, written out where a malloc takes from the top (a heap used as a stack allocates only
 * there: the call was 15 of its instructions).
 */
// @ts-ignore: decorator
@inline function soundTopInline(heap: usize): usize {
  const sentinel: usize = load<u32>(heap + HEAP_SENTINEL);
  if (!isPrevFree(sentinel)) return 0;
  // topBlock's checks; then what soundFreeBlock would add that they do not already prove: the top
  // ends at the sentinel and its footer is the word its size was read from, so only its header is
  // left to check (magic, free, the same size). Every carve from the top asks: on the lifo
  // workload 116 -> 53 instructions a malloc for the check (lifo 370 -> 335 an operation).
  const size = load<u32>(sentinel - FOOTER_SIZE_BYTES);
  if (topSizeHolds(heap, sentinel, size) && topHeaderMismatch(sentinel - size, load<u32>(sentinel - size), size) == 0) return sentinel - size;
  return topDamaged(heap, sentinel, size);
}

/**
 * Nonzero when the header at `top`, whose first word is `word`, is not that of a free block of
 * `size` bytes (its magic, its used flag, its size).
 */
// @ts-ignore: decorator
@inline function topHeaderMismatch(top: usize, word: u32, size: u32): u32 {
  return magicMismatch(top, load<u32>(top, 4)) | (word & USED) | (sizeInWord(word) ^ size);
}

/**
 * soundTop's finding of a damaged top: damage marked, so that the call reports CORRUPTION and the
 * rebuild lays the top anew (repair.ts). What is wrong with its header is recorded, naming it; a
 * footer that cannot say where it starts is reported as index damage (the rebuild rewrites it).
 */
function topDamaged(heap: usize, sentinel: usize, size: u32): usize {
  if (topSizeHolds(heap, sentinel, size) && !freeBlockHolds(heap, sentinel - size, sentinel)) markIndexDamagedRecorded();
  else markIndexDamaged();
  return 0;
}

/**
 * malloc at alignment 8 when the top is the only free block: what allocateBlock would do (first-fit
 * and best-fit alike take the top then), or 0 when it would do more (checks mode, a top too small
 * or that does not look sound, a size no block can have): it then does it, and records what it finds.
 */
function takeTopAlone(heap: usize, requested: u32): usize {
  const need = blockSizeFor(requested);
  const sentinel: usize = load<u32>(heap + HEAP_SENTINEL);
  if ((<u32>checksOn(heap) | <u32>(need == 0) | (~load<u32>(sentinel) & PREV_FREE)) != 0) return 0;
  const size = load<u32>(sentinel - FOOTER_SIZE_BYTES);
  if (!topSizeHolds(heap, sentinel, size) || size < need) return 0;
  const top = sentinel - size;
  if (topHeaderMismatch(top, load<u32>(top), size) != 0) return 0;
  carveTop(heap, top, top + HEADER_SIZE, need, requested, PROT_READ_WRITE);
  return top + HEADER_SIZE;
}

/**
 * Carves a used block of `need` bytes out of the top, its payload at `payload`: an alignment gap
 * before it joins the index (it no longer ends at the sentinel), the rest after it stays the top.
 */
// @ts-ignore: decorator
@inline function carveTop(heap: usize, top: usize, payload: usize, need: u32, requested: u32, prot: u32): void {
  const sentinel: usize = load<u32>(heap + HEAP_SENTINEL);
  const block = payload - HEADER_SIZE;
  let leftFree: u32 = 0;
  if (block > top) {
    writeFreeHeader(top, <u32>(block - top));
    indexInsert(heap, top);
    leftFree = PREV_FREE;
  }
  let size = <u32>(sentinel - block);
  if (size - need >= MIN_BLOCK_SIZE) {
    writeFreeHeader(block + need, size - need); // the new top; the sentinel still has a free left
    size = need;
  } else {
    clearFlag(sentinel, PREV_FREE);
  }
  writeUsedHeader(block, size, leftFree, requested, prot);
}

/**
 * Carves a used block of `need` bytes out of the free block `free`, its payload at `payload`. The
 * gap before it (if any) and the remainder after it (when it can hold a block) stay free.
 */
function carve(heap: usize, free: usize, payload: usize, need: u32, requested: u32, prot: u32): void {
  const freeEnd = free + blockSize(free);
  const block = payload - HEADER_SIZE;
  let size = <u32>(freeEnd - block);
  const keepRest = size - need >= MIN_BLOCK_SIZE;
  let leftFree: u32 = 0;
  if (block > free) {
    // An alignment gap stays free where the block was: the same place in address order.
    indexResize(heap, free, <u32>(block - free));
    leftFree = PREV_FREE;
    if (keepRest) {
      writeFreeHeader(block + need, size - need);
      indexInsert(heap, block + need);
    }
  } else if (keepRest) {
    indexReplace(heap, free, block + need, size - need); // the remainder takes the block's place
  } else {
    indexRemove(heap, free);
  }
  if (keepRest) size = need; // the block after the remainder already says its left side is free
  else clearFlag(freeEnd, PREV_FREE);
  writeUsedHeader(block, size, leftFree, requested, prot);
}

/** Block bytes for a request: in checks mode at least one byte more, for the red zone. */
// @ts-ignore: decorator
@inline export function needFor(heap: usize, requested: u32): u32 {
  return checksOn(heap) ? (requested == 0xffff_ffff ? 0 : blockSizeFor(requested + 1)) : blockSizeFor(requested);
}

/**
 * checks mode: the bytes of free block `free` that [from, to) hands out must still be junk, and an
 * indexed block's node must still agree with the index (a write after free into it: nodeHolds,
 * which marks the index damaged, so the call reports CORRUPTION and the index is laid anew).
 */
export function handOutIntact(heap: usize, free: usize, from: usize, to: usize): bool {
  const size = blockSize(free);
  const sentinel: usize = load<u32>(heap + HEAP_SENTINEL);
  // (Checks mode, the only one that asks, indexes every freed block at once: none is pending.)
  if (free + size != sentinel && !nodeHolds(heap, free)) return false;
  const junkFrom = junkStart(free, size, sentinel);
  const junkTo = junkEnd(free, size);
  return junkIntact(heap, free, from > junkFrom ? from : junkFrom, to < junkTo ? to : junkTo);
}

/**
 * May `need` bytes be carved from the front of the free block `free`? It must look sound, and in
 * checks mode the bytes to hand out must still be junk (when they are not, the fault is recorded
 * and the junk laid again, so it is reported once). Asked before a block is split: see takeFrom.
 */
export function mayCarve(heap: usize, free: usize, need: u32): bool {
  return soundFreeBlock(heap, free, 0) && (!checksOn(heap) || handOutIntact(heap, free, free, free + need + FREE_BLOCK_PREFIX));
}

/**
 * Finds (growing the pool if allowed) and carves a block; no statistics. 0 when nothing fits;
 * CORRUPTION (an error result) when the block to carve is damaged (it leaves the index: its bytes
 * are lost, the heap goes on) or, in checks mode, its bytes were written after a free.
 *
 * Pending free blocks that the request might fit are folded into the index first (pending.ts), so
 * that the policy sees every free block. The default request, first-fit at alignment 8, is found
 * and split in one walk of the free index (indexTakeLowest); any other is found (indexFind) and
 * then carved. Either way, when nothing fits,
 * the blocks held in the small-block caches go back and coalesce first, and the pool grows last
 * (unless `mayGrow` is false: realloc's move of a block that can grow with the pool where it is).
 */
export function allocateBlock(heap: usize, requested: u32, alignment: u32, prot: u32, mayGrow: bool = true): usize {
  const need = needFor(heap, requested);
  if (need == 0) return 0;
  const bestFit = load<u32>(heap + HEAP_POLICY) == POLICY_BEST_FIT;
  const oneWalk = alignment == GRANULE && !bestFit;
  // The commonest request (first-fit at 8, checks off) when an indexed block fits: one walk and a
  // header, without the three looks below (mixed-sizes: 131 -> 122 instructions an operation here
  // and in the walk). When none fits the walk stopped at the root's figure; with the top, that is
  // the first look, and the looks go on from the second.
  let attempt = 0;
  // A pending block that may fit goes into the index first, so that the policy sees every free block.
  if (pendingMayFit(heap, need)) {
    // After a burst of frees (a structure torn down: see pending.ts) the blocks the caches parked
    // before it began split the runs the others merged into: they go back too, and merge, first.
    if (inBurst(heap) && cachedBlocks(heap) != 0) cacheFlush(heap);
    pendingFold(heap);
  }
  if (oneWalk && !checksOn(heap)) {
    if (!indexEmpty(heap)) {
      const taken = indexTakeLowest(heap, need);
      if (indexDamaged()) return 0; // reported as CORRUPTION once the call is over (see below)
      if (indexRefused() != 0) return refuseBlock(heap, indexRefused());
      if (taken != 0) return handOutTaken(taken, need, requested, prot);
    }
    // Nothing indexed fits: the top, as the first look below would (a heap used as a stack
    // allocates only here: lifo 447 -> 395 instructions an operation).
    const top = soundTopInline(heap);
    if (indexDamaged()) return 0;
    if (top != 0 && blockSize(top) >= need) {
      carveTop(heap, top, top + HEADER_SIZE, need, requested, prot);
      return top + HEADER_SIZE;
    }
    attempt = 1;
  }
  let found: usize = 0;
  let fromTop = false;
  let topPayload: usize = 0; // where the payload goes in the top, when it is taken
  let refused: usize = 0; // a block this call's walk would have taken but found damaged
  // Three looks: as things are; after the cached blocks went back and coalesced (when there were
  // any); after the pool grew. A block the walk refused ends the search: it is reported below.
  for (; attempt < 3; attempt++) {
    if (attempt == 1) {
      if (cachedBlocks(heap) == 0 && quarantinedBlocks(heap) == 0) continue;
      cacheFlush(heap);
      if (quarantineFlush(heap) == WRITTEN_AFTER_FREE) return errorResult(ERR_CORRUPTION);
      if (pendingMayFit(heap, need)) pendingFold(heap); // what went back and coalesced
      if (indexDamaged()) return 0; // reported as CORRUPTION once the call is over, and repaired
    }
    if (attempt == 2 && (!mayGrow || !growFor(heap, need, alignment))) return 0;
    // An empty index (a heap that grows and shrinks at its top, as a LIFO does) is not walked.
    if (!indexEmpty(heap)) {
      found = oneWalk ? indexTakeLowest(heap, need) : indexFind(heap, need, alignment);
      if (oneWalk) refused = indexRefused();
      if (refused != 0) break;
    }
    // The top is the highest-addressed free block: first-fit takes it when nothing in the index
    // fits; best-fit when it is smaller than the index's best (an equal one has the lower address).
    if (found == 0 || bestFit) {
      const top = soundTop(heap);
      if (indexDamaged()) return 0; // reported as CORRUPTION once the call is over, and repaired
      topPayload = top != 0 ? payloadIn(top, blockSize(top), need, alignment) : 0;
      if (topPayload != 0 && (found == 0 || blockSize(top) < blockSize(found))) {
        found = top;
        fromTop = true;
        break;
      }
    }
    if (found != 0) break;
  }
  // After damage (a link the walk would not follow, or a small-block cache list that led somewhere
  // unsound), a block found anyway is not handed out: the call reports CORRUPTION once it is over,
  // and the caller would never see the block. Its header is not written yet, so the rebuild that
  // follows reads it as the free block it was, whatever the walk did to the index.
  if (indexDamaged()) return 0;
  let payload: usize;
  if (oneWalk && !fromTop) {
    if (refused != 0) return refuseBlock(heap, refused);
    if (found == 0) return 0;
    payload = handOutTaken(found, need, requested, prot);
  } else {
    if (found == 0) return 0;
    if (!fromTop && !freeBlockHolds(heap, found, 0)) return refuseBlock(heap, found); // soundTop checked the top
    payload = fromTop ? topPayload : payloadFitting(found, blockSize(found), need, alignment);
    if (checksOn(heap) && !handOutIntact(heap, found, payload - HEADER_SIZE, payload - HEADER_SIZE + need + FREE_BLOCK_PREFIX)) {
      return errorResult(ERR_CORRUPTION);
    }
    if (fromTop) carveTop(heap, found, payload, need, requested, prot);
    else carve(heap, found, payload, need, requested, prot);
  }
  if (checksOn(heap)) {
    // The payload may start where the free block's index node was: junk there too, like the rest.
    junkFill(payload, payload + (<usize>requested < FREE_BLOCK_PREFIX ? <usize>requested : FREE_BLOCK_PREFIX));
    writeCanary(payload - HEADER_SIZE);
  }
  return payload;
}

/** The block indexTakeLowest split (or took whole, when its rest could not be a block): only its header is left to write. Its payload. */
// @ts-ignore: decorator
@inline function handOutTaken(taken: usize, need: u32, requested: u32, prot: u32): usize {
  const rest = indexRestSize();
  if (rest == 0) clearFlag(taken + indexTakenSize(), PREV_FREE); // taken whole: the block on its right has a used left now
  writeUsedHeader(taken, rest == 0 ? indexTakenSize() : need, 0, requested, prot);
  return taken + HEADER_SIZE;
}

/** A block that may not be carved: a damaged one leaves the index (a written-after-free one stays). CORRUPTION. */
function refuseBlock(heap: usize, free: usize): usize {
  if (!freeBlockHolds(heap, free, 0)) indexRemove(heap, free);
  return errorResult(ERR_CORRUPTION);
}

/** A free block (not the top) leaves the index or the pending list, whichever holds it; its header must still hold its size. */
export function leaveFreeSet(heap: usize, block: usize): void {
  if (isPending(block)) pendingUnlink(heap, block);
  else indexRemove(heap, block);
}

/** Returns a used block to the free blocks, merging it with free neighbours; no statistics. */
export function releaseBlock(heap: usize, block: usize): void {
  let start = block;
  let size = blockSize(block);
  clearFlag(block, USED); // a stale copy of this header now reads as free: a second free is caught
  const next = block + size;
  // checks mode: junk over the freed block and over what joins the merged block (the right
  // neighbour's header and node, the left neighbour's footer); what stays meaningful is rewritten.
  let junkFrom = block;
  let junkTo = next;
  const nextFree = !isUsed(next);
  const prevFree = isPrevFree(block);
  if (nextFree) {
    size += blockSize(next);
    junkTo = next + FREE_BLOCK_PREFIX;
  }
  if (prevFree) {
    start = prevBlock(block);
    size += blockSize(start);
    junkFrom = block - FOOTER_SIZE_BYTES;
  }
  // The merged block keeps the left neighbour's place, in the index or the pending list, or takes
  // the right neighbour's; a block with no free neighbour is a new entry, pending (pending.ts: O(1),
  // as is every merge with a pending block). A merged block that ends at the sentinel is the top,
  // in neither (a free right neighbour was the top already).
  if (start + size == <usize>load<u32>(heap + HEAP_SENTINEL)) {
    if (prevFree) leaveFreeSet(heap, start);
    writeFreeHeader(start, size);
  } else if (prevFree) {
    if (nextFree) leaveFreeSet(heap, next);
    if (isPending(start)) pendingResize(heap, start, size);
    else indexResize(heap, start, size);
  } else if (nextFree) {
    if (isPending(next)) pendingReplace(heap, next, start, size);
    else indexReplace(heap, next, start, size);
  } else {
    writeFreeHeader(start, size);
    // checks mode indexes it at once: its node, checked at every hand-out (nodeHolds), is then the
    // index's, and a write after free into it is found; a fold would write over such a write.
    if (checksOn(heap)) indexInsert(heap, start);
    else pendingPush(heap, start);
  }
  // The headers now inside the merged block, after the index work (which reads them): checks mode's
  // junk goes over them next.
  if (nextFree) retireHeader(next);
  if (prevFree) retireHeader(block);
  if (checksOn(heap)) {
    // After the index work (which reads the neighbours' links), and around the live node and footer.
    // The top has no node: its node's bytes are junk too (a left neighbour's node there is stale);
    // for any other block junkStart is the node's end, and the first fill is empty.
    const nodeEnd = start + FREE_BLOCK_PREFIX;
    junkFill(junkStart(start, size, <usize>load<u32>(heap + HEAP_SENTINEL)), nodeEnd);
    junkFill(junkFrom > nodeEnd ? junkFrom : nodeEnd, junkTo);
    store<u32>(start + size - FOOTER_SIZE_BYTES, size); // the footer, when the junk reached it (the header and node it does not)
  }
  setFlag(start + size, PREV_FREE);
}

/**
 * heapAllocate's body, inline in heap_malloc, the export every malloc from the host goes through: a
 * call costs about 15 machine instructions (frame, stack check, spills) of a small-block malloc's 130.
 * `atDefaultAlignment`: `alignment` is the heap's own, so the small-block caches may serve it.
 */
// @ts-ignore: decorator
@inline export function allocateInline(heap: usize, requested: u32, alignment: u32, atDefaultAlignment: bool): usize {
  if (!isReady(heap)) return errorResult(ERR_DESTROYED);
  // Fast path: a small request at the heap's alignment from the cache of its size, O(1).
  if (requested <= CACHE_REQUEST_LIMIT && atDefaultAlignment && cachesOn(heap) && cachedBlocks(heap) != 0) {
    const cached = cacheTake(heap, blockSizeFor(requested));
    if (cached != 0) {
      retagUsed(cached, requested, PROT_READ_WRITE);
      countAllocation(heap + CONTROL_STATS, requested); // inlined: a call is a tenth of this path
      return cached + HEADER_SIZE;
    }
  }
  // Nothing free but the top (a heap filling up, or used as a stack): it is taken without
  // allocateBlock's frame and looks, when it fits and looks sound (lifo 257 -> 225 instructions an
  // operation, 15.2 -> 14.0 ns; drain 405 -> 372; +426 bytes).
  let payload: usize = 0;
  if (alignment == GRANULE && indexEmpty(heap) && pendingEmpty(heap)) payload = takeTopAlone(heap, requested);
  if (payload == 0) payload = allocateBlock(heap, requested, alignment, PROT_READ_WRITE);
  if (payload == 0) statsOnFailure(heap + CONTROL_STATS);
  else if (!isErrorResult(<u32>payload)) statsOnAllocate(heap + CONTROL_STATS, requested);
  return payload;
}

export function heapAllocate(heap: usize, requested: u32, alignment: u32): usize {
  return allocateInline(heap, requested, alignment, alignment == load<u32>(heap + HEAP_ALIGNMENT));
}

// @ts-ignore: decorator
@inline export function heapMalloc(heap: usize, requested: u32): usize {
  return heapAllocate(heap, requested, load<u32>(heap + HEAP_ALIGNMENT));
}

export function heapCalloc(heap: usize, count: u32, size: u32): usize {
  const total = <u64>count * <u64>size;
  if (total > 0xffff_ffff) {
    if (!isReady(heap)) return errorResult(ERR_DESTROYED);
    statsOnFailure(heap + CONTROL_STATS);
    return 0;
  }
  const payload = heapMalloc(heap, <u32>total);
  if (payload != 0 && !isErrorResult(<u32>payload)) memory.fill(payload, 0, <usize>total);
  return payload;
}

// ─── Free ────────────────────────────────────────────────────────────────────────────────────────

/**
 * heapFree's body, inline in heap_free for the same reason as allocateInline. The free that parks
 * its block in a small-block cache is written out here without a call; every other case leaves by
 * a call that is the last thing the free does (freeChecked, releaseChecked), so that no value of the
 * fast path has to outlive a call: V8 kept such values in stack slots, spilled at their definition
 * on the fast path too (small-churn 231 -> 220 instructions an operation, mixed-sizes 534 -> 516).
 */
// @ts-ignore: decorator
@inline export function freeInline(heap: usize, ptr: usize): u32 {
  // releasableAtOnce (pointers.ts) in its two stages, keeping the header's words.
  if (!pointerReleasableAtOnce(heap, ptr)) return freeChecked(heap, ptr);
  const block = ptr - HEADER_SIZE;
  const word = load<u32>(block);
  const tag = load<u32>(block, 4);
  if (!headerReleasableAtOnce(heap, block, word, tag)) return freeChecked(heap, ptr);
  const size = sizeInWord(word);
  // A block whose left neighbour is free, or that ends where the top starts, is not parked but
  // merged at once, so that free space stays in few large blocks and a heap used as a stack shrinks
  // at its top. Its right neighbour's header is not read to decide (see releasableAtOnce: on a large
  // heap it is a cache miss of its own); the top's start is read from its footer, on the line of the
  // sentinel that every free reads. So a parked block may border a free one on its right other than
  // the top, and merges with it when the caches are flushed (on the bench's workloads reserved / peak
  // live was unchanged at page granularity).
  const sentinel: usize = load<u32>(heap + HEAP_SENTINEL);
  const topSize = load<u32>(sentinel - FOOTER_SIZE_BYTES);
  const endsAtTop = isPrevFree(sentinel) && block + size == sentinel - topSize;
  if (endsAtTop && (word & PREV_FREE) == 0) return releaseIntoTop(heap, block, size, topSize, requestedInWords(word, tag));
  if (!cachesOn(heap) || (word & PREV_FREE) != 0 || endsAtTop || !cachePut(heap, block, size, word, heapPoolSize(heap))) {
    return releaseChecked(heap, block, requestedInWords(word, tag));
  }
  countFree(heap + CONTROL_STATS, requestedInWords(word, tag));
  return 0;
}

/**
 * The free of a pointer the fast acceptance did not pass: NULL, a bad pointer (its error), or checks
 * mode (the whole heap validated first when due, so that a fault changes nothing; no caches). The acceptance
 * passes every other pointer checkReleasable does, so a block freed here is not parked.
 */
function freeChecked(heap: usize, ptr: usize): u32 {
  if (ptr == 0) return isReady(heap) ? 0 : errorResult(ERR_DESTROYED);
  const problem = checkReleasable(heap, ptr);
  if (problem != 0) return errorResult(problem);
  const block = ptr - HEADER_SIZE;
  const requested = requestedInWords(load<u32>(block), load<u32>(block, 4));
  if (checksOn(heap)) {
    if (validationDue(heap)) {
      const fault = validationResult(heapValidate(heap, false));
      if (fault != 0) return fault;
      validationPassed(heap);
    }
    if (quarantineOn(heap)) return holdChecked(heap, block, requested);
  }
  return releaseChecked(heap, block, requested);
}

/** checks mode with a quarantine: the block is held instead of freed (quarantine.ts), unless too large. */
function holdChecked(heap: usize, block: usize, requested: u32): u32 {
  if (!nextHolds(heap, block) || !neighboursHold(heap, block)) return errorResult(ERR_CORRUPTION);
  const held = quarantineHold(heap, block);
  if (held == WRITTEN_AFTER_FREE) return errorResult(ERR_CORRUPTION);
  if (held == DAMAGED) return 0; // nothing changed; CORRUPTION once the call is over, and a rebuild
  if (held == NOT_HELD) releaseBlock(heap, block);
  countFree(heap + CONTROL_STATS, requested);
  return released(heap);
}

/**
 * free's path for a block between a used left neighbour and the top (a heap used as a stack frees
 * only here): it joins the top, which stays out of the index. What releaseChecked and releaseBlock
 * would do, in a few stores: the top's footer (`topSize`, read by the caller) put the top at the
 * block's end, and only its header is left to check, as soundTop does (magic, free, the same size,
 * and a used left, which nextHolds asks); a top that fails goes the general way, which reports it.
 * lifo: 351 -> 264 machine instructions an operation (with soundTopInline, 258), 20.9 -> 15.4 ns
 * in a wasm loop (bench/ab.ts, 9 runs interleaved: TLSF 21.4, dlmalloc 9.1).
 */
function releaseIntoTop(heap: usize, block: usize, size: u32, topSize: u32, requested: u32): u32 {
  const top = block + size;
  const word = load<u32>(top);
  if ((topHeaderMismatch(top, word, topSize) | (word & PREV_FREE) | <u32>(topSize < MIN_BLOCK_SIZE)) != 0) {
    return releaseChecked(heap, block, requested);
  }
  writeFreeHeader(block, size + topSize); // its footer is the top's: the sentinel's PREV_FREE stays
  retireHeader(top);
  countFree(heap + CONTROL_STATS, requested);
  return 0;
}

/**
 * CORRUPTION for a free whose block has a neighbour that does not hold (its fault recorded), nothing
 * freed. Damage is marked too: the rebuild (repair.ts) lays the neighbour anew when it surely was
 * free, or else marks it used, so that the block can be freed on the next try instead of never (a
 * free block of a top, or of a block whose footer a stray write changed, is laid anew; a header past
 * knowing is left to be reported, its bytes lost, and no longer merged with).
 */
function neighbourDamaged(heap: usize, block: usize): u32 {
  markIndexDamagedRecorded();
  return errorResult(ERR_CORRUPTION);
}

/** A checked live block goes back to the free index, merged with its free neighbours once they are found sound. */
function releaseChecked(heap: usize, block: usize, requested: u32): u32 {
  if (!nextHolds(heap, block) || !neighboursHold(heap, block)) return neighbourDamaged(heap, block);
  releaseBlock(heap, block);
  countFree(heap + CONTROL_STATS, requested);
  return released(heap);
}

/**
 * The end of a free whose block is given back: damage its merge met in the free index (a link it
 * would not follow) is repaired here, its fault recorded, and the free returns 0. Reported as
 * CORRUPTION, as other calls report damage, it told the caller the block was still theirs when it
 * was free and merged, and a second free of it was a DOUBLE_FREE (realloc's reallocDone, likewise).
 */
function released(heap: usize): u32 {
  if (indexDamaged()) settle(heap, 0);
  return 0;
}

export function heapFree(heap: usize, ptr: usize): u32 {
  return freeInline(heap, ptr);
}

/** A validation reason as an operation's result: 0, PROTECTION, or CORRUPTION. */
export function validationResult(reason: u32): u32 {
  if (reason == FAULT_NONE) return 0;
  if (reason == FAULT_FINGERPRINT) return errorResult(ERR_PROTECTION);
  if (reason == FAULT_DESTROYED) return errorResult(ERR_DESTROYED);
  return errorResult(ERR_CORRUPTION);
}
