// What a heap holds, read without changing it: a block's usable size, the free figures that
// stats() reports, and the walk from block to block that validate(), blocks() and the protection
// bookkeeping follow. O(1) each, but the walks (heapBlockContaining: O(blocks), for error reports).

import { HEADER_SIZE, MIN_BLOCK_SIZE, blockSize, nextBlock, requestedBytes, usableBytes } from "./block";
import { HEAP_POOL_START, HEAP_SENTINEL, HEAP_FREE_BLOCKS, HEAP_FREE_BLOCK_BYTES } from "./control";
import { indexLargest } from "./freeindex";
import { pendingBlocks, pendingBytes, largestPending } from "./pending";
import { checkLiveBlock } from "./pointers";
import { cachedBlocks, cachedBytes, largestCached } from "./caches";
import { quarantinedBlocks, quarantinedBytes, largestHeld } from "./quarantine";
import { checksOn } from "./checks";
import { errorResult } from "./errors";
import { topBlock } from "./heap";

/** Usable bytes of the live block at `ptr`, or an error result. */
export function heapUsableSize(heap: usize, ptr: usize): u32 {
  const problem = checkLiveBlock(heap, ptr);
  if (problem != 0) return errorResult(problem);
  return accessibleBytes(heap, ptr - HEADER_SIZE);
}

/** What a user may touch: the usable bytes, or exactly the requested ones in checks mode. */
// @ts-ignore: decorator
@inline export function accessibleBytes(heap: usize, block: usize): u32 {
  return checksOn(heap) ? requestedBytes(block) : usableBytes(block);
}

/** Free blocks, cached ones included. */
export function heapFreeBlocks(heap: usize): u32 {
  return freeBlocksWith(heap, topBlock(heap));
}

/** The index's, the pending and the held blocks, and the top when there is one (`top`, or 0). */
function freeBlocksWith(heap: usize, top: usize): u32 {
  return load<u32>(heap + HEAP_FREE_BLOCKS) + pendingBlocks(heap) + heapHeldBlocks(heap) + (top != 0 ? 1 : 0);
}

/** Free bytes usable by payloads: the free (and held) blocks' sizes less their headers. */
export function heapFreeBytes(heap: usize): u32 {
  const top = topBlock(heap);
  const topBytes = top != 0 ? blockSize(top) : 0;
  return load<u32>(heap + HEAP_FREE_BLOCK_BYTES) + pendingBytes(heap) + heldBlockBytes(heap) + topBytes - freeBlocksWith(heap, top) * HEADER_SIZE;
}

/**
 * Free blocks held out of the pool, by the small-block caches or checks mode's quarantine (a heap
 * uses one or the other): counted by heapFreeBlocks and heapFreeBytes too, but no request larger
 * than their own sizes can use them until they go back (a failing request, trim()).
 */
export function heapHeldBlocks(heap: usize): u32 {
  return cachedBlocks(heap) + quarantinedBlocks(heap);
}

/** The held blocks' sizes, headers included. */
// @ts-ignore: decorator
@inline function heldBlockBytes(heap: usize): u32 {
  return cachedBytes(heap) + quarantinedBytes(heap);
}

/** Payload bytes of the held blocks (their sizes less their headers, as heapFreeBytes counts). */
export function heapHeldBytes(heap: usize): u32 {
  return heldBlockBytes(heap) - heapHeldBlocks(heap) * HEADER_SIZE;
}

/** Payload bytes of the largest free (or cached) block; 0 when nothing is free. */
export function heapLargestFree(heap: usize): u32 {
  let largest = max(indexLargest(heap), largestPending(heap));
  const cached = max(largestCached(heap), largestHeld(heap));
  if (cached > largest) largest = cached;
  const top = topBlock(heap);
  if (top != 0 && blockSize(top) > largest) largest = blockSize(top);
  return largest == 0 ? 0 : largest - HEADER_SIZE;
}

// @ts-ignore: decorator
@inline export function heapPoolSize(heap: usize): u32 {
  return load<u32>(heap + HEAP_SENTINEL) + HEADER_SIZE - load<u32>(heap + HEAP_POOL_START);
}

/** The first block, for walks. */
export function heapFirstBlock(heap: usize): usize {
  return load<u32>(heap + HEAP_POOL_START);
}

/** The block (used or free) whose payload holds `address`, or 0: a walk, for error reports. */
export function heapBlockContaining(heap: usize, address: usize): usize {
  let block = heapFirstBlock(heap);
  while (block != 0) {
    if (address >= block && address < block + blockSize(block)) return block;
    block = heapNextBlock(heap, block);
  }
  return 0;
}

/** The block after `block` in address order, or 0 at the sentinel (or on a size that leaves the pool). */
export function heapNextBlock(heap: usize, block: usize): usize {
  const sentinel: usize = load<u32>(heap + HEAP_SENTINEL);
  if (block >= sentinel) return 0;
  const size = blockSize(block);
  if (size < MIN_BLOCK_SIZE || <u64>block + size > <u64>sentinel) return 0;
  const next = nextBlock(block);
  return next >= sentinel ? 0 : next;
}
