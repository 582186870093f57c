// MemoryManager: the heap allocator's face. Placement, splitting, coalescing, statistics and
// checks all happen in wasm (assembly/heap.ts); this class checks arguments, turns error results
// into MemoryErrors, and renders what it reads.

import {
  Protection, MAX_ALIGNED_ALLOC,
  type MemoryManagerOptions, type BlockInfo, type LeakInfo, type ValidationReport,
  type AllocatorHandle, type Policy, type AttachOptions,
} from './api.js'
import { MemoryError, type MemoryErrorCode } from './errors.js'
import { Allocator, checkPointer, checkSize, sizeArgument, checkAlignment, resolvePoolOptions, booleanOption, checkHandle, checkOptionNames, ADDRESS_LIMIT, MIN_POOL_SIZE, lockTimeoutOption, type PoolConfig } from './allocator.js'
import { regionBase, takeRegion, claimRegion } from './region.js'
import { instantiateOver, loadModule, moduleSync, probe, createMemory } from './load.js'
import { describeFault } from './faults.js'
import { trapped } from './trap-guard.js'
import { captureOrigin, formatLeakReport, type AllocationOrigin } from './leaks.js'
import type { MapRegion } from './heap-map.js'
import { typedConstructor, constructorOf, isTypedArray, type NumericType, type TypedArrayOf, type AnyTypedArray } from './typed.js'
import type { WasmExports } from './wasm-exports.js'

const POLICY_CODES: Record<Policy, number> = { 'first-fit': 0, 'best-fit': 1 }
const OPTION_CHECKS = 1
const OPTION_NO_CACHES = 2
/** The options word above its flags holds validateEvery (assembly/control.ts). */
const VALIDATE_EVERY_UNIT = 256
const MAX_VALIDATE_EVERY = 0xff_ffff
/** The quarantine's bound in bytes is a u32 in the control block (assembly/quarantine.ts). */
const MAX_QUARANTINE = 0xffff_ffff
/** assembly/faults.ts FAULT_FINGERPRINT (a non-writable block was written) and FAULT_ACCESS (its protection refused the call). */
const FAULT_FINGERPRINT = 12
const FAULT_ACCESS = 18
/** The record of allocation sites is pruned (pruneOrigins) no sooner than at this many entries. */
const PRUNE_AT_LEAST = 4096

interface HeapConfig extends PoolConfig {
  policy: Policy
  checks: boolean
  validateEvery: number
  quarantine: number
  trackAllocations: boolean
  smallBlockCaches: boolean
  lockTimeout: number
}

const HEAP_OPTIONS = ['size', 'maxSize', 'alignment', 'policy', 'shared', 'memory', 'offset', 'checks', 'validateEvery', 'quarantine', 'trackAllocations', 'smallBlockCaches', 'lockTimeout'] as const

function resolveOptions(options: MemoryManagerOptions = {}): HeapConfig {
  const pool = resolvePoolOptions(options)
  checkOptionNames(options, HEAP_OPTIONS, 'MemoryManager')
  const policy = options.policy ?? 'first-fit'
  if (!(policy in POLICY_CODES)) throw new RangeError(`policy must be 'first-fit' or 'best-fit'`)
  const checks = booleanOption(options.checks, 'checks', false)
  return {
    ...pool,
    policy,
    checks,
    validateEvery: checksModeOption(options.validateEvery, 'validateEvery', checks, 1, 1, MAX_VALIDATE_EVERY),
    quarantine: checksModeOption(options.quarantine, 'quarantine', checks, 0, 0, MAX_QUARANTINE),
    trackAllocations: booleanOption(options.trackAllocations, 'trackAllocations', false),
    smallBlockCaches: booleanOption(options.smallBlockCaches, 'smallBlockCaches', true),
    lockTimeout: lockTimeoutOption(options.lockTimeout),
  }
}

