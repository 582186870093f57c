// The exported ABI: what the host (host/) calls. Each entry takes the allocator's control-block
// address first, so several allocators can live in one memory (the as-pect specs rely on that).
//
// Locking: every export that reads or changes allocator state takes the allocator's lock (lock.ts)
// for its whole duration, except the walk accessors at the end, which the host calls between
// heap_lock and heap_unlock so that a walk sees one consistent heap.
//
// Results: pointers and sizes are u32; an error is `0 - code` (errors.ts), 0 is NULL.

import { lockAcquire, lockRelease } from "./lock";
import {
  heapInit, heapMalloc, heapCalloc, heapRealloc, heapAllocate, heapFree, heapUsableSize,
  heapRequestedSize, heapFreeBytes, heapLargestFree, heapPoolSize, heapFirstBlock, heapNextBlock,
  poolStartFor,
} from "./heap";
import { heapProtect, heapProtection, heapAccess, isInternalBlock } from "./protect";
import { heapValidate } from "./validate";
import { statsReset } from "./stats";
import {
  HEAP_LOCK, HEAP_STATE, HEAP_STATS, HEAP_DESTROYED, HEAP_FREE_BLOCKS, HEAP_ALIGNMENT,
  HEAP_FAULT_BLOCK, HEAP_FAULT_FOUND, HEAP_FAULT_EXPECTED, HEAP_CONTROL_SIZE,
} from "./control";
import { HEADER_SIZE, isUsed, protectionOf, requestedBytes, usableBytes, alignUp } from "./block";
import { ERR_DESTROYED, errorResult } from "./errors";

// ─── Geometry ────────────────────────────────────────────────────────────────────────────────────

/** Lowest address an allocator's region may start at: everything below belongs to the module. */
export function region_start(): usize {
  return alignUp(__heap_base, 64);
}

/** Where a heap at `heap` puts its first block, for the host to size the memory. */
export function heap_pool_start_for(heap: usize, alignment: u32): usize {
  return poolStartFor(heap, alignment);
}

export const HEAP_CONTROL_BYTES: u32 = <u32>HEAP_CONTROL_SIZE;

// ─── Heap: locked operations ─────────────────────────────────────────────────────────────────────

export function heap_init(heap: usize, poolBytes: u32, limitBytes: u32, alignment: u32, policy: u32, options: u32): u32 {
  return heapInit(heap, poolBytes, limitBytes, alignment, policy, options);
}

export function heap_malloc(heap: usize, size: u32): usize {
  lockAcquire(heap + HEAP_LOCK);
  const result = heapMalloc(heap, size);
  lockRelease(heap + HEAP_LOCK);
  return result;
}

export function heap_calloc(heap: usize, count: u32, size: u32): usize {
  lockAcquire(heap + HEAP_LOCK);
  const result = heapCalloc(heap, count, size);
  lockRelease(heap + HEAP_LOCK);
  return result;
}

export function heap_realloc(heap: usize, ptr: usize, size: u32): usize {
  lockAcquire(heap + HEAP_LOCK);
  const result = heapRealloc(heap, ptr, size);
  lockRelease(heap + HEAP_LOCK);
  return result;
}

export function heap_aligned_alloc(heap: usize, alignment: u32, size: u32): usize {
  lockAcquire(heap + HEAP_LOCK);
  const defaultAlignment = load<u32>(heap + HEAP_ALIGNMENT);
  const result = heapAllocate(heap, size, alignment > defaultAlignment ? alignment : defaultAlignment);
  lockRelease(heap + HEAP_LOCK);
  return result;
}

export function heap_free(heap: usize, ptr: usize): u32 {
  lockAcquire(heap + HEAP_LOCK);
  const result = heapFree(heap, ptr);
  lockRelease(heap + HEAP_LOCK);
  return result;
}

export function heap_usable_size(heap: usize, ptr: usize): u32 {
  lockAcquire(heap + HEAP_LOCK);
  const result = heapUsableSize(heap, ptr);
  lockRelease(heap + HEAP_LOCK);
  return result;
}

export function heap_requested_size(heap: usize, ptr: usize): u32 {
  lockAcquire(heap + HEAP_LOCK);
  const result = heapRequestedSize(heap, ptr);
  lockRelease(heap + HEAP_LOCK);
  return result;
}

