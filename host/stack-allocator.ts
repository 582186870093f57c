// StackAllocator: the linear allocator's face. The bump pointer, the LIFO bookkeeping and the
// statistics live in wasm (assembly/stack.ts); this class checks arguments and reports errors.

import { MAX_ALIGNED_ALLOC, type StackAllocatorOptions, type StackAttachOptions, type AllocatorHandle, type MemoryStats, type StackFrame } from './api.js'
import { isTypedArray, type NumericType, type TypedArrayOf, type AnyTypedArray } from './typed.js'
import { Allocator, checkPointer, sizeArgument, checkAlignment, resolvePoolOptions, checkHandle, checkOptionNames, CONTROL_SIZE, MIN_POOL_SIZE, lockTimeoutOption, type PoolConfig } from './allocator.js'
import { regionBase, takeRegion, claimRegion } from './region.js'
import { MemoryError, isErrorResult, codeOfResult } from './errors.js'
import { trapped } from './trap-guard.js'
import { instantiateOver, loadModule, moduleSync, probe, createMemory } from './load.js'
import type { WasmExports } from './wasm-exports.js'
import type { MapRegion } from './heap-map.js'

type StackConfig = Omit<PoolConfig, 'maxSize'> & { lockTimeout: number }

function resolveOptions(options: StackAllocatorOptions = {}): StackConfig {
  if (options === null || typeof options !== 'object') throw new TypeError('options must be an object')
  checkOptionNames(options, ['size', 'alignment', 'shared', 'memory', 'offset', 'lockTimeout'], 'StackAllocator (a stack does not grow: no maxSize)')
  const { size, alignment, shared, region } = resolvePoolOptions({ ...options, maxSize: undefined })
  return { size, alignment, shared, region, lockTimeout: lockTimeoutOption(options.lockTimeout) }
}

/**
 * Where a stack goes: its memory, its control block (`base`) and its pool's bytes. In a memory of
 * its own, right after the module's reserved bytes, `size` counting the pool; in a region of the
 * user's memory, `size` counting all from `offset`.
 */
function stackPlacement(module: WebAssembly.Module, config: StackConfig): { memory: WebAssembly.Memory; base: number; poolBytes: number } {
  const { region } = config
  if (!region) {
    const base = probe(module, config.shared).region_start() >>> 0
    const end = base + CONTROL_SIZE + config.size
    return { memory: createMemory(end, end, config.shared), base, poolBytes: config.size }
  }
  const base = regionBase(region)
  const controlBytes = takeRegion(region, 'stack', config.size, base + CONTROL_SIZE, MIN_POOL_SIZE, region.offset + config.size)
  return { memory: region.memory, base, poolBytes: config.size - controlBytes }
}


export class StackAllocator extends Allocator {
  protected readonly kind = 'stack' as const

  static async create(options?: StackAllocatorOptions): Promise<StackAllocator> {
    const config = resolveOptions(options)
    return StackAllocator.build(await loadModule(config.shared), config)
  }

  static createSync(options?: StackAllocatorOptions): StackAllocator {
    const config = resolveOptions(options)
    return StackAllocator.build(moduleSync(config.shared), config)
  }

  static async attach(handle: AllocatorHandle, options: StackAttachOptions = {}): Promise<StackAllocator> {
    return StackAllocator.attachSync(handle, options)
  }

  static attachSync(handle: AllocatorHandle, options: StackAttachOptions = {}): StackAllocator {
    if (options === null || typeof options !== 'object') throw new TypeError('options must be an object')
    checkOptionNames(options, ['lockTimeout'], 'StackAllocator.attach')
    if (handle && (handle as Partial<AllocatorHandle>).kind === 'stack' && !handle.shared) {
      throw new RangeError('this stack lives in unshared memory (no SharedArrayBuffer here): another thread cannot attach to it')
    }
    checkHandle(handle, 'stack', 'StackAllocator')
    return new StackAllocator(instantiateOver(handle.module, handle.memory, lockTimeoutOption(options.lockTimeout)), handle.memory, handle.module, handle.base, true, true)
  }

