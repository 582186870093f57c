// What the heap and the stack faces share: the instance and its memory, argument checks, the
// checked accessors (read, write, strings, view) and the statistics table. Each subclass says how
// to gate an access (its block extent and protection) and how to read its statistics.

import { MemoryError, isErrorResult, codeOfResult, type MemoryErrorCode } from './errors.js'
import { DEFAULT_POOL_SIZE, DEFAULT_ALIGNMENT, MAX_DEFAULT_ALIGNMENT, type AllocatorHandle, type MemoryStats } from './api.js'
import type { WasmExports } from './wasm-exports.js'
import { formatStatsTable } from './format.js'
import { renderTextMap, renderSvgMap, MAP_LEGEND, type MapRegion, type TextMapOptions, type SvgMapOptions } from './heap-map.js'
import { sharedMemoryAvailable, noteLockHeld } from './load.js'
import { readStatsRecord, fragmentationPercent } from './stats.js'
import { trapped } from './trap-guard.js'
import { resolveRegion, regionShared, type Region } from './region.js'
import { TypedViews } from './views.js'
import { typedConstructor, constructorOf, type NumericType, type TypedArrayOf, type AnyTypedArray } from './typed.js'

/** The lock word's offset in a control block (assembly/control.ts CONTROL_LOCK). */
const CONTROL_LOCK = 0

/** Bits an access needs, as in Protection. */
export const NEED_READ = 1
export const NEED_WRITE = 2

const MAX_U32 = 0xffff_ffff
/** The fewest bytes of pool an allocator takes. */
export const MIN_POOL_SIZE = 64
/** A pool must end below this address (assembly/control.ts ADDRESS_LIMIT). */
export const ADDRESS_LIMIT = 0xffff_0000
const textEncoder = new TextEncoder()
const textDecoder = new TextDecoder()

/** A byte count from the user: a non-negative integer (RangeError / TypeError otherwise). */
export function checkSize(value: unknown, what = 'size'): number {
  if (typeof value !== 'number') throw new TypeError(`${what} must be a number, got ${typeof value}`)
  if (!Number.isInteger(value) || value < 0) throw new RangeError(`${what} must be a non-negative integer, got ${value}`)
  return value
}

/** A size for the wasm ABI: anything above u32 becomes u32 max, which no pool can serve. */
export function sizeArgument(value: unknown, what = 'size'): number {
  const size = checkSize(value, what)
  return size > MAX_U32 ? MAX_U32 : size
}

/** The state word of a control block (assembly/control.ts CONTROL_STATE) and its values. */
const CONTROL_STATE = 4
/** Bytes of the part every control block has (assembly/control.ts CONTROL_SIZE): a stack's whole control block. */
export const CONTROL_SIZE = 128
const READY_STATES = { heap: 0x4845_4150 /* "HEAP" */, stack: 0x5354_434b /* "STCK" */ } as const
const DESTROYED_STATE = 0xdead_0000

/**
 * A handle passed to attach: what `handle` gave (its kind, memory, module and base), with a control
 * block of that kind, live or destroyed, at its base. Else TypeError: a forged or garbled handle made
 * the first call trap on the words it found there, reported as a damaged control block.
 */
export function checkHandle(handle: unknown, kind: 'heap' | 'stack', name: string): AllocatorHandle {
  const h = handle as Partial<AllocatorHandle> | null
  if (!h || typeof h !== 'object' || h.kind !== kind) throw new TypeError(`not a ${name} handle`)
  if (!(h.memory instanceof WebAssembly.Memory) || !(h.module instanceof WebAssembly.Module)) {
    throw new TypeError(`not a ${name} handle: its memory and module must be a WebAssembly.Memory and a WebAssembly.Module`)
  }
  const base = h.base
  const bytes = h.memory.buffer.byteLength
  if (typeof base !== 'number' || !Number.isInteger(base) || base < 0 || (base & 7) !== 0 || base + CONTROL_SIZE > bytes) {
    throw new TypeError(`not a ${name} handle: base ${String(base)} is not a control block's address in its memory`)
  }
  const state = new Uint32Array(h.memory.buffer, base + CONTROL_STATE, 1)[0]
  if (state !== READY_STATES[kind] && state !== DESTROYED_STATE) {
    throw new TypeError(`not a ${name} handle: no ${kind} at base ${base} of its memory`)
  }
  return h as AllocatorHandle
}

