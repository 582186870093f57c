// The exported ABI: what the host (host/) calls. Each entry takes the allocator's control-block
// address first, so several allocators can live in one memory (the as-pect specs rely on that).
//
// Locking: every export that reads or changes allocator state takes the allocator's lock (lock.ts)
// for its whole duration, except the walk accessors at the end, which the host calls between
// allocator_lock and allocator_unlock so that a walk sees one consistent heap.
//
// Results: pointers and sizes are u32; an error is `0 - code` (errors.ts), 0 is NULL.

import { lockAcquire, lockRelease, lockSetFace, lockFace, lockTakeOver } from "./lock";
import {
  heapInit, heapMalloc, heapCalloc, heapAllocate, heapFree, poolStartFor, allocateInline, freeInline,
} from "./heap";
import { heapRealloc } from "./realloc";
import { heapClear } from "./clear";
import {
  heapUsableSize, heapFreeBytes, heapLargestFree, heapPoolSize, heapFirstBlock, heapNextBlock,
  heapBlockContaining, heapFreeBlocks, heapHeldBlocks, heapHeldBytes,
} from "./queries";
import { settle, heapAfterTakeOver } from "./repair";
import { heapProtect, heapProtection, heapAccess, isInternalBlock } from "./protect";
import { heapValidate } from "./validate";
import { statsReset, statRead } from "./stats";
import { indexDamaged } from "./freeindex";
import { cacheFlush } from "./caches";
import { quarantineFlush, WRITTEN_AFTER_FREE } from "./quarantine";
import {
  stackInit, stackPush, stackPop, stackMark, stackReset, stackClear, stackBlockSize, stackUsed,
  stackCapacity, stackDepth, stackFreeBytes, stackAfterTakeOver, STACK_READY,
} from "./stack";
import {
  CONTROL_LOCK, CONTROL_STATE, CONTROL_STATS, ALLOCATOR_DESTROYED, HEAP_READY, HEAP_ALIGNMENT,
  HEAP_FAULT_BLOCK, HEAP_FAULT_FOUND, HEAP_FAULT_EXPECTED, HEAP_FAULT_REASON,
} from "./control";
import { HEADER_SIZE, isLive, isCondemned, protectionOf, requestedBytes, usableBytes, alignUp, blockSize } from "./block";
import { ERR_DESTROYED, ERR_CORRUPTION, errorResult } from "./errors";

// ─── Geometry ────────────────────────────────────────────────────────────────────────────────────

/** Lowest address an allocator's region may start at: everything below belongs to the module. */
export function region_start(): usize {
  return alignUp(__heap_base, 64);
}

/** Where a heap at `heap` puts its first block, for the host to size the memory. */
export function heap_pool_start_for(heap: usize, alignment: u32): usize {
  return poolStartFor(heap, alignment);
}


// ─── Heap: locked operations ─────────────────────────────────────────────────────────────────────

// Whether this instance's allocators are used by this thread alone. Per instance (a wasm global),
// and every thread has its own instance: the host sets it for an allocator it has just created, in
// a memory no other thread has been handed, and clears it when the allocator's handle is read, which
// is the only way to another thread (MemoryManager.attach / StackAllocator.attach take a handle) and
// happens in this thread, between calls, before the handle can be posted. Until then the lock has
// nobody to exclude, and its two atomic read-modify-writes are about 5 ns of a 34 ns operation.
// An attached instance never sets it; nor do the specs, which keep the lock.
let soleThread = false;

/** The host's switch: true for a new allocator's instance, false once its handle was read. */
export function instance_set_sole_thread(sole: bool): void {
  soleThread = sole;
}

// The lock word this instance's call took in enter and has not yet released in leave, 0 when none.
// A call traps only when memory it trusts was overwritten (the control block: its pool bounds, say,
// which no check defends), and a trap leaves the function at once, past leave: the host then calls
// instance_after_trap, which releases the lock, so that this thread's next call and every other
// thread's do not wait for it forever. Per instance, so per thread, as soleThread.
let heldLock: usize = 0;

/** Takes the allocator's lock (unless one thread alone uses it): every operation below runs between enter and leave. */
// @ts-ignore: decorator
@inline function enter(base: usize): void {
  if (!soleThread) {
    lockAcquire(base + CONTROL_LOCK);
    heldLock = base + CONTROL_LOCK;
  }
}

/** After a call of this instance trapped (see heldLock): releases the lock it took. */
export function instance_after_trap(): void {
  if (heldLock != 0) lockRelease(heldLock);
  heldLock = 0;
}

/**
 * Settles the result (CORRUPTION when the free index met damage, which is then repaired: see
 * repair.ts settle) and releases the lock. A stack never damages a heap index: settle passes it by.
 */
// @ts-ignore: decorator
@inline function leave<T>(base: usize, result: T): T {
  // The check inline: the call only on damage.
  return leaveStack(base, indexDamaged() ? <T>settle(base, <usize>result) : result);
}