/** An option of checks mode (validateEvery, quarantine): an integer from `low` to `high`, and only with checks on. */
function checksModeOption(value: unknown, name: string, checks: boolean, fallback: number, low: number, high: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number') throw new TypeError(`${name} must be a number, got ${typeof value}`)
  if (!Number.isInteger(value) || value < low || value > high) {
    throw new RangeError(`${name} must be an integer from ${low} to ${high.toLocaleString('en-US')}, got ${value}`)
  }
  // Without checks mode the setting would do nothing: a mistake to report, not to ignore.
  if (!checks) throw new TypeError(`${name} applies to checks mode: pass checks: true with it`)
  return value
}

/**
 * Where a heap goes: its memory, its control block (`base`), and its pool's bytes now and at most.
 * In a memory of its own, right after the module's reserved bytes, `size` and `maxSize` counting the
 * pool; in a region of the user's memory, `size` and `maxSize` counting all from `offset`.
 */
function heapPlacement(layout: WasmExports, config: HeapConfig): { memory: WebAssembly.Memory; base: number; poolBytes: number; limitBytes: number } {
  const { region } = config
  if (!region) {
    const base = layout.region_start() >>> 0
    const poolStart = layout.heap_pool_start_for(base, config.alignment) >>> 0
    if (poolStart + config.maxSize > ADDRESS_LIMIT) throw new RangeError('maxSize leaves the wasm32 address space')
    const memory = createMemory(poolStart + config.size, poolStart + config.maxSize, config.shared)
    return { memory, base, poolBytes: config.size, limitBytes: config.maxSize }
  }
  const base = regionBase(region)
  const poolStart = layout.heap_pool_start_for(base, config.alignment) >>> 0
  const controlBytes = takeRegion(region, 'heap', config.size, poolStart, MIN_POOL_SIZE, region.offset + config.maxSize)
  return { memory: region.memory, base, poolBytes: config.size - controlBytes, limitBytes: config.maxSize - controlBytes }
}


export class MemoryManager extends Allocator {
  protected readonly kind = 'heap' as const

  /** Creates a heap; works everywhere (the .wasm is fetched or read as needed). */
  static async create(options?: MemoryManagerOptions): Promise<MemoryManager> {
    const config = resolveOptions(options)
    return MemoryManager.build(await loadModule(config.shared), config)
  }

  /** Creates a heap synchronously: Node and workers, or a page after `loadMemoryManager()`. */
  static createSync(options?: MemoryManagerOptions): MemoryManager {
    const config = resolveOptions(options)
    return MemoryManager.build(moduleSync(config.shared), config)
  }

  /** A second face over the SAME pool, in another thread, from `handle` posted by its creator. */
  static async attach(handle: AllocatorHandle, options: AttachOptions = {}): Promise<MemoryManager> {
    return MemoryManager.attachSync(handle, options)
  }

  static attachSync(handle: AllocatorHandle, options: AttachOptions = {}): MemoryManager {
    if (options === null || typeof options !== 'object') throw new TypeError('options must be an object')
    checkOptionNames(options, ['trackAllocations', 'lockTimeout'], 'MemoryManager.attach')
    if (handle && (handle as Partial<AllocatorHandle>).kind === 'heap' && !handle.shared) {
      throw new RangeError('this heap lives in unshared memory (no SharedArrayBuffer here): another thread cannot attach to it')
    }
    checkHandle(handle, 'heap', 'MemoryManager')
    const wasm = instantiateOver(handle.module, handle.memory, lockTimeoutOption(options.lockTimeout))
    return new MemoryManager(wasm, handle.memory, handle.module, handle.base, true, true, options.trackAllocations ?? false)
  }

  private static build(module: WebAssembly.Module, config: HeapConfig): MemoryManager {
    const { memory, base, poolBytes, limitBytes } = heapPlacement(probe(module, config.shared), config)
    const wasm = instantiateOver(module, memory, config.lockTimeout)
    wasm.instance_set_sole_thread(1) // a new allocator: no other thread has it until `handle` is read
    const flags = (config.checks ? OPTION_CHECKS : 0) | (config.smallBlockCaches ? 0 : OPTION_NO_CACHES)
    const options = config.validateEvery * VALIDATE_EVERY_UNIT + flags
    const status = wasm.heap_init(base, poolBytes, limitBytes, config.alignment, POLICY_CODES[config.policy], options, config.quarantine)
    if (status !== 0) throw new RangeError('the pool could not be laid out in memory')
    const manager = new MemoryManager(wasm, memory, module, base, config.shared, false, config.trackAllocations)
    if (config.region) claimRegion(config.region, config.region.offset + config.maxSize, manager)
    return manager
  }