/** A pointer from the user: a number; one that cannot be an address is INVALID_POINTER. */
export function checkPointer(ptr: unknown): number {
  if (typeof ptr !== 'number') throw new TypeError(`pointer must be a number, got ${typeof ptr}`)
  if (!Number.isInteger(ptr) || ptr < 0 || ptr > MAX_U32) throw new MemoryError('INVALID_POINTER', undefined, { ptr })
  return ptr
}

/** The `shared` option: defaults to shared wherever a shared memory can be made. */
export function resolveShared(shared: unknown): boolean {
  if (shared === undefined) return sharedMemoryAvailable()
  if (typeof shared !== 'boolean') throw new TypeError('shared must be a boolean')
  if (shared && !sharedMemoryAvailable()) {
    throw new RangeError('shared memory is not available here (SharedArrayBuffer needs a cross-origin isolated page)')
  }
  return shared
}

/**
 * The options every allocator takes: size, alignment, shared, and the region of a memory the user
 * brings (memory, offset: host/region.ts), checked (RangeError / TypeError).
 */
export function resolvePoolOptions(options: PoolOptions | undefined): PoolConfig {
  if (options === undefined) options = {}
  if (options === null || typeof options !== 'object') throw new TypeError('options must be an object')
  const size = checkSize(options.size ?? DEFAULT_POOL_SIZE, 'size')
  const maxSize = checkSize(options.maxSize ?? size, 'maxSize')
  const alignment = checkAlignment(options.alignment ?? DEFAULT_ALIGNMENT, MAX_DEFAULT_ALIGNMENT)
  if (size < MIN_POOL_SIZE) throw new RangeError(`size must be at least ${MIN_POOL_SIZE} bytes`)
  if (maxSize < size) throw new RangeError('maxSize must be at least size')
  if (maxSize > ADDRESS_LIMIT - 2 * 65536) throw new RangeError('the pool must stay below 4 GiB - 128 KiB (wasm32 addresses)')
  const region = resolveRegion(options.memory, options.offset === undefined ? undefined : checkSize(options.offset, 'offset'))
  if (!region) return { size, maxSize, alignment, shared: resolveShared(options.shared) }
  if (region.offset + maxSize > ADDRESS_LIMIT) throw new RangeError(`offset + ${options.maxSize === undefined ? 'size' : 'maxSize'} must stay below 4 GiB - 64 KiB (wasm32 addresses)`)
  return { size, maxSize, alignment, shared: regionShared(region, options.shared), region }
}

interface PoolOptions {
  size?: number
  maxSize?: number
  alignment?: number
  shared?: boolean
  memory?: WebAssembly.Memory
  offset?: number
}

export interface PoolConfig {
  size: number
  maxSize: number
  alignment: number
  shared: boolean
  /** Where the allocator lives in a memory the user passed; absent: in a memory of its own. */
  region?: Region
}

/**
 * Refuses an option this constructor does not have (a misspelt `sise` was ignored, and the pool got
 * its default size): TypeError naming the ones it has. A key whose value is undefined passes.
 */
export function checkOptionNames(options: object, known: readonly string[], name: string): void {
  for (const [key, value] of Object.entries(options)) {
    if (value !== undefined && !known.includes(key)) {
      throw new TypeError(`unknown option '${key}' for ${name}: its options are ${known.join(', ')}`)
    }
  }
}

/** Bounds of the maps' sizes: a text map's rows and columns, an SVG's width and height in pixels. */
const MAX_MAP_CELLS = 1000
const MAX_SVG_SIDE = 100_000