  private static build(module: WebAssembly.Module, config: StackConfig): StackAllocator {
    const { memory, base, poolBytes } = stackPlacement(module, config)
    const wasm = instantiateOver(module, memory, config.lockTimeout)
    wasm.instance_set_sole_thread(1) // a new allocator: no other thread has it until `handle` is read
    if (wasm.stack_init(base, poolBytes, config.alignment) !== 0) throw new RangeError('the pool could not be laid out in memory')
    const stack = new StackAllocator(wasm, memory, module, base, config.shared, false)
    if (config.region) claimRegion(config.region, config.region.offset + config.size, stack)
    return stack
  }

  private constructor(wasm: WasmExports, memory: WebAssembly.Memory, module: WebAssembly.Module, base: number, shared: boolean, attached: boolean) {
    super(wasm, memory, module, base, shared, attached)
  }

  /**
   * Runs `steps` with the stack locked against every other thread, so a sequence (push two blocks,
   * use them, pop both) stays LIFO while other threads use the same stack. Calls inside `steps`
   * work as usual; they must not wait on another thread (that thread cannot get the lock).
   */
  exclusive<T>(steps: () => T): T {
    if (typeof steps !== 'function') throw new TypeError(`exclusive takes a function, got ${typeof steps}`)
    // The lock is given back when `steps` returns: an async function's steps after its first await
    // would run unlocked, interleaved with other threads' pushes, while looking locked.
    if (isAsyncFunction(steps)) throw new TypeError('exclusive takes a synchronous function: the lock cannot be held across an await')
    return this.locked(steps)
  }

  /** A new block on top of the stack (O(1)), or 0 when the pool is full. */
  push(size: number, alignment?: number): number {
    const align = alignment === undefined ? 0 : checkAlignment(alignment, MAX_ALIGNED_ALLOC)
    const bytes = sizeArgument(size)
    let result: number
    try {
      result = this.holdsLock ? this.wasm.unlocked_stack_push(this.base, bytes, align) : this.wasm.stack_push(this.base, bytes, align)
    } catch (error) {
      throw trapped(error, this.wasm) // called bare: see trap-guard.ts
    }
    return this.result(result)
  }

  /**
   * `count` elements of `type` on top of the stack and a typed array over them (aligned to the
   * stack's alignment, or `alignment`); undefined when the pool is full.
   */
  pushAs<T extends NumericType>(type: T, count: number, alignment?: number): TypedArrayOf<T> | undefined {
    return this.typedBlock(type, count, (bytes) => this.push(bytes, alignment))
  }

  /** Frees the most recent block; with `ptr` (or a view from pushAs or typedView), it must be that block (else STACK_ORDER). */
  pop(ptr?: number | AnyTypedArray): void {
    if (ptr !== undefined && typeof ptr !== 'number' && isTypedArray(ptr)) ptr = this.views.blockOf(ptr).ptr
    if (ptr !== undefined) {
      checkPointer(ptr)
      if (ptr === 0) throw new MemoryError('STACK_ORDER', 'pop(0): NULL is never a block on the stack', { ptr })
    }
    let result: number
    try {
      result = this.holdsLock ? this.wasm.unlocked_stack_pop(this.base, ptr ?? 0) : this.wasm.stack_pop(this.base, ptr ?? 0)
    } catch (error) {
      throw trapped(error, this.wasm) // called bare: see trap-guard.ts
    }
    this.result(result, ptr)
  }

  /** A marker for the current top, for reset(). */
  mark(): number {
    const mark = this.holdsLock ? this.wasm.unlocked_stack_mark : this.wasm.stack_mark
    return this.result(mark(this.base))
  }

  /**
   * Frees everything pushed after `marker`. A marker is a top the stack had (what mark() returned,
   * while the blocks under it are still there): any other number, above the top, below the pool or
   * inside a block, is STACK_ORDER and nothing is freed.
   */
  reset(marker: number): void {
    if (typeof marker !== 'number') throw new TypeError(`marker must be a number, got ${typeof marker}`)
    if (!Number.isInteger(marker) || marker < 0 || marker > 0xffff_ffff) throw new MemoryError('STACK_ORDER', `not a marker: ${marker}`)
    const reset = this.holdsLock ? this.wasm.unlocked_stack_reset : this.wasm.stack_reset
    const result = reset(this.base, marker)
    if (isErrorResult(result) && codeOfResult(result) === 'STACK_ORDER') {
      throw new MemoryError('STACK_ORDER', `not a marker: ${marker} is not the stack's top nor a top it had (above the top, below the pool, or inside a block)`)
    }
    this.result(result)
  }