  private constructor(wasm: WasmExports, memory: WebAssembly.Memory, module: WebAssembly.Module, base: number, shared: boolean, attached: boolean, trackAllocations: boolean) {
    super(wasm, memory, module, base, shared, attached)
    if (trackAllocations) this.origins = new Map()
  }

  // ─── Allocation ─────────────────────────────────────────────────────────────────────────────

  // The optional `tag` names an allocation in leak reports (with trackAllocations).

  /** A block of at least `size` bytes aligned to the heap's alignment, or 0 when none can be had. */
  malloc(size: number, tag?: string): number {
    if (tag !== undefined) checkTag(tag) // before the block exists: a refused call allocates nothing
    // The common case checked inline (a u32 integer); anything else goes through sizeArgument.
    const bytes = typeof size === 'number' && size >= 0 && size <= 0xffff_ffff && size % 1 === 0 ? size : sizeArgument(size)
    let result: number
    try {
      result = this.wasm.heap_malloc(this.base, bytes)
    } catch (error) {
      throw trapped(error, this.wasm) // called bare: see trap-guard.ts
    }
    const ptr = result < 0 && result > -16 ? this.result(result) : result >>> 0
    return this.origins ? this.track(ptr, tag, bytes) : ptr
  }

  /** A zero-filled block of `count * size` bytes, or 0 (an overflowing product is a failure). */
  calloc(count: number, size: number, tag?: string): number {
    if (tag !== undefined) checkTag(tag)
    const items = sizeArgument(count, 'count')
    const bytes = sizeArgument(size)
    const ptr = this.result(this.wasm.heap_calloc(this.base, items, bytes))
    return this.origins ? this.track(ptr, tag, items * bytes) : ptr
  }

  /** Resizes the block at `ptr`, moving it when needed; 0 on failure (and `ptr` stays valid). */
  realloc(ptr: number, size: number, tag?: string): number {
    checkPointer(ptr)
    if (tag !== undefined) checkTag(tag)
    const bytes = sizeArgument(size)
    const moved = this.result(this.wasm.heap_realloc(this.base, ptr, bytes), ptr)
    if (this.origins && (moved !== 0 || size === 0)) {
      const origin = this.origins.get(ptr)
      this.origins.delete(ptr)
      if (moved !== 0) this.track(moved, tag, bytes, tag === undefined ? origin : undefined)
    }
    return moved
  }

  /** A block whose payload is aligned to `alignment` (a power of two from 8 to 65536), or 0. */
  alignedAlloc(alignment: number, size: number, tag?: string): number {
    checkAlignment(alignment, MAX_ALIGNED_ALLOC)
    if (tag !== undefined) checkTag(tag)
    const bytes = sizeArgument(size)
    const ptr = this.result(this.wasm.heap_aligned_alloc(this.base, alignment, bytes))
    return this.origins ? this.track(ptr, tag, bytes) : ptr
  }

  /** Frees the block at `ptr` (or under a typed view from mallocAs/callocAs); free(0) does nothing. */
  free(ptr: number | AnyTypedArray): void {
    if (typeof ptr !== 'number' || !(ptr >= 0 && ptr <= 0xffff_ffff && ptr % 1 === 0)) {
      if (isTypedArray(ptr)) ptr = this.views.blockOf(ptr).ptr
      checkPointer(ptr)
    }
    let result: number
    try {
      result = this.wasm.heap_free(this.base, ptr as number)
    } catch (error) {
      throw trapped(error, this.wasm) // called bare: see trap-guard.ts
    }
    if (result !== 0) this.result(result, ptr as number)
    this.origins?.delete(ptr as number)
  }