/**
 * A map's options: an object whose named sizes, when given, are integers from 1 to their bound.
 * Unchecked, 0 or 'x' drew a map of one column, 1e9 columns threw the engine's 'Invalid typed
 * array length', and an SVG 0 or NaN pixels wide was written as such.
 */
function checkMapOptions(options: unknown, bounds: Record<string, number>): void {
  if (options === null || typeof options !== 'object') throw new TypeError('map options must be an object')
  for (const [name, bound] of Object.entries(bounds)) {
    const value = (options as Record<string, unknown>)[name]
    if (value === undefined) continue
    if (typeof value !== 'number') throw new TypeError(`${name} must be a number, got ${typeof value}`)
    if (!Number.isInteger(value) || value < 1 || value > bound) throw new RangeError(`${name} must be an integer from 1 to ${bound}, got ${value}`)
  }
}

/** The `lockTimeout` option: milliseconds above 0, Infinity (the default) for no timeout. */
export function lockTimeoutOption(value: unknown): number {
  if (value === undefined) return Infinity
  if (typeof value !== 'number') throw new TypeError(`lockTimeout must be a number of milliseconds, got ${typeof value}`)
  if (!(value > 0)) throw new RangeError(`lockTimeout must be above 0 milliseconds (Infinity: no timeout), got ${value}`)
  return value
}

/** An optional boolean option: its value, or `fallback` when it is not given. */
export function booleanOption(value: unknown, name: string, fallback: boolean): boolean {
  if (value === undefined) return fallback
  if (typeof value !== 'boolean') throw new TypeError(`${name} must be a boolean`)
  return value
}

/** An alignment from the user: a power of two from 8 to `max` (RangeError / TypeError otherwise). */
export function checkAlignment(alignment: unknown, max: number): number {
  const value = checkSize(alignment, 'alignment')
  if (!isPowerOfTwo(value) || value < 8 || value > max) {
    throw new RangeError(`alignment must be a power of two from 8 to ${max}, got ${value}`)
  }
  return value
}

export function isPowerOfTwo(value: number): boolean {
  return Number.isInteger(value) && value > 0 && (value & (value - 1)) === 0
}

const FACE_DISPOSED = 'this attached face was disposed (the allocator goes on for the faces that other threads hold)'

/** `wasm` with every function throwing DESTROYED: what a disposed face calls. */
function refusingExports(wasm: WasmExports): WasmExports {
  const refuse = () => {
    throw new MemoryError('DESTROYED', FACE_DISPOSED)
  }
  return Object.fromEntries(Object.entries(wasm).map(([name, value]) => [name, typeof value === 'function' ? refuse : value])) as WasmExports
}

export abstract class Allocator {
  /** The wasm exports of this thread's instance. */
  protected wasm: WasmExports
  /** Address of the allocator's control block in the memory. */
  protected readonly base: number
  readonly memory: WebAssembly.Memory
  private readonly module: WebAssembly.Module
  private readonly isShared: boolean
  private destroyedHere = false
  /** Made by attach(): disposing it lets go of this face only (see Symbol.dispose). */
  private readonly attachedFace: boolean
  private faceDisposed = false
  private bytesView: Uint8Array
  /** The typed views handed out (typedView, mallocAs, pushAs): their blocks, their memory. */
  protected readonly views: TypedViews

  protected constructor(wasm: WasmExports, memory: WebAssembly.Memory, module: WebAssembly.Module, base: number, shared: boolean, attached: boolean) {
    this.wasm = wasm
    this.memory = memory
    this.module = module
    this.base = base
    this.isShared = shared
    this.attachedFace = attached
    this.bytesView = new Uint8Array(memory.buffer)
    this.views = new TypedViews(memory, shared)
  }

  protected abstract readonly kind: AllocatorHandle['kind']