export function heap_protect(heap: usize, ptr: usize, size: u32, prot: u32): u32 {
  lockAcquire(heap + HEAP_LOCK);
  const result = heapProtect(heap, ptr, size, prot);
  lockRelease(heap + HEAP_LOCK);
  return result;
}

export function heap_protection(heap: usize, ptr: usize): u32 {
  lockAcquire(heap + HEAP_LOCK);
  const result = heapProtection(heap, ptr);
  lockRelease(heap + HEAP_LOCK);
  return result;
}

export function heap_access(heap: usize, ptr: usize, required: u32): u32 {
  lockAcquire(heap + HEAP_LOCK);
  const result = heapAccess(heap, ptr, required);
  lockRelease(heap + HEAP_LOCK);
  return result;
}

export function heap_validate(heap: usize): u32 {
  lockAcquire(heap + HEAP_LOCK);
  const result = heapValidate(heap);
  lockRelease(heap + HEAP_LOCK);
  return result;
}

export function heap_reset_stats(heap: usize): u32 {
  lockAcquire(heap + HEAP_LOCK);
  const ready = load<u32>(heap + HEAP_STATE) != HEAP_DESTROYED;
  if (ready) statsReset(heap + HEAP_STATS);
  lockRelease(heap + HEAP_LOCK);
  return ready ? 0 : errorResult(ERR_DESTROYED);
}

export function heap_destroy(heap: usize): void {
  lockAcquire(heap + HEAP_LOCK);
  store<u32>(heap + HEAP_STATE, HEAP_DESTROYED);
  lockRelease(heap + HEAP_LOCK);
}

export function heap_is_destroyed(heap: usize): bool {
  return atomic.load<u32>(heap + HEAP_STATE) == HEAP_DESTROYED;
}

// ─── Reads for a consistent snapshot: call between heap_lock and heap_unlock ─────────────────────

export function heap_lock(heap: usize): void {
  lockAcquire(heap + HEAP_LOCK);
}

export function heap_unlock(heap: usize): void {
  lockRelease(heap + HEAP_LOCK);
}

/** A u64 statistic of the record at `stats` (stats.ts offsets), as a double for JavaScript. */
export function stat_read(stats: usize, field: usize): f64 {
  return <f64>load<u64>(stats + field);
}

export function heap_stats_address(heap: usize): usize {
  return heap + HEAP_STATS;
}
export function heap_free_bytes(heap: usize): u32 { return heapFreeBytes(heap); }
export function heap_largest_free(heap: usize): u32 { return heapLargestFree(heap); }
export function heap_pool_size(heap: usize): u32 { return heapPoolSize(heap); }
export function heap_free_blocks(heap: usize): u32 { return load<u32>(heap + HEAP_FREE_BLOCKS); }
export function heap_fault_block(heap: usize): u32 { return load<u32>(heap + HEAP_FAULT_BLOCK); }
export function heap_fault_found(heap: usize): u32 { return load<u32>(heap + HEAP_FAULT_FOUND); }
export function heap_fault_expected(heap: usize): u32 { return load<u32>(heap + HEAP_FAULT_EXPECTED); }

/** Walk: the first block that users may see, then each next one; 0 at the end. */
export function heap_walk_first(heap: usize): usize {
  return skipInternal(heap, heapFirstBlock(heap));
}
export function heap_walk_next(heap: usize, block: usize): usize {
  return skipInternal(heap, heapNextBlock(heap, block));
}
function skipInternal(heap: usize, block: usize): usize {
  return block != 0 && isInternalBlock(heap, block) ? heapNextBlock(heap, block) : block;
}
export function block_payload(block: usize): usize { return block + HEADER_SIZE; }
export function block_is_used(block: usize): bool { return isUsed(block); }
/** Requested bytes of a used block, usable bytes of a free one (as blocks() reports them). */
export function block_reported_size(block: usize): u32 {
  return isUsed(block) ? requestedBytes(block) : usableBytes(block);
}
export function block_protection(block: usize): u32 { return isUsed(block) ? protectionOf(block) : 0; }
