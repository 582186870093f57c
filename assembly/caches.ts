// Small-block caches: per-size lists of recently freed small blocks, so that the churn of small
// objects (the commonest pattern) is served in O(1) without touching the free index.
//
// Requests of up to CACHE_REQUEST_LIMIT bytes (blocks of up to MAX_CACHED_BLOCK bytes) are served
// first from the cache of their exact block size, else from one of the next SPILL / 8 sizes (a few
// bytes of slack cost less than a trip through the free index, and keep the caches' blocks moving:
// small-churn 48 -> 38 ns/op, reserved / peak 1.20 -> 1.15); a free of such a block parks it in
// the cache of its own size, unmerged, unless it has a free neighbour (then it merges at once:
// parking it would split free space that coalescing keeps whole).
// A parked block keeps its header marked USED | CACHED: its neighbours do not merge with it, while
// statistics, blocks() and validate() count it as free. Bounded: at most CLASS_LIMIT blocks a size,
// at most 1/CACHE_SHARE of the pool in all (or CACHE_BUDGET_FLOOR, in a pool whose share is less),
// and of that at most 1/CLASS_SHARE in one size. When a request would otherwise fail (before the
// pool grows), every cache is flushed back into the free index, where the blocks coalesce.
// Off in checks mode (every freed block is junk-filled and coalesced at once) and with OPTION_NO_CACHES.
//
//    heap + HEAP_CACHES + 0     126 × u32  list heads, one a block size: 32, 40, ..., 1032 bytes (room for 127)
//    heap + HEAP_CACHES + 508   126 × u32  blocks in each list
//    heap + HEAP_CACHES + 1016  u32        cached blocks in all
//    heap + HEAP_CACHES + 1020  u32        cached bytes in all (block sizes)
//
//    a cached block:  header (USED | CACHED; PARKED_MARK below the magic) │ u32 next cached block of
//                     its size │ ...
//
// Invariants (validate.ts): every list holds blocks of its size marked USED | CACHED, the counts
// agree with the lists, and every block so marked is in its list.

import { HEADER_SIZE, MIN_BLOCK_SIZE, USED, CACHED, sizeInWord, magicMismatch, clearFlag } from "./block";
import { HEAP_CACHES, HEAP_OPTIONS, OPTION_CHECKS, OPTION_NO_CACHES, OPTION_CACHES_PAUSED, HEAP_POOL_START, HEAP_SENTINEL } from "./control";
import { markIndexDamagedRecorded } from "./freeindex";
import { FAULT_CACHE, recordFault } from "./faults";
import { releaseBlock } from "./heap";
import { neighboursHold } from "./pointers";

export const CACHE_REQUEST_LIMIT: u32 = 1024;
export const MAX_CACHED_BLOCK: u32 = 1032;
const HEADS: usize = 0;
const COUNTS: usize = 508;
const CACHED_BLOCKS: usize = 1016;
const CACHED_BYTES: usize = 1020;
const CLASS_LIMIT: u32 = 64;
/**
 * The caches' budget, a share of the pool: an eighth, where a sixteenth left a heap of blocks up to
 * 1 KiB too few a size (1,000 live blocks of 16..1,024 bytes: 33.7 -> 23.0 ns an operation, TLSF
 * 32.6; small-churn, mixed-sizes, realloc, lifo and 10,000 live of 16..1,024 bytes unchanged, and
 * reserved / peak live the same on all: the caches are flushed before the pool grows).
 */
const CACHE_SHARE: u32 = 8;
/**
 * The budget of a pool under 256 KiB: its share parked too few blocks a size for a small heap's
 * churn to stay in the caches (blocks of 8..256 bytes, interleaved medians: 100 live 20.7 -> 12.9 ns
 * an operation, 300 live 24.8 -> 12.6, 1,000 live 15.9 -> 13.0, 3,000 live unchanged at 15.2;
 * TLSF 24.1, 22.1, 19.9, 19.7 there, measured against a sixteenth of the pool; 64 KiB gained 0.3 ns
 * at 1,000 live and lost 0.7 at 3,000). Reserved memory does not follow it (the same on all four):
 * the caches are flushed before the pool grows or a request fails.
 */
const CACHE_BUDGET_FLOOR: u32 = 32768;
const CLASS_SHARE: u32 = 4;
/**
 * How many bytes larger than it needs a cached block may be when the exact size has none. As much as
 * a block can be larger than its request when it was handed out whole (its rest, under
 * MIN_BLOCK_SIZE, could not stay free): blocks of 24 bytes more were stranded in their size (1,000
 * live small blocks: 269 -> 232 instructions an operation with 16 -> 24; small-churn 235 -> 238).
 */