  /**
   * A structured-cloneable handle: post it to a worker and `attach` it there. Reading it switches
   * this allocator's operations to taking the thread lock (see soleThread in assembly/index.ts):
   * until then no other thread can reach the pool, and operations skip the lock.
   */
  get handle(): AllocatorHandle {
    this.assertAlive()
    this.wasm.instance_set_sole_thread(0)
    return { kind: this.kind, memory: this.memory, module: this.module, base: this.base, shared: this.isShared }
  }

  /** True when the memory is shared and other threads may attach. */
  get shared(): boolean {
    return this.isShared
  }

  /** The memory's bytes; a new view when the pool grew (here or in another thread). */
  protected bytes(): Uint8Array {
    const buffer = this.memory.buffer
    if (this.bytesView.buffer !== buffer || this.bytesView.byteLength !== buffer.byteLength) {
      this.bytesView = new Uint8Array(buffer)
    }
    return this.bytesView
  }

  /** True once the allocator was destroyed, in this thread or another. */
  get destroyed(): boolean {
    return this.destroyedHere || this.wasm.allocator_is_destroyed(this.base) !== 0
  }

  protected assertAlive(): void {
    if (this.destroyedHere || this.wasm.allocator_is_destroyed(this.base) !== 0) {
      this.destroyedHere = true
      throw new MemoryError('DESTROYED', this.faceDisposed ? FACE_DISPOSED : undefined)
    }
  }

  /** Releases the allocator (for every thread attached to it); any later call throws DESTROYED. */
  destroy(): void {
    this.assertAlive()
    this.refuseWhileLocked('destroy')
    this.wasm.allocator_destroy(this.base)
    this.destroyedHere = true
  }

  /**
   * For `using` (TypeScript 5.2+; natively in Node 24 and Chromium 134): the face that created the
   * allocator destroys it at the end of the scope, as destroy() does, for every thread; a face made
   * by attach() lets go of itself only (its later calls throw DESTROYED), so that a worker's scope
   * does not end the pool under the others. Nothing when already destroyed, so that a destroy()
   * inside the scope is no error at its end.
   */
  [Symbol.dispose](): void {
    if (this.destroyed) return
    if (!this.attachedFace) return this.destroy()
    this.refuseWhileLocked('dispose')
    this.faceDisposed = this.destroyedHere = true
    // The module knows the allocator, not the face: the calls that go straight to it (malloc,
    // free, push, pop) are refused by exports that throw instead.
    this.wasm = refusingExports(this.wasm)
  }

  // ─── A lock whose holder's thread ended ────────────────────────────────────────────────────

  /**
   * This face's name in the allocator's lock (a random nonzero u32): while this face holds the lock
   * (inside a call, or an exclusive()), the lock names it. Send it to the thread that would take
   * the lock over should this one end inside a call (`recoverLock`).
   */
  get lockOwnerId(): number {
    return this.wasm.instance_face() >>> 0
  }

  /**
   * When the face `ownerId` (another thread's `lockOwnerId`) holds the allocator's lock and its
   * thread has ended (a worker terminated inside a call or an exclusive(): its lock is never let
   * go), this face takes the lock over, repairs what the call may have left half done (a heap's
   * free index is laid anew from the blocks and its statistics recounted from them; a stack's top,
   * depth and statistics are set from its blocks), validates, and releases it: true. False, having
   * done nothing, when that face does not hold the lock. CORRUPTION (the lock released all the
   * same) when a header the call was writing does not hold. Only for a face whose thread has
   * ended: a live holder would go on in a pool changed under it.
   */
  recoverLock(ownerId: number): boolean {
    if (typeof ownerId !== 'number') throw new TypeError(`ownerId must be a number, got ${typeof ownerId}`)
    if (!Number.isInteger(ownerId) || ownerId < 1 || ownerId > 0xffff_ffff) throw new RangeError(`ownerId must be a lockOwnerId (an integer from 1 to 2^32 - 1), got ${ownerId}`)
    this.refuseWhileLocked('recoverLock')
    if (ownerId === this.lockOwnerId) throw new RangeError('ownerId is this face\'s own lockOwnerId: a face does not take the lock over from itself')
    const result = this.wasm.allocator_take_over(this.base, ownerId)
    if (result === 0) return false
    this.result(result)
    return true
  }

