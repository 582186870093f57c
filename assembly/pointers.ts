// Pointer and block checks: what stands between a bad pointer or a damaged header and the heap.
//
// Every entry point that takes a pointer asks here first and gets an error code, never a trap:
//
//   checkLiveBlock    the pointer is the payload of a live block of this heap: aligned, inside the
//                     pool, its header's magic matches its address (else INVALID_POINTER: an
//                     interior or foreign pointer), its size fits the pool and the next header's
//                     magic matches and says its left is used (else CORRUPTION), it is not free,
//                     parked in a cache, or a header a merge retired (else DOUBLE_FREE). O(1), two
//                     headers read (the next one by nextHolds).
//   checkReleasable   checkLiveBlock, and the block may be given back: not the allocator's own
//                     fingerprint table (INVALID_POINTER), writable (PROTECTION), its red zone
//                     intact in checks mode (CORRUPTION).
//   releasableAtOnce  the same answer for the common free, the next header aside, in two stages of
//                     tests over words loaded once (pointerReleasableAtOnce, headerReleasableAtOnce);
//                     false only sends the pointer to checkReleasable for its code. heapFree asks
//                     nextHolds itself unless it parks the block; realloc always asks it.
//   neighboursHold,   a free block about to be merged or carved looks sound: magic, flags, size,
//   freeBlockHolds    footer. Asked only where a merge or a carve follows (soundFreeBlock: the
//                     same tests inline, on the hot paths).
//
// A check that finds damage records the fault (faults.ts), so the error names the block and what
// was wrong with it. The limit of all of them: a header forged with the right magic for its address
// (a write that copies a header's arithmetic, not a stray one) cannot be told from a real one.

import {
  HEADER_SIZE, FOOTER_SIZE as FOOTER_SIZE_BYTES, MIN_BLOCK_SIZE, PROT_WRITE, USED, CACHED, PREV_FREE,
  blockSize, isUsed, isLive, isCondemned, isPrevFree, isRetired, hasValidMagic, tagMagic, magicFor, slackOf, slackInTag, sizeInWord, magicMismatch, protectionInTag,
} from "./block";
import { HEAP_POOL_START, HEAP_SENTINEL, CONTROL_STATE, HEAP_READY, HEAP_OPTIONS, OPTION_CHECKS } from "./control";
import { isReady } from "./heap";
import { isInternalBlock, refuseUnwritable } from "./protect";
import { checksOn, canaryIntact, JUNK_WORD } from "./checks";
import { FAULT_BAD_SIZE, FAULT_BAD_MAGIC, FAULT_PREV_FREE_FLAG, FAULT_BAD_FOOTER, FAULT_BAD_SLACK, FAULT_MARKED_USED, FAULT_CONDEMNED, recordFault } from "./faults";
import { ERR_INVALID_POINTER, ERR_DOUBLE_FREE, ERR_CORRUPTION, ERR_PROTECTION, ERR_DESTROYED } from "./errors";

/**
 * O(1): 0 when `ptr` is the payload of a live block of this heap, else the error code. A header
 * whose magic does not match its address is not a block start (an interior or foreign pointer); a
 * header with the right magic but an impossible size or neighbour is a corrupted block.
 */