const SPILL: u32 = 24;

/**
 * What a parked block's tag holds below its magic, where a live block keeps its slack and protection:
 * a slack no block the caches hold can have. The index rebuild (repair.ts) folds a block marked
 * parked into the free space only when it carries it: a live block whose cached flag a stray write
 * set does not, and was handed out again. (The lists could not say: a damaged one leaves the blocks
 * after the damage unreachable, and those are parked all the same.)
 */
export const PARKED_MARK: u32 = 0xcac4;

// @ts-ignore: decorator
@inline function classOf(size: u32): usize {
  return <usize>((size - MIN_BLOCK_SIZE) >> 3) << 2;
}

// @ts-ignore: decorator
@inline export function cachesOn(heap: usize): bool {
  return (load<u32>(heap + HEAP_OPTIONS) & (OPTION_CHECKS | OPTION_NO_CACHES | OPTION_CACHES_PAUSED)) == 0;
}

// @ts-ignore: decorator
@inline export function cachedBlocks(heap: usize): u32 {
  return load<u32>(heap + HEAP_CACHES + CACHED_BLOCKS);
}
// @ts-ignore: decorator
@inline export function cachedBytes(heap: usize): u32 {
  return load<u32>(heap + HEAP_CACHES + CACHED_BYTES);
}

/** Size of the largest cached block, 0 when none. */
export function largestCached(heap: usize): u32 {
  for (let size = MAX_CACHED_BLOCK; size >= MIN_BLOCK_SIZE; size -= 8) {
    if (load<u32>(heap + HEAP_CACHES + COUNTS + classOf(size)) != 0) return size;
  }
  return 0;
}

/** A cached block of `need` bytes, or up to SPILL more, still marked USED (CACHED cleared), or 0. */
// @ts-ignore: decorator
@inline export function cacheTake(heap: usize, need: u32): usize {
  if (need > MAX_CACHED_BLOCK) return 0;
  const largestTaken = min(need + SPILL, MAX_CACHED_BLOCK);
  let size = need;
  let slot = heap + HEAP_CACHES + classOf(size);
  let block: usize = load<u32>(slot + HEADS);
  while (block == 0) {
    if (size >= largestTaken) return 0;
    size += 8;
    slot += 4; // the next size's list head
    block = load<u32>(slot + HEADS);
  }
  if (!cachedBlockHolds(heap, block, size)) {
    cacheListDamaged(heap, size, load<u32>(slot + COUNTS)); // CORRUPTION once the call is over, and the heap rebuilt
    return 0;
  }
  store<u32>(slot + HEADS, load<u32>(block, HEADER_SIZE));
  store<u32>(slot + COUNTS, load<u32>(slot + COUNTS) - 1);
  store<u32>(heap + HEAP_CACHES + CACHED_BLOCKS, cachedBlocks(heap) - 1);
  store<u32>(heap + HEAP_CACHES + CACHED_BYTES, cachedBytes(heap) - size);
  clearFlag(block, CACHED);
  return block;
}

/** Parks a used block (`size` bytes, its header's first word `word`) in its cache when there is room; false when it must be freed for real. */
// @ts-ignore: decorator
@inline export function cachePut(heap: usize, block: usize, size: u32, word: u32, poolSize: u32): bool {
  if (size > MAX_CACHED_BLOCK) return false;
  const slot = heap + HEAP_CACHES + classOf(size);
  const count = load<u32>(slot + COUNTS);
  const bytes = cachedBytes(heap) + size;
  const budget = max(poolSize / CACHE_SHARE, CACHE_BUDGET_FLOOR);
  // No size may hold more than 1/CLASS_SHARE of the budget: blocks of a size that no request takes
  // (a block taken whole, its few bytes more than asked, freed at a size nobody asks for) would fill
  // it and starve the others (1,000 live small blocks: 288-byte blocks held 11.5 of 11.8 KB, and a
  // third of the mallocs missed the caches; with this bound 7%, and 306 -> 269 instructions an
  // operation, for 3 more on small-churn).
  if ((<u32>(count >= CLASS_LIMIT) | <u32>(bytes > budget)) != 0) return false;
  if ((count + 1) * size > budget / CLASS_SHARE) return false;
  store<u32>(block, word | CACHED);
  store<u16>(block, <u16>PARKED_MARK, 4); // (a hand-out writes the tag anew)
  store<u32>(block, load<u32>(slot + HEADS), HEADER_SIZE);
  store<u32>(slot + HEADS, <u32>block);
  store<u32>(slot + COUNTS, count + 1);
  store<u32>(heap + HEAP_CACHES + CACHED_BLOCKS, cachedBlocks(heap) + 1);
  store<u32>(heap + HEAP_CACHES + CACHED_BYTES, bytes);
  return true;
}