  /**
   * Hands the blocks held in the small-block caches back to the pool, where they coalesce with
   * their free neighbours (as malloc_trim gives memory back). The caches also do this by themselves
   * before a request would fail or grow the pool.
   */
  trim(): void {
    this.result(this.wasm.heap_trim(this.base))
  }

  /**
   * Frees every block at once, as an arena is reset: the pool (at the size it has grown to) is one
   * free block again, and the statistics count each live block freed. One pass over the block
   * headers, each marked free (a pointer kept from before is refused as after a free); checks mode
   * validates the whole heap first, and a fault found is thrown before anything changes. A block
   * without Write is a PROTECTION error naming it, as its free would be, and nothing is freed.
   * Every pointer into the heap, in every thread, is dangling afterwards.
   */
  clear(): void {
    this.result(this.wasm.heap_clear(this.base))
    this.origins?.clear()
  }

  /** Bytes usable at `ptr` (at least the requested size). */
  usableSize(ptr: number): number {
    checkPointer(ptr)
    return this.result(this.wasm.heap_usable_size(this.base, ptr), ptr)
  }

  // ─── Typed views ────────────────────────────────────────────────────────────────────────────

  /** `count` elements of `type` and a typed array over them; undefined when they cannot be had. */
  mallocAs<T extends NumericType>(type: T, count: number, tag?: string): TypedArrayOf<T> | undefined {
    return this.typedBlock(type, count, (bytes) => this.malloc(bytes, tag))
  }

  /** As mallocAs, zero-filled. */
  callocAs<T extends NumericType>(type: T, count: number, tag?: string): TypedArrayOf<T> | undefined {
    const constructor = typedConstructor(type)
    const ptr = this.calloc(count, constructor.BYTES_PER_ELEMENT, tag)
    return ptr === 0 ? undefined : this.views.make<TypedArrayOf<T>>(constructor, ptr, count)
  }

  /** Resizes the array under `view` to `count` elements (moving it when needed); undefined on failure, and `view` stays valid. */
  reallocAs<T extends AnyTypedArray>(view: T, count: number): T | undefined {
    const constructor = constructorOf(view)
    checkSize(count, 'count')
    const ptr = this.realloc(this.views.blockOf(view).ptr, count * constructor.BYTES_PER_ELEMENT)
    return ptr === 0 ? undefined : this.views.make<T>(constructor, ptr, count)
  }

  // ─── Protection ─────────────────────────────────────────────────────────────────────────────

  /** Sets the protection of the whole block that holds [ptr, ptr + size). */
  protect(ptr: number, size: number, prot: Protection): void {
    checkPointer(ptr)
    checkSize(size)
    checkProtection(prot)
    this.result(this.wasm.heap_protect(this.base, ptr, sizeArgument(size), prot), ptr)
  }

  /** The current protection of the block at `ptr`. */
  protection(ptr: number): Protection {
    checkPointer(ptr)
    return this.result(this.wasm.heap_protection(this.base, ptr), ptr) as Protection
  }

  /** True when the block's protection is exactly `prot`. */
  isProtected(ptr: number, prot: Protection): boolean {
    checkProtection(prot)
    return this.protection(ptr) === prot
  }