/** leave, for a stack: no free index to settle; the lock released. */
// @ts-ignore: decorator
@inline function leaveStack<T>(base: usize, result: T): T {
  if (!soleThread) {
    heldLock = 0;
    lockRelease(base + CONTROL_LOCK);
  }
  return result;
}

/** `quarantineBytes`: checks mode's quarantine (quarantine.ts); 0, as a caller that passes six arguments gets, is none. */
export function heap_init(heap: usize, poolBytes: u32, limitBytes: u32, alignment: u32, policy: u32, options: u32, quarantineBytes: u32): u32 {
  return heapInit(heap, poolBytes, limitBytes, alignment, policy, options, quarantineBytes);
}

export function heap_malloc(heap: usize, size: u32): usize {
  enter(heap);
  // At the default alignment by construction: said as a constant, as the memory's word may not be
  // assumed unchanged between two loads of it (shared memory), the compare was made every time.
  return leave(heap, allocateInline(heap, size, load<u32>(heap + HEAP_ALIGNMENT), true));
}

export function heap_calloc(heap: usize, count: u32, size: u32): usize {
  enter(heap);
  return leave(heap, heapCalloc(heap, count, size));
}

export function heap_realloc(heap: usize, ptr: usize, size: u32): usize {
  enter(heap);
  return leave(heap, heapRealloc(heap, ptr, size));
}

export function heap_aligned_alloc(heap: usize, alignment: u32, size: u32): usize {
  enter(heap);
  const defaultAlignment = load<u32>(heap + HEAP_ALIGNMENT);
  return leave(heap, heapAllocate(heap, size, alignment > defaultAlignment ? alignment : defaultAlignment));
}

export function heap_free(heap: usize, ptr: usize): u32 {
  enter(heap);
  return leave(heap, freeInline(heap, ptr));
}

export function heap_usable_size(heap: usize, ptr: usize): u32 {
  enter(heap);
  return leave(heap, heapUsableSize(heap, ptr));
}

export function heap_protect(heap: usize, ptr: usize, size: u32, prot: u32): u32 {
  enter(heap);
  return leave(heap, heapProtect(heap, ptr, size, prot));
}

export function heap_protection(heap: usize, ptr: usize): u32 {
  enter(heap);
  return leave(heap, heapProtection(heap, ptr));
}

export function heap_access(heap: usize, ptr: usize, required: u32): u32 {
  enter(heap);
  return leave(heap, heapAccess(heap, ptr, required));
}

/**
 * Hands every block held in the small-block caches, or in checks mode's quarantine, back to the free
 * index, where it coalesces. CORRUPTION when a held block was written after its free.
 */
export function heap_trim(heap: usize): u32 {
  enter(heap);
  if (load<u32>(heap + CONTROL_STATE) != HEAP_READY) return leave(heap, errorResult(ERR_DESTROYED));
  cacheFlush(heap);
  const flushed = quarantineFlush(heap);
  return leave(heap, flushed == WRITTEN_AFTER_FREE ? errorResult(ERR_CORRUPTION) : 0);
}

/** Frees every block at once (clear.ts); PROTECTION while a block lacks Write, nothing changed. */
export function heap_clear(heap: usize): u32 {
  enter(heap);
  return leave(heap, heapClear(heap));
}

export function heap_validate(heap: usize): u32 {
  enter(heap);
  return leave(heap, heapValidate(heap));
}

// ─── Heap and stack alike (the shared control-block words, control.ts) ───────────────────────────

export function allocator_reset_stats(base: usize): u32 {
  lockAcquire(base + CONTROL_LOCK);
  const alive = load<u32>(base + CONTROL_STATE) != ALLOCATOR_DESTROYED;
  if (alive) statsReset(base + CONTROL_STATS);
  lockRelease(base + CONTROL_LOCK);
  return alive ? 0 : errorResult(ERR_DESTROYED);
}

export function allocator_destroy(base: usize): void {
  lockAcquire(base + CONTROL_LOCK);
  store<u32>(base + CONTROL_STATE, ALLOCATOR_DESTROYED);
  lockRelease(base + CONTROL_LOCK);
}

export function allocator_is_destroyed(base: usize): bool {
  return atomic.load<u32>(base + CONTROL_STATE) == ALLOCATOR_DESTROYED;
}

/** The host's name for this instance (a random nonzero u32): the face a lock's holder word names (lock.ts). */
export function instance_set_face(name: u32): void {
  lockSetFace(name);
}

export function instance_face(): u32 {
  return lockFace();
}

/**
 * When the allocator's lock is taken by the face named `dead` (a thread that stopped for good
 * inside a call or an exclusive()): this instance takes it over, repairs what such a call may have
 * left half done (repair.ts heapAfterTakeOver, stack.ts stackAfterTakeOver), validates, and
 * releases it. 0 when that face does not hold the lock (nothing done); 1 when it was taken over and
 * the allocator holds; CORRUPTION (the lock released all the same) when a header does not hold.
 */