export function checkLiveBlock(heap: usize, ptr: usize): u32 {
  if (!isReady(heap)) return ERR_DESTROYED;
  const start: usize = load<u32>(heap + HEAP_POOL_START);
  const sentinel: usize = load<u32>(heap + HEAP_SENTINEL);
  if ((ptr & 7) != 0 || ptr < start + HEADER_SIZE || ptr > sentinel) return ERR_INVALID_POINTER;
  const block = ptr - HEADER_SIZE;
  // In checks mode freed memory is junk: a "header" of junk is a pointer into freed memory. (Checked
  // before the magic, which junk matches at one address in 65,536.)
  if (checksOn(heap) && load<u32>(block) == JUNK_WORD && load<u32>(block, 4) == JUNK_WORD) return ERR_DOUBLE_FREE;
  if (isRetired(block)) return ERR_DOUBLE_FREE; // its block was freed and merged into another
  if (!hasValidMagic(block)) return ERR_INVALID_POINTER;
  const size = blockSize(block);
  if (size < MIN_BLOCK_SIZE || <u64>block + size > <u64>sentinel) {
    recordFault(heap, FAULT_BAD_SIZE, block, size, sentinel - block);
    return ERR_CORRUPTION;
  }
  if (!isLive(block)) return ERR_DOUBLE_FREE; // free, or parked in a small-block cache
  if (isCondemned(block)) {
    recordFault(heap, FAULT_CONDEMNED, block, 0, 0);
    return ERR_CORRUPTION;
  }
  // Its requested size must lie inside it: read from a size or tag a stray write changed, it would
  // lay a red zone, or copy a realloc's bytes, from below the block, over whatever is there.
  if (slackOf(block) > size - HEADER_SIZE) {
    recordFault(heap, FAULT_BAD_SLACK, block, slackOf(block), size - HEADER_SIZE);
    return ERR_CORRUPTION;
  }
  return nextHeaderHolds(heap, block) ? 0 : ERR_CORRUPTION;
}

/**
 * O(1): the header after the live `block` (whose own header was checked) is one, by its magic, and
 * says its left is used; records the fault when not. Part of checkLiveBlock; heapFree asks it only
 * for a block it does not park in a cache (see releasableAtOnce).
 */
// @ts-ignore: decorator
@inline export function nextHolds(heap: usize, block: usize): bool {
  const next = block + blockSize(block);
  if (!hasValidMagic(next)) {
    recordFault(heap, FAULT_BAD_MAGIC, next, tagMagic(next), magicFor(next));
    return false;
  }
  if (isPrevFree(next)) {
    recordFault(heap, FAULT_PREV_FREE_FLAG, next, 1, 0);
    return false;
  }
  return true;
}

/**
 * nextHolds as a call, for the pointer check, realloc and protect: off free's hot path (heap.ts,
 * which keeps it inline) a call costs less than the bytes of more inline copies (176 for these three).
 */
export function nextHeaderHolds(heap: usize, block: usize): bool {
  return nextHolds(heap, block);
}

/**
 * 0 when the header at `block` is one by its magic and its size keeps the block inside the pool
 * (below `sentinel`), else the fault, recorded (FAULT_BAD_MAGIC or FAULT_BAD_SIZE): what a walk over
 * the blocks asks of each before it steps past it (validate.ts, protect.ts blockHolding).
 */
export function headerFault(heap: usize, block: usize, sentinel: usize): u32 {
  if (!hasValidMagic(block)) return recordFault(heap, FAULT_BAD_MAGIC, block, tagMagic(block), magicFor(block));
  const size = blockSize(block);
  if (size < MIN_BLOCK_SIZE || <u64>block + size > <u64>sentinel) return recordFault(heap, FAULT_BAD_SIZE, block, size, sentinel - block);
  return 0;
}

/**
 * O(1): are the free neighbours that releasing `block` would merge with sound? Records the fault
 * when not. Asked only where a merge follows (a block parked in a small-block cache merges with
 * nothing, and a free that parks one is the hot path: these are two more cache lines).
 */
export function neighboursHold(heap: usize, block: usize): bool {
  const next = block + blockSize(block);
  if (!isUsed(next) && !soundFreeBlock(heap, next, 0)) return false;
  return !isPrevFree(block) || soundFreeBlock(heap, block - load<u32>(block - FOOTER_SIZE_BYTES), block);
}

/**
 * freeBlockHolds, its tests inline where they are asked on every merge and every carve
 * (neighboursHold; heap.ts soundTop and mayCarve): in three stages (bounds; the header; the footer,
 * which only a size inside the pool makes safe to read), each ORed into one branch. Only a block
 * that fails calls freeBlockHolds, which records the fault. Instructions an operation: mixed-sizes
 * 531 -> 514, realloc 1,612 -> 1,532, lifo 395 -> 375; +432 bytes.
 */