  /** True while this thread holds the allocator's lock (see locked): calls must not take it again. */
  protected holdsLock = false

  private refuseWhileLocked(call: string): void {
    if (this.holdsLock) throw new Error(`${call}() cannot run inside exclusive(): this thread holds the lock`)
  }

  /** Runs `read` with the allocator locked, so that it sees one consistent state. */
  protected locked<T>(read: () => T): T {
    this.assertAlive()
    if (this.holdsLock) return read()
    this.wasm.allocator_lock(this.base)
    this.holdsLock = true
    noteLockHeld(this.memory, this.base + CONTROL_LOCK, true)
    try {
      return read()
    } catch (error) {
      throw trapped(error, this.wasm) // a trap in a bare call under this lock, which finally releases
    } finally {
      noteLockHeld(this.memory, this.base + CONTROL_LOCK, false)
      this.holdsLock = false
      this.wasm.allocator_unlock(this.base)
    }
  }

  /** Throws the error a wasm result carries; else returns it unsigned. */
  protected result(value: number, ptr?: number): number {
    if (isErrorResult(value)) throw this.errorFor(codeOfResult(value), ptr)
    return value >>> 0
  }

  /** The MemoryError for `code`; subclasses add what they can find out about the block. */
  protected errorFor(code: MemoryErrorCode, ptr?: number): MemoryError {
    return new MemoryError(code, undefined, { ptr })
  }

  // ─── Checked accessors ──────────────────────────────────────────────────────────────────────

  /** Usable bytes of the block at `ptr` when an access needing `need` is allowed; throws otherwise. */
  protected abstract accessibleBytes(ptr: number, need: number): number

  /**
   * The span [start, end) of `length` bytes from `offset` bytes into the block at `ptr` (to the
   * block's end when `length` is undefined), when the access needing `need` is allowed and the span
   * stays inside the block; throws otherwise.
   */
  private checkedRange(ptr: number, offset: number, length: number | undefined, need: number): [start: number, end: number] {
    checkPointer(ptr)
    checkSize(offset, 'offset')
    if (length !== undefined) checkSize(length, 'length')
    this.assertAlive()
    const usable = this.accessibleBytes(ptr, need)
    const bytes = length ?? Math.max(0, usable - offset)
    if (offset + bytes > usable) {
      throw new MemoryError('OUT_OF_BOUNDS', `bytes ${offset}..${offset + bytes} leave the block of ${usable} bytes`, { ptr })
    }
    return [ptr + offset, ptr + offset + bytes]
  }

  /** A copy of `length` bytes starting `offset` bytes into the block at `ptr` (needs Read). */
  read(ptr: number, length: number, offset = 0): Uint8Array {
    const [start, end] = this.checkedRange(ptr, offset, length, NEED_READ)
    return this.bytes().slice(start, end)
  }

  /** Writes `data` starting `offset` bytes into the block at `ptr` (needs Write). */
  write(ptr: number, data: Uint8Array | ArrayLike<number>, offset = 0): void {
    if (data === null || typeof data !== 'object' || typeof data.length !== 'number') {
      throw new TypeError('data must be a Uint8Array or an array-like of numbers')
    }
    const [start] = this.checkedRange(ptr, offset, data.length, NEED_WRITE)
    this.bytes().set(data, start)
  }

  /**
   * memmove: copies `length` bytes from `srcOffset` bytes into the block at `src` to `destOffset`
   * bytes into the block at `dest` (needs Read on `src` and Write on `dest`; both ranges inside their
   * blocks, else nothing is copied). The two may be one block and overlap: the bytes land as they
   * were before the copy.
   */
  copy(dest: number, src: number, length: number, destOffset = 0, srcOffset = 0): void {
    const [from, fromEnd] = this.checkedRange(src, srcOffset, length, NEED_READ)
    const [to] = this.checkedRange(dest, destOffset, length, NEED_WRITE)
    this.bytes().copyWithin(to, from, fromEnd) // copyWithin is memmove: overlap is safe
  }