/** A cached block that may be used: in the pool, its magic, USED | CACHED, the size of its list. */
// @ts-ignore: decorator
@inline function cachedBlockHolds(heap: usize, block: usize, size: u32): bool {
  const start: usize = load<u32>(heap + HEAP_POOL_START);
  // 8-aligned and in [start, sentinel) in one compare (as freeindex.ts followable); then the header's
  // tests ORed, one branch (a chain of && compiled to a boolean materialised per test), each an XOR
  // that is nonzero when it fails (see pointers.ts releasableAtOnce).
  if (rotr<u32>(<u32>(block - start), 3) >= (load<u32>(heap + HEAP_SENTINEL) - <u32>start) >> 3) return false;
  const word = load<u32>(block);
  return (magicMismatch(block, load<u32>(block, 4)) | ((word & (USED | CACHED)) ^ (USED | CACHED)) | (sizeInWord(word) ^ size)) == 0;
}

/**
 * A cache list of `size`-byte blocks leads to a block that is not one (a stray write over a parked
 * block's link or header): recorded as such, `count` blocks still counted on it, and reported as
 * damage (CORRUPTION once the call is over; the rebuild folds every cached block back).
 */
function cacheListDamaged(heap: usize, size: u32, count: u32): void {
  recordFault(heap, FAULT_CACHE, 0, size, count);
  markIndexDamagedRecorded();
}

/**
 * Hands every cached block back to the free index (through releaseBlock, where it coalesces) and
 * empties the lists. A list that leads somewhere unsound is cut there and reported as damage.
 */
export function cacheFlush(heap: usize): void {
  for (let size = MIN_BLOCK_SIZE; size <= MAX_CACHED_BLOCK; size += 8) {
    const slot = heap + HEAP_CACHES + classOf(size);
    let block: usize = load<u32>(slot + HEADS);
    let left = load<u32>(slot + COUNTS);
    store<u32>(slot + HEADS, 0);
    store<u32>(slot + COUNTS, 0);
    while (block != 0 && left > 0) {
      // A neighbour it would merge with may have been damaged while it was parked.
      if (!cachedBlockHolds(heap, block, size)) {
        cacheListDamaged(heap, size, left);
        break;
      }
      if (!neighboursHold(heap, block)) {
        markIndexDamagedRecorded(); // its fault names the neighbour
        break;
      }
      const next: usize = load<u32>(block, HEADER_SIZE);
      clearFlag(block, CACHED);
      releaseBlock(heap, block);
      block = next;
      left--;
    }
  }
  store<u32>(heap + HEAP_CACHES + CACHED_BLOCKS, 0);
  store<u32>(heap + HEAP_CACHES + CACHED_BYTES, 0);
}

/** Forgets every cached block without touching them (the index rebuild re-reads the blocks). */
export function cacheForget(heap: usize): void {
  memory.fill(heap + HEAP_CACHES, 0, CACHED_BYTES + 4);
}

/** validate(): the lists hold exactly `blocks` blocks of `bytes` bytes, all sound. 0, or the bad list's size. */
export function cacheCheck(heap: usize, blocks: u32, bytes: u32): u32 {
  let seenBlocks: u32 = 0;
  let seenBytes: u32 = 0;
  for (let size = MIN_BLOCK_SIZE; size <= MAX_CACHED_BLOCK; size += 8) {
    const slot = heap + HEAP_CACHES + classOf(size);
    const count = load<u32>(slot + COUNTS);
    let block: usize = load<u32>(slot + HEADS);
    for (let i: u32 = 0; i < count; i++) {
      if (!cachedBlockHolds(heap, block, size)) return size;
      block = load<u32>(block, HEADER_SIZE);
    }
    if (block != 0) return size;
    seenBlocks += count;
    seenBytes += count * size;
  }
  if (seenBlocks != blocks || seenBlocks != cachedBlocks(heap) || seenBytes != bytes || seenBytes != cachedBytes(heap)) return 1;
  return 0;
}