  /**
   * Errors that help: the fault the wasm side recorded (block, found, expected) for CORRUPTION, and
   * for a bad pointer the block it falls in. These walks run only on the error path.
   */
  protected errorFor(code: MemoryErrorCode, ptr?: number): MemoryError {
    const wasm = this.wasm
    // A PROTECTION refusal is recorded by the call that made it (the write it found, or the access
    // it refused), so the record names this call's block: the one at `ptr`, or, for a call without
    // one (clear), the block it found.
    const reason = code === 'PROTECTION' ? wasm.heap_fault_reason(this.base) : 0
    if (code === 'CORRUPTION' || ((reason === FAULT_FINGERPRINT || reason === FAULT_ACCESS) && (ptr === undefined || wasm.heap_fault_block(this.base) + 8 === ptr))) {
      const error = describeFault(wasm.heap_fault_reason(this.base), wasm.heap_fault_block(this.base) >>> 0, wasm.heap_fault_found(this.base) >>> 0, wasm.heap_fault_expected(this.base) >>> 0, ptr)
      return error
    }
    if (ptr === undefined || wasm.allocator_is_destroyed(this.base) !== 0) return new MemoryError(code, undefined, { ptr })
    if (code === 'INVALID_POINTER') {
      const block = wasm.heap_block_containing(this.base, ptr) >>> 0
      if (block === 0) return new MemoryError(code, `${ptr} is not in this heap's pool`, { ptr })
      const start = wasm.block_payload(block) >>> 0
      const state = wasm.block_is_used(block) ? `live block ${start} (${wasm.block_reported_size(block) >>> 0} bytes)` : `free block ${start}`
      const where = ptr < start ? `in the header of ${state}` : `${ptr - start} bytes into ${state}`
      return new MemoryError(code, `${ptr} is not a block start: it is ${where}`, { ptr, block: start, found: ptr, expected: start })
    }
    if (code === 'DOUBLE_FREE') return new MemoryError(code, `block ${ptr} is already free`, { ptr, block: ptr, found: 'free', expected: 'live' })
    if (code === 'PROTECTION') {
      const prot = wasm.heap_protection(this.base, ptr) | 0
      const name = prot >= 0 ? Protection[prot] : 'unknown'
      return new MemoryError(code, `block ${ptr} is ${name}: the call needs more (free and realloc need Write, read needs Read, write needs Write)`, { ptr, block: ptr, found: name })
    }
    return new MemoryError(code, undefined, { ptr })
  }

  protected accessibleBytes(ptr: number, need: number): number {
    return this.result(this.wasm.heap_access(this.base, ptr, need), ptr)
  }

  // ─── Inspection ─────────────────────────────────────────────────────────────────────────────

  protected poolFigures() {
    const wasm = this.wasm
    return {
      poolSize: wasm.heap_pool_size(this.base) >>> 0,
      freeBytes: wasm.heap_free_bytes(this.base) >>> 0,
      largestFreeBlock: wasm.heap_largest_free(this.base) >>> 0,
      freeBlocks: wasm.heap_free_blocks(this.base) >>> 0,
      heldBlocks: wasm.heap_held_blocks(this.base) >>> 0,
      heldBytes: wasm.heap_held_bytes(this.base) >>> 0,
    }
  }

  protected statsTitle(): string {
    return 'Heap allocator statistics'
  }

  /** Walks the heap and checks every invariant; throws the first fault, else reports. */
  validate(): ValidationReport {
    this.assertAlive()
    const reason = this.wasm.heap_validate(this.base)
    if (reason !== 0) {
      const w = this.wasm
      throw describeFault(reason, w.heap_fault_block(this.base) >>> 0, w.heap_fault_found(this.base) >>> 0, w.heap_fault_expected(this.base) >>> 0)
    }
    const stats = this.stats()
    return {
      blocks: stats.liveBlocks + stats.freeBlocks,
      liveBlocks: stats.liveBlocks,
      freeBlocks: stats.freeBlocks,
      freeBytes: stats.freeBytes,
    }
  }

  /** Every block in address order, with where it starts and its whole extent (for maps). */
  private walk(): Array<BlockInfo & { start: number; extent: number }> {
    return this.locked(() => {
      const wasm = this.wasm
      const list: Array<BlockInfo & { start: number; extent: number }> = []
      for (let block = wasm.heap_walk_first(this.base) >>> 0; block !== 0; block = wasm.heap_walk_next(this.base, block) >>> 0) {
        const free = wasm.block_is_used(block) === 0
        list.push({
          ptr: wasm.block_payload(block) >>> 0,
          size: wasm.block_reported_size(block) >>> 0,
          free,
          protection: (free ? Protection.None : wasm.block_protection(block)) as Protection,
          start: block,
          extent: wasm.block_extent(block) >>> 0,
        })
      }
      return list
    })
  }