  /**
   * memset: sets `length` bytes from `offset` bytes into the block at `ptr` (to the block's end when
   * `length` is left out) to `value`, a byte from 0 to 255 (needs Write; the range inside the block).
   */
  fill(ptr: number, value: number, length?: number, offset = 0): void {
    if (typeof value !== 'number') throw new TypeError(`value must be a number, got ${typeof value}`)
    if (!Number.isInteger(value) || value < 0 || value > 255) throw new RangeError(`value must be a byte, an integer from 0 to 255, got ${value}`)
    const [start, end] = this.checkedRange(ptr, offset, length, NEED_WRITE)
    this.bytes().fill(value, start, end)
  }

  /** The NUL-terminated UTF-8 string at the block's start (needs Read; the NUL must be inside). */
  readString(ptr: number): string {
    checkPointer(ptr)
    this.assertAlive()
    const usable = this.accessibleBytes(ptr, NEED_READ)
    const bytes = this.bytes()
    const end = bytes.subarray(ptr, ptr + usable).indexOf(0)
    if (end < 0) throw new MemoryError('OUT_OF_BOUNDS', `no NUL inside the block of ${usable} bytes`, { ptr })
    return textDecoder.decode(bytes.slice(ptr, ptr + end))
  }

  /** Writes `text` as UTF-8 and a NUL at the block's start (needs Write; both must fit). */
  writeString(ptr: number, text: string): void {
    if (typeof text !== 'string') throw new TypeError('text must be a string')
    const encoded = textEncoder.encode(text)
    const [at] = this.checkedRange(ptr, 0, encoded.length + 1, NEED_WRITE)
    const bytes = this.bytes()
    bytes.set(encoded, at)
    bytes[at + encoded.length] = 0
  }

  /**
   * A live Uint8Array over the block (its usable bytes by default). Writes through it cannot be
   * checked; a write into a block without Write is detected later (validate, free, protect).
   */
  view(ptr: number, length?: number): Uint8Array {
    const usable = this.viewableBytes(ptr)
    const size = length === undefined ? usable : checkSize(length, 'length')
    if (size > usable) throw new MemoryError('OUT_OF_BOUNDS', `${size} bytes leave the block of ${usable} bytes`, { ptr })
    return new Uint8Array(this.memory.buffer, ptr, size)
  }

  /** A typed view of `count` elements of `type` at the block `ptr` (all of its usable bytes by default). */
  typedView<T extends NumericType>(type: T, ptr: number, count?: number): TypedArrayOf<T> {
    const constructor = typedConstructor(type)
    const usable = this.viewableBytes(ptr)
    const length = count === undefined ? Math.floor(usable / constructor.BYTES_PER_ELEMENT) : checkSize(count, 'count')
    if (length * constructor.BYTES_PER_ELEMENT > usable) throw new MemoryError('OUT_OF_BOUNDS', `${length} elements leave the block of ${usable} bytes`, { ptr })
    return this.views.make<TypedArrayOf<T>>(constructor, ptr, length)
  }

  /** The bytes a raw view of the block at `ptr` may cover (view, typedView): no access is needed for a view. */
  private viewableBytes(ptr: number): number {
    checkPointer(ptr)
    this.assertAlive()
    return this.accessibleBytes(ptr, 0)
  }