// @ts-ignore: decorator
@inline export function soundFreeBlock(heap: usize, free: usize, end: usize): bool {
  const sentinel: usize = load<u32>(heap + HEAP_SENTINEL);
  let sound = false;
  if ((<u32>(free < <usize>load<u32>(heap + HEAP_POOL_START)) | <u32>(free >= sentinel)) == 0) {
    const word = load<u32>(free);
    const size = sizeInWord(word);
    const freeEnd = free + size;
    if ((magicMismatch(free, load<u32>(free, 4)) | (word & USED) | <u32>(size < MIN_BLOCK_SIZE) |
      <u32>(<u64>free + size > <u64>sentinel) | (<u32>(end != 0) & <u32>(freeEnd != end))) == 0) {
      // The footer, and the flag of the header after it (the sentinel's at most), which a free block
      // sets: a live block whose used flag alone a stray write cleared keeps the footer it had when
      // it was free, if it was handed out whole, and was merged with, or carved, over its data. (A
      // flag that is clear is looked at again by freeBlockHolds: its header may be the damage.)
      sound = ((load<u32>(freeEnd - FOOTER_SIZE_BYTES) ^ size) | (~load<u32>(freeEnd) & PREV_FREE)) == 0;
    }
  }
  return sound || freeBlockHolds(heap, free, end);
}

/**
 * O(1): does the free block at `free` look sound (magic, free, a size that ends at `end` when one is
 * given or inside the pool, a footer that agrees)? Records the fault when not. Checked before a
 * free block is merged or carved, so a damaged one is never trusted.
 */
export function freeBlockHolds(heap: usize, free: usize, end: usize): bool {
  const start: usize = load<u32>(heap + HEAP_POOL_START);
  const sentinel: usize = load<u32>(heap + HEAP_SENTINEL);
  // Not tested for 8-alignment: every caller asks about an aligned address (a followed index link, a
  // block's end, the top by its checked footer) or gives the `end` a left neighbour must reach, which
  // no misaligned start reaches with a size (a multiple of 8).
  if (free < start || free >= sentinel || !hasValidMagic(free)) {
    recordFault(heap, FAULT_BAD_MAGIC, free < start || free >= sentinel ? 0 : free, 0, 0);
    return false;
  }
  if (isUsed(free)) {
    recordFault(heap, FAULT_MARKED_USED, free, 1, 0);
    return false;
  }
  const size = blockSize(free);
  if (size < MIN_BLOCK_SIZE || <u64>free + size > <u64>sentinel || (end != 0 && free + size != end)) {
    recordFault(heap, FAULT_BAD_SIZE, free, size, end != 0 ? end - free : sentinel - free);
    return false;
  }
  const footer = load<u32>(free + size - FOOTER_SIZE_BYTES);
  if (footer != size) {
    recordFault(heap, FAULT_BAD_FOOTER, free, footer, size);
    return false;
  }
  // The header after it must say its left neighbour is free. One that does not hold is damage of its
  // own, but its flag may still be right (a magic alone overwritten): a live block whose used flag a
  // stray write cleared, its old footer intact, was merged over when that header's magic was broken
  // too. Refused, the rebuild that follows tells them apart (repair.ts nextSaysFree).
  const after = free + size;
  if (!isPrevFree(after)) {
    recordFault(heap, FAULT_PREV_FREE_FLAG, after, 0, 1);
    return false;
  }
  return true;
}

/**
 * The header at `block` holds: its magic, and a size that could be a block's and keeps it in the pool
 * (the sentinel's, of size 0, does not). Records nothing: for the walks that ask what to trust.
 */
export function headerHolds(block: usize, sentinel: usize): bool {
  if (!hasValidMagic(block)) return false;
  const size = blockSize(block);
  return size >= MIN_BLOCK_SIZE && <u64>block + size <= <u64>sentinel;
}

/** headerHolds, or `block` is the sentinel and its magic holds (its size, 0, is no block's). */
export function headerOrSentinelHolds(block: usize, sentinel: usize): bool {
  return block == sentinel ? hasValidMagic(block) : headerHolds(block, sentinel);
}