export function allocator_take_over(base: usize, dead: u32): u32 {
  if (!lockTakeOver(base + CONTROL_LOCK, dead)) return 0;
  heldLock = base + CONTROL_LOCK; // released by instance_after_trap, should a repair trap
  const state = load<u32>(base + CONTROL_STATE);
  let sound = true;
  if (state == HEAP_READY) {
    sound = heapAfterTakeOver(base) && heapValidate(base, false) == 0;
  } else if (state == STACK_READY) {
    sound = stackAfterTakeOver(base);
  }
  heldLock = 0;
  lockRelease(base + CONTROL_LOCK);
  return sound ? 1 : errorResult(ERR_CORRUPTION);
}

/** For reads that must see one consistent state: take the lock, read, release. */
export function allocator_lock(base: usize): void {
  lockAcquire(base + CONTROL_LOCK);
}

export function allocator_unlock(base: usize): void {
  lockRelease(base + CONTROL_LOCK);
}

export function allocator_stats_address(base: usize): usize {
  return base + CONTROL_STATS;
}

/** A u64 statistic of the record at `stats` (named by its stats.ts offset), as a double for JavaScript. */
export function stat_read(stats: usize, field: usize): f64 {
  return <f64>statRead(stats, field);
}

export function heap_free_bytes(heap: usize): u32 { return heapFreeBytes(heap); }
export function heap_largest_free(heap: usize): u32 { return heapLargestFree(heap); }
export function heap_pool_size(heap: usize): u32 { return heapPoolSize(heap); }
export function heap_free_blocks(heap: usize): u32 { return heapFreeBlocks(heap); }
export function heap_held_blocks(heap: usize): u32 { return heapHeldBlocks(heap); }
export function heap_held_bytes(heap: usize): u32 { return heapHeldBytes(heap); }
export function heap_fault_reason(heap: usize): u32 { return load<u32>(heap + HEAP_FAULT_REASON); }
export function heap_block_containing(heap: usize, address: usize): usize { return heapBlockContaining(heap, address); }
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
/** Live: used and not parked in a small-block cache (cached blocks are listed as free). */
export function block_is_used(block: usize): bool { return isLive(block); }
/** Requested bytes of a live block, usable bytes of a free one (as blocks() reports them). */
export function block_reported_size(block: usize): u32 {
  return isLive(block) && !isCondemned(block) ? requestedBytes(block) : usableBytes(block);
}
export function block_protection(block: usize): u32 { return isLive(block) ? protectionOf(block) : 0; }

// ─── Stack ───────────────────────────────────────────────────────────────────────────────────────

export function stack_init(stack: usize, poolBytes: u32, alignment: u32): u32 {
  return stackInit(stack, poolBytes, alignment);
}

export function stack_push(stack: usize, size: u32, alignment: u32): usize {
  enter(stack);
  return leaveStack(stack, stackPush(stack, size, alignment));
}

export function stack_pop(stack: usize, ptr: usize): u32 {
  enter(stack);
  return leaveStack(stack, stackPop(stack, ptr));
}

export function stack_mark(stack: usize): u32 {
  enter(stack);
  return leaveStack(stack, stackMark(stack));
}

export function stack_reset(stack: usize, marker: usize): u32 {
  enter(stack);
  return leaveStack(stack, stackReset(stack, marker));
}

export function stack_clear(stack: usize): u32 {
  enter(stack);
  return leaveStack(stack, stackClear(stack));
}

export function stack_block_size(stack: usize, ptr: usize): u32 {
  enter(stack);
  return leaveStack(stack, stackBlockSize(stack, ptr));
}

// Between allocator_lock and allocator_unlock:
export function stack_used(stack: usize): u32 { return stackUsed(stack); }
export function stack_capacity(stack: usize): u32 { return stackCapacity(stack); }
export function stack_depth(stack: usize): u32 { return stackDepth(stack); }
export function stack_free_bytes(stack: usize): u32 { return stackFreeBytes(stack); }

// ─── Without the lock ────────────────────────────────────────────────────────────────────────────
// For a caller that already holds the lock (StackAllocator.exclusive), and for the test that shows
// the thread-stress test has teeth: the same workload through these must be detected as broken.

export function unlocked_heap_malloc(heap: usize, size: u32): usize { return heapMalloc(heap, size); }
export function unlocked_heap_realloc(heap: usize, ptr: usize, size: u32): usize { return heapRealloc(heap, ptr, size); }
export function unlocked_heap_free(heap: usize, ptr: usize): u32 { return heapFree(heap, ptr); }
export function unlocked_stack_push(stack: usize, size: u32, alignment: u32): usize { return stackPush(stack, size, alignment); }
export function unlocked_stack_pop(stack: usize, ptr: usize): u32 { return stackPop(stack, ptr); }
export function unlocked_stack_mark(stack: usize): u32 { return stackMark(stack); }
export function unlocked_stack_reset(stack: usize, marker: usize): u32 { return stackReset(stack, marker); }
export function unlocked_stack_clear(stack: usize): u32 { return stackClear(stack); }
export function unlocked_stack_block_size(stack: usize, ptr: usize): u32 { return stackBlockSize(stack, ptr); }
export function block_extent(block: usize): u32 { return blockSize(block); }
export function heap_pool_start(heap: usize): usize { return heapFirstBlock(heap); }