  /**
   * A frame over the current top: disposing it (`using frame = st.frame()`, or
   * `frame[Symbol.dispose]()`) frees everything pushed after it, as reset(frame.marker) does, but
   * is nothing where nothing is left to free (the top already at or below the marker: the blocks
   * popped or the stack cleared inside the frame, or the stack destroyed). Frames nest: `using`
   * disposes them in reverse order.
   */
  frame(): StackFrame {
    const marker = this.mark()
    return { marker, [Symbol.dispose]: () => this.unwindTo(marker) }
  }

  /**
   * Runs `steps` in a frame (see frame()): what it pushes is freed when it returns or throws, and
   * its result is returned. `steps` must be synchronous (an `async` function is a TypeError: its
   * blocks would be freed at its first await). When the unwinding fails after `steps` threw (the
   * stack changed under the frame), the unwinding's error is thrown with the first as its `cause`.
   */
  scope<T>(steps: () => T): T {
    if (typeof steps !== 'function') throw new TypeError(`scope takes a function, got ${typeof steps}`)
    if (isAsyncFunction(steps)) throw new TypeError('scope takes a synchronous function: its blocks would be freed at its first await')
    const marker = this.mark()
    let result: T
    try {
      result = steps()
    } catch (error) {
      try {
        this.unwindTo(marker)
      } catch (unwinding) {
        if (unwinding instanceof Error && unwinding.cause === undefined) unwinding.cause = error
        throw unwinding
      }
      throw error
    }
    this.unwindTo(marker)
    return result
  }

  /** Frees what was pushed after `marker`, in one locked step; nothing when the top is not above it. */
  private unwindTo(marker: number): void {
    if (this.destroyed) return
    this.locked(() => {
      if (this.mark() > marker) this.reset(marker)
    })
  }

  /** Frees everything. */
  clear(): void {
    const clear = this.holdsLock ? this.wasm.unlocked_stack_clear : this.wasm.stack_clear
    this.result(clear(this.base))
  }

  /** Bytes in use, headers and alignment padding included. */
  get used(): number {
    return this.locked(() => this.wasm.stack_used(this.base) >>> 0)
  }

  /** Bytes of pool. */
  get capacity(): number {
    return this.locked(() => this.wasm.stack_capacity(this.base) >>> 0)
  }

  /** Blocks on the stack. */
  get depth(): number {
    return this.locked(() => this.wasm.stack_depth(this.base) >>> 0)
  }

  protected accessibleBytes(ptr: number): number {
    const blockSize = this.holdsLock ? this.wasm.unlocked_stack_block_size : this.wasm.stack_block_size
    return this.result(blockSize(this.base, ptr), ptr)
  }

  protected poolFigures() {
    const free = this.wasm.stack_free_bytes(this.base) >>> 0
    return {
      poolSize: this.wasm.stack_capacity(this.base) >>> 0,
      freeBytes: free,
      largestFreeBlock: free,
      freeBlocks: free > 0 ? 1 : 0,
      heldBlocks: 0,
      heldBytes: 0,
    }
  }

  protected statsNotShown(): ReadonlyArray<keyof MemoryStats> {
    return ['heldBytes', 'heldBlocks'] // a stack holds no freed blocks back
  }

  protected statsTitle(): string {
    return 'Stack allocator statistics'
  }

  protected mapRegions(): { regions: MapRegion[]; poolSize: number } {
    return this.locked(() => {
      const used = this.wasm.stack_used(this.base) >>> 0
      const poolSize = this.wasm.stack_capacity(this.base) >>> 0
      return { regions: [{ offset: 0, length: used, state: 'used' as const }], poolSize }
    })
  }

  protected mapTitle(): string {
    return 'Stack map'
  }
}

function isAsyncFunction(steps: Function): boolean {
  const kind = Object.prototype.toString.call(steps)
  return kind === '[object AsyncFunction]' || kind === '[object AsyncGeneratorFunction]'
}