  /** Every block in address order (free blocks held in small-size caches are listed as free). */
  blocks(): BlockInfo[] {
    return this.walk().map(({ ptr, size, free, protection }) => ({ ptr, size, free, protection }))
  }

  /**
   * Every live block with its requested size; with `trackAllocations`, also where it was allocated
   * (a stack trace) and the tag given to the allocation, for the blocks this face allocated.
   */
  leaks(): LeakInfo[] {
    const live = this.liveBlocks()
    if (this.origins) this.pruneOrigins(live)
    return live.map(({ ptr, size }) => {
      const origin = this.origins?.get(ptr)
      return origin ? { ptr, size, site: origin.site, stack: origin.stack, ...(origin.tag === undefined ? {} : { tag: origin.tag }) } : { ptr, size }
    })
  }

  /** The live blocks grouped by allocation site (and tag), largest total first. */
  formatLeaks(): string {
    return formatLeakReport(this.leaks())
  }

  protected mapRegions(): { regions: MapRegion[]; poolSize: number } {
    const walk = this.walk()
    const poolStart = this.locked(() => this.wasm.heap_pool_start(this.base) >>> 0)
    const poolSize = this.stats().poolSize
    const regions: MapRegion[] = []
    let end = poolStart
    for (const block of walk) {
      // A gap in the walk is the allocator's own bookkeeping block: memory in use all the same.
      if (block.start > end) regions.push({ offset: end - poolStart, length: block.start - end, state: 'used' })
      const state = block.free ? 'free' : (block.protection & Protection.Write) === 0 ? 'protected' : 'used'
      regions.push({ offset: block.start - poolStart, length: block.extent, state })
      end = block.start + block.extent
    }
    return { regions, poolSize }
  }

  protected mapTitle(): string {
    return 'Heap map'
  }

  // ─── Allocation sites (trackAllocations) ──────────────────────────────────────────────────────

  private origins?: Map<number, AllocationOrigin>
  /** The record's size at which it is next pruned (see pruneOrigins). */
  private pruneAt = PRUNE_AT_LEAST

  /** Records where the block at `ptr` (`size` requested bytes) was allocated: `kept` when it moved, else here. */
  private track<T extends number>(ptr: T, tag: string | undefined, size: number, kept?: AllocationOrigin): T {
    if (!this.origins || ptr === 0) return ptr
    this.origins.set(ptr, kept ? { ...kept, size } : captureOrigin(tag, size))
    if (this.origins.size >= this.pruneAt) this.pruneOrigins(this.liveBlocks())
    return ptr
  }

  private liveBlocks(): BlockInfo[] {
    return this.blocks().filter((block) => !block.free)
  }

  /**
   * Drops the origins of blocks that are no longer what was recorded (freed by another thread; see
   * leaks.ts). Run when the record has doubled since the last prune and outgrown the live blocks, so
   * that its cost, a walk of the heap, is paid once per that many allocations.
   */
  private pruneOrigins(live: readonly BlockInfo[]): void {
    const origins = this.origins!
    const sizes = new Map(live.map((block) => [block.ptr, block.size]))
    for (const [ptr, origin] of origins) if (sizes.get(ptr) !== origin.size) origins.delete(ptr)
    this.pruneAt = Math.max(PRUNE_AT_LEAST, 2 * origins.size, live.length)
  }
}

/** A leak report's tag is a name: anything else would print as "[object Object]" or the like. */
function checkTag(tag: unknown): void {
  if (typeof tag !== 'string') throw new TypeError(`tag must be a string, got ${typeof tag}`)
}

export function checkProtection(prot: unknown): asserts prot is Protection {
  if (typeof prot !== 'number') throw new TypeError(`protection must be a number, got ${typeof prot}`)
  if (!Number.isInteger(prot) || prot < 0 || prot > 7) throw new RangeError(`protection must be an integer from 0 to 7, got ${prot}`)
}
