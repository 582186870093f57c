/// <reference lib="esnext.disposable" preserve="true" />
// Options, public types and their defaults. The implementation lives in memory-manager.ts and
// stack-allocator.ts; this file is what a user reads to know what they can pass and get back.

/** Protection bit flags, with the C values of the seed (mprotect's PROT_*). */
export enum Protection {
  None = 0,
  Read = 1,
  Write = 2,
  Execute = 4,
  ReadWrite = 3,
  ReadExecute = 5,
  WriteExecute = 6,
  ReadWriteExecute = 7,
}

export type Policy = 'first-fit' | 'best-fit'

/** StackAllocator.frame(): disposing it frees what was pushed after it (see frame()). */
export interface StackFrame extends Disposable {
  /** The top when the frame was made: what mark() returned. */
  readonly marker: number
}

export interface MemoryManagerOptions {
  /** Bytes of pool at start. @defaultValue 1 MiB */
  size?: number
  /** Growth limit: a request that does not fit grows the pool up to this. @defaultValue `size` */
  maxSize?: number
  /** Default alignment of every block: a power of two from 8 to 4096. @defaultValue 8 */
  alignment?: number
  /** Placement policy. @defaultValue 'first-fit' */
  policy?: Policy
  /** Shared memory, so that other threads can attach. @defaultValue true where SharedArrayBuffer is usable */
  shared?: boolean
  /**
   * A WebAssembly.Memory of your own to allocate in (one another module imports, say), instead of a
   * new one: the allocator uses the bytes from `offset` to `offset + size` (its control block
   * included) and, for a heap, grows up to `offset + maxSize`; the memory's sharedness decides
   * `shared`. Needs `offset`. @defaultValue a new memory of the allocator's own
   */
  memory?: WebAssembly.Memory
  /** With `memory`: the first byte of it the allocator may use. */
  offset?: number
  /** Extra corruption checks (red zones, junk fill, validation on free). @defaultValue false */
  checks?: boolean
  /**
   * checks mode: validate the whole heap (O(blocks)) on every n-th free instead of on every free,
   * so that a large heap stays usable under checks; the freed block's red zone and its neighbours'
   * headers are still checked on every free. Only with `checks: true`. @defaultValue 1
   */
  validateEvery?: number
  /**
   * checks mode: hold freed blocks out of use, oldest out first, up to this many bytes of blocks, so
   * that a write through a dangling pointer lands in checked junk instead of in a block already
   * handed out again (found when the block leaves, by validate(), or on trim()). Only with
   * `checks: true`; 0 is none. @defaultValue 0
   */
  quarantine?: number
  /**
   * Serve small requests (up to 1 KiB) first from per-size caches of recently freed blocks: O(1)
   * for the churn of small objects. Off: every request is placed by the policy. @defaultValue true
   */
  smallBlockCaches?: boolean
  /** Record where each block was allocated (a stack trace) and its tag, for leaks(). @defaultValue false */
  trackAllocations?: boolean
  /**
   * Milliseconds one call may wait for the thread lock before it throws `LOCK_TIMEOUT`, having done
   * nothing: a thread stopped inside a call (worker.terminate()) never releases the lock, and
   * without a timeout every later call of every thread waits for ever. @defaultValue Infinity
   */
  lockTimeout?: number
}

/** What `StackAllocator.attach` takes: this face's own lock timeout. */
export interface StackAttachOptions {
  /** As for create, for the calls of this face (this thread). @defaultValue Infinity */
  lockTimeout?: number
}

export interface AttachOptions extends StackAttachOptions {
  /** As for create: record allocation sites of the blocks this face allocates. @defaultValue false */
  trackAllocations?: boolean
}

export interface StackAllocatorOptions {
  /** Bytes of pool. @defaultValue 1 MiB */
  size?: number
  /** Default alignment of pushed blocks: a power of two from 8 to 4096. @defaultValue 8 */
  alignment?: number
  /** Shared memory, so that other threads can attach. @defaultValue true where SharedArrayBuffer is usable */
  shared?: boolean
  /**
   * A WebAssembly.Memory of your own to allocate in (one another module imports, say), instead of a
   * new one: the allocator uses the bytes from `offset` to `offset + size` (its control block
   * included); the memory's sharedness decides `shared`. Needs `offset`.
   * @defaultValue a new memory of the allocator's own
   */
  memory?: WebAssembly.Memory
  /** With `memory`: the first byte of it the allocator may use. */
  offset?: number
  /**
   * Milliseconds one call may wait for the thread lock before it throws `LOCK_TIMEOUT`, having done
   * nothing: a thread stopped inside a call (worker.terminate()) never releases the lock, and
   * without a timeout every later call of every thread waits for ever. @defaultValue Infinity
   */
  lockTimeout?: number
}

/** Statistics; byte figures are requested sizes, not block sizes. */
export interface MemoryStats {
  totalAllocated: number
  totalFreed: number
  currentUsage: number
  peakUsage: number
  allocationCount: number
  freeCount: number
  failedAllocations: number
  /** Percent, 0 to 100: 100 * (1 - largestFreeBlock / freeBytes); 0 when nothing is free. */
  fragmentation: number
  poolSize: number
  freeBytes: number
  largestFreeBlock: number
  liveBlocks: number
  freeBlocks: number
  /**
   * Of the free blocks, those held out of the pool: parked in the small-block caches, or in checks
   * mode's quarantine. They count in freeBlocks and freeBytes, but serve only requests of their own
   * sizes until they go back, where they coalesce (before a request would fail, or on trim()).
   * Always 0 for a stack.
   */
  heldBlocks: number
  /** Payload bytes of the held blocks (as freeBytes counts them). */
  heldBytes: number
}

/** One block of a heap walk, in address order. */
export interface BlockInfo {
  ptr: number
  /** Requested size of a live block, usable bytes of a free one. */
  size: number
  free: boolean
  protection: Protection
}

export interface LeakInfo {
  ptr: number
  /** Requested size. */
  size: number
  /** Where it was allocated: the first stack frame outside this library (trackAllocations only). */
  site?: string
  /** The whole stack trace captured at allocation (trackAllocations only). */
  stack?: string
  /** The tag passed to the allocation, if any. */
  tag?: string
}

export interface ValidationReport {
  blocks: number
  liveBlocks: number
  freeBlocks: number
  freeBytes: number
}

/** What `handle` carries to another thread: enough to instantiate the module over the same memory. */
export interface AllocatorHandle {
  kind: 'heap' | 'stack'
  memory: WebAssembly.Memory
  module: WebAssembly.Module
  base: number
  shared: boolean
}

export const DEFAULT_POOL_SIZE = 1024 * 1024
export const DEFAULT_ALIGNMENT = 8
export const MAX_DEFAULT_ALIGNMENT = 4096
export const MAX_ALIGNED_ALLOC = 65536