/**
 * 0 when the block at `ptr` may be freed or resized (its neighbours aside), else the error code.
 * realloc's check, and free's for every pointer releasableAtOnce does not accept.
 */
// @ts-ignore: decorator
@inline export function checkReleasable(heap: usize, ptr: usize): u32 {
  const problem = checkLiveBlock(heap, ptr);
  if (problem != 0) return problem;
  const block = ptr - HEADER_SIZE;
  if (isInternalBlock(heap, block)) return ERR_INVALID_POINTER;
  if (refuseUnwritable(heap, block)) return ERR_PROTECTION;
  if (checksOn(heap) && !canaryIntact(heap, block)) return ERR_CORRUPTION;
  return 0;
}

// releasableAtOnce, the free's fast acceptance, in two stages: pointerReleasableAtOnce, then
// headerReleasableAtOnce over the header's words, which heapFree loads once and keeps (V8 loads a
// word of shared memory again at every read: 95 -> 93 instructions an operation). True only when
// checkReleasable would answer 0 and checks mode is off, the next block's header aside, without a
// call. False says nothing: checkReleasable then finds the problem, or passes a block this test
// leaves to it (checks mode). A free that parks its block in a cache is the hot path: small-churn
// 289 -> 267 instructions per operation (mixed-sizes 759 -> 736, lifo 478 -> 458; +235 bytes).
// The next header (nextHolds) is left to heapFree, which reads it only when it merges or indexes the
// block: on a heap larger than the machine's caches that header is a second cache miss, which waits
// on the first (its address is the block's size), and the free that parks a block needs nothing
// from it (small-churn 24.3 -> 23.0 ns an operation, 98 -> 72 at 100,000 live blocks; interleaved
// medians; instructions 258 -> 256, first-level cache misses 1.89 -> 1.42).
//
// The second stage reads only what the first proved inside the pool (the block's header). Each
// stage ORs its tests as 0/1 words into one branch: written as a chain of && they compiled to a
// boolean materialised and tested again for every test (V8). Tests that are equalities are XORs,
// nonzero when they fail, ORed as they are: a comparison costs a setcc and a zero-extension besides
// (heap_free on small-churn: 99 -> 95 instructions an operation, valgrind).

/** Both stages, for a caller that does not keep the header's words (realloc). */
// @ts-ignore: decorator
@inline export function releasableAtOnce(heap: usize, ptr: usize): bool {
  const block = ptr - HEADER_SIZE;
  return pointerReleasableAtOnce(heap, ptr) && headerReleasableAtOnce(heap, block, load<u32>(block), load<u32>(block, 4));
}

/** The first stage: the heap ready, checks mode off, `ptr` 8-aligned in [start + 8, sentinel] (one compare, as freeindex.ts followable). */
// @ts-ignore: decorator
@inline export function pointerReleasableAtOnce(heap: usize, ptr: usize): bool {
  const start: usize = load<u32>(heap + HEAP_POOL_START);
  const sentinel: usize = load<u32>(heap + HEAP_SENTINEL);
  return ((load<u32>(heap + CONTROL_STATE) ^ HEAP_READY) | (load<u32>(heap + HEAP_OPTIONS) & OPTION_CHECKS) |
    <u32>(rotr<u32>(<u32>(ptr - HEADER_SIZE - start), 3) > <u32>(sentinel - start - HEADER_SIZE) >> 3)) == 0;
}

/** The second stage, over the header's words `word` and `tag` of `block` (which the first stage put in the pool). */
// @ts-ignore: decorator
@inline export function headerReleasableAtOnce(heap: usize, block: usize, word: u32, tag: u32): bool {
  const sentinel: usize = load<u32>(heap + HEAP_SENTINEL);
  const size = sizeInWord(word);
  return (magicMismatch(block, tag) | ((word & (USED | CACHED)) ^ USED) | (~protectionInTag(tag) & PROT_WRITE) |
    <u32>(size < MIN_BLOCK_SIZE) | <u32>(<usize>size > sentinel - block) | <u32>(slackInTag(tag) > size - HEADER_SIZE) |
    <u32>isInternalBlock(heap, block)) == 0;
}