  /**
   * `count` elements of `type` in a block from `allocate` (given their bytes, 0 when none can be
   * had) and a typed array over them; undefined when none could be had (mallocAs, pushAs).
   */
  protected typedBlock<T extends NumericType>(type: T, count: number, allocate: (bytes: number) => number): TypedArrayOf<T> | undefined {
    const constructor = typedConstructor(type)
    checkSize(count, 'count')
    const bytes = count * constructor.BYTES_PER_ELEMENT
    const ptr = allocate(bytes > 0xffff_ffff ? 0xffff_ffff : bytes) // too large: a failed allocation, as in C
    return ptr === 0 ? undefined : this.views.make<TypedArrayOf<T>>(constructor, ptr, count)
  }

  /**
   * The same view over the memory as it is now: needed only for an unshared memory after it grew
   * (growth detaches its old ArrayBuffer); over shared memory it returns an equal view.
   */
  refreshView<T extends AnyTypedArray>(view: T): T {
    const constructor = constructorOf(view)
    this.assertAlive() // (it reads no block: without this, a destroyed allocator still handed out views)
    const where = this.views.blockOf(view)
    return this.views.make<T>(constructor, where.ptr, where.length)
  }

  // ─── Statistics ─────────────────────────────────────────────────────────────────────────────

  /** The statistics record (stats.ts) and the pool figures, read with the allocator locked. */
  stats(): MemoryStats {
    return this.locked(() => {
      const record = readStatsRecord(this.wasm, this.wasm.allocator_stats_address(this.base) >>> 0)
      const pool = this.poolFigures()
      return { ...record, ...pool, fragmentation: fragmentationPercent(pool.largestFreeBlock, pool.freeBytes) }
    })
  }

  /** Counters and totals to 0, peak to the current usage. */
  resetStats(): void {
    this.refuseWhileLocked('resetStats')
    this.result(this.wasm.allocator_reset_stats(this.base))
  }

  /** The pool as it stands; called with the allocator locked. */
  protected abstract poolFigures(): Pick<MemoryStats, 'poolSize' | 'freeBytes' | 'largestFreeBlock' | 'freeBlocks' | 'heldBlocks' | 'heldBytes'>

  /** Statistics that mean nothing for this kind of allocator, left out of its table. */
  protected statsNotShown(): ReadonlyArray<keyof MemoryStats> {
    return []
  }

  /** The statistics as a human-readable table. */
  formatStats(): string {
    return formatStatsTable(this.stats(), this.statsTitle(), this.statsNotShown())
  }

  /** Prints formatStats() (to console.log unless told otherwise). */
  printStats(write: (text: string) => void = console.log): void {
    if (typeof write !== 'function') throw new TypeError(`printStats takes a function to write with, got ${typeof write}`)
    write(this.formatStats())
  }

  protected abstract statsTitle(): string

  // ─── Maps ───────────────────────────────────────────────────────────────────────────────────

  protected abstract mapRegions(): { regions: MapRegion[]; poolSize: number }
  protected abstract mapTitle(): string

  /** A text map of the pool for terminals (one character a cell), its legend and the statistics. */
  formatMap(options: TextMapOptions = {}): string {
    checkMapOptions(options, { columns: MAX_MAP_CELLS, rows: MAX_MAP_CELLS })
    const { regions, poolSize } = this.mapRegions()
    const cells = (options.columns ?? 64) * (options.rows ?? 8)
    const cellBytes = Math.max(1, Math.round(poolSize / cells))
    return [
      `${this.mapTitle()}: ${poolSize.toLocaleString('en-US')} bytes, 1 cell = ${cellBytes.toLocaleString('en-US')} bytes`,
      renderTextMap(regions, poolSize, options),
      MAP_LEGEND,
      this.formatStats(),
    ].join('\n')
  }

  /** An SVG map of the pool, as a string. */
  mapSvg(options: SvgMapOptions = {}): string {
    checkMapOptions(options, { width: MAX_SVG_SIDE, height: MAX_SVG_SIDE })
    if (options.title !== undefined && typeof options.title !== 'string') throw new TypeError('title must be a string')
    const { regions, poolSize } = this.mapRegions()
    return renderSvgMap(regions, poolSize, { title: this.mapTitle(), ...options })
  }
}
