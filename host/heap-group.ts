// HeapGroup: a heap per thread, all in regions of one shared memory, so that threads allocate
// without waiting for one another's lock while every pointer means the same bytes in every thread;
// a block freed in another thread than the one that made it is handed to the heap that owns it.
//
//    memory:  offset │ heap 0's region │ heap 1's region │ ... │ heap n-1's region │
//                    ▲ offset + i × stride, each `stride` bytes: `maxSize` rounded up to 64
//
// Invariants:
//   - heap i lives in [offset + i × stride, offset + i × stride + maxSize) and nowhere else
//     (host/region.ts), so the owner of a pointer is found from its address alone (ownerOf);
//   - every face of the group (the creator's, and one attach() in each other thread) holds a face of
//     every heap, made from the heaps' handles: each heap takes its lock on every operation, which
//     its own thread finds free but for the moments another thread frees into it;
//   - a heap's statistics are its own: the group reports them heap by heap (a sum of the heaps'
//     peaks would not be the group's peak, which no one total records).

import type { AllocatorHandle, MemoryManagerOptions, AttachOptions, MemoryStats, ValidationReport } from './api.js'
import { MemoryManager } from './memory-manager.js'
import { MemoryError } from './errors.js'
import { checkPointer, checkSize, checkOptionNames, ADDRESS_LIMIT } from './allocator.js'
import { CONTROL_ALIGNMENT, resolveRegion, isSharedMemory } from './region.js'
import { loadModule, sharedMemoryAvailable } from './load.js'
import { isTypedArray, type AnyTypedArray } from './typed.js'

export interface HeapGroupOptions extends Omit<MemoryManagerOptions, 'shared'> {
  /** How many heaps: one for each thread that allocates, say. */
  heaps: number
}

/** What `handle` carries to another thread: each heap's handle and the region it lives in. */
export interface HeapGroupHandle {
  kind: 'heap-group'
  heaps: AllocatorHandle[]
  regions: Array<{ start: number; end: number }>
}

const MAX_HEAPS = 1024
const WASM_PAGE = 65536

export class HeapGroup {
  /** A face of every heap of the group, in this thread; heaps[i] is heap i. */
  readonly heaps: readonly MemoryManager[]
  private readonly regions: ReadonlyArray<{ start: number; end: number }>

  private constructor(heaps: MemoryManager[], regions: Array<{ start: number; end: number }>) {
    this.heaps = Object.freeze(heaps)
    this.regions = Object.freeze(regions)
  }

  /** Creates `heaps` heaps of `size` bytes (each growing to `maxSize`) in one shared memory. */
  static async create(options: HeapGroupOptions): Promise<HeapGroup> {
    if (sharedMemoryAvailable()) await loadModule(true) // then createSync finds it compiled, in a browser too
    return HeapGroup.createSync(options)
  }

  /** As create, synchronously: Node and workers, or a page after `loadMemoryManager()`. */
  static createSync(options: HeapGroupOptions): HeapGroup {
    if (options === null || typeof options !== 'object') throw new TypeError('options must be an object')
    const { heaps: count, memory: given, offset: givenOffset, size: givenSize, maxSize: givenMaxSize, shared, ...heapOptions } = options as HeapGroupOptions & { shared?: unknown }
    if (typeof count !== 'number') throw new TypeError(`heaps must be a number, got ${typeof count}`)
    if (!Number.isInteger(count) || count < 1 || count > MAX_HEAPS) throw new RangeError(`heaps must be an integer from 1 to ${MAX_HEAPS}, got ${count}`)
    if (shared === false) throw new TypeError('a heap group lives in shared memory: shared: false cannot be')
    // The memory and offset checked as for one heap (a memory without an offset, an offset without a memory).
    const region = resolveRegion(given, givenOffset === undefined ? undefined : checkSize(givenOffset, 'offset'))
    if (region && !isSharedMemory(region.memory)) throw new TypeError('a heap group needs a shared WebAssembly.Memory, for its threads to share')
    if (!region && !sharedMemoryAvailable()) {
      throw new RangeError('shared memory is not available here (SharedArrayBuffer needs a cross-origin isolated page)')
    }
    const size = checkSize(givenSize ?? 1024 * 1024, 'size')
    const maxSize = checkSize(givenMaxSize ?? size, 'maxSize')
    const stride = Math.ceil(maxSize / CONTROL_ALIGNMENT) * CONTROL_ALIGNMENT
    const offset = region?.offset ?? 0
    const end = offset + count * stride
    if (end > ADDRESS_LIMIT) throw new RangeError(`${count} heaps of ${stride.toLocaleString('en-US')} bytes leave the wasm32 address space`)
    const memory = region?.memory ?? new WebAssembly.Memory({ initial: 1, maximum: Math.ceil(end / WASM_PAGE), shared: true })
    const heaps: MemoryManager[] = []
    const regions: Array<{ start: number; end: number }> = []
    try {
      for (let i = 0; i < count; i++) {
        const start = offset + i * stride
        heaps.push(MemoryManager.createSync({ ...heapOptions, memory, offset: start, size, maxSize, shared: true }))
        regions.push({ start, end: start + maxSize })
      }
    } catch (error) {
      for (const heap of heaps) heap.destroy() // nothing half made is left claiming its region
      throw error
    }
    for (const heap of heaps) void heap.handle // every heap takes its lock from now on (see handle)
    return new HeapGroup(heaps, regions)
  }

  /** This group in another thread, from `handle` posted by its creator: a face of every heap. */
  static async attach(handle: HeapGroupHandle, options: AttachOptions = {}): Promise<HeapGroup> {
    return HeapGroup.attachSync(handle, options)
  }

  static attachSync(handle: HeapGroupHandle, options: AttachOptions = {}): HeapGroup {
    if (options === null || typeof options !== 'object') throw new TypeError('options must be an object')
    checkOptionNames(options, ['trackAllocations', 'lockTimeout'], 'HeapGroup.attach')
    const h = handle as Partial<HeapGroupHandle> | null
    if (!h || typeof h !== 'object' || h.kind !== 'heap-group' || !Array.isArray(h.heaps) || !Array.isArray(h.regions) || h.heaps.length !== h.regions.length) {
      throw new TypeError('not a HeapGroup handle')
    }
    return new HeapGroup(h.heaps.map((heap) => MemoryManager.attachSync(heap, options)), h.regions.map(({ start, end }) => ({ start, end })))
  }

  /** A structured-cloneable handle: post it to a worker and `HeapGroup.attach` it there. */
  get handle(): HeapGroupHandle {
    return { kind: 'heap-group', heaps: this.heaps.map((heap) => heap.handle), regions: this.regions.map(({ start, end }) => ({ start, end })) }
  }

  /** The memory every heap of the group lives in. */
  get memory(): WebAssembly.Memory {
    return this.heaps[0].memory
  }

  /** Heap `index` (a face in this thread): the one a thread allocates from. */
  heap(index: number): MemoryManager {
    if (typeof index !== 'number') throw new TypeError(`index must be a number, got ${typeof index}`)
    if (!Number.isInteger(index) || index < 0 || index >= this.heaps.length) throw new RangeError(`index must be an integer from 0 to ${this.heaps.length - 1}, got ${index}`)
    return this.heaps[index]
  }

  /** The heap whose region holds `ptr`, or undefined: the one to free or resize it with. */
  ownerOf(ptr: number): MemoryManager | undefined {
    checkPointer(ptr)
    // Binary search: the regions are in address order, one after another.
    let low = 0
    let high = this.regions.length - 1
    while (low <= high) {
      const middle = (low + high) >>> 1
      const { start, end } = this.regions[middle]
      if (ptr < start) high = middle - 1
      else if (ptr >= end) low = middle + 1
      else return this.heaps[middle]
    }
    return undefined
  }

  /** Frees `ptr` in the heap that owns it, whichever thread made it; free(0) does nothing. */
  free(ptr: number | AnyTypedArray): void {
    if (ptr === 0) return
    // A view goes by its offset to the heap whose region holds it, which refuses a view over
    // another buffer (MemoryManager.free); one at offset 0 is no free(0).
    this.owner(isTypedArray(ptr) ? ptr.byteOffset : ptr).free(ptr)
  }

  /**
   * Resizes `ptr` in the heap that owns it (MemoryManager.realloc there: it may move within that
   * heap), whichever thread made it. `realloc(0, n)` is a TypeError: a group has no heap of its own
   * to allocate from (call `heap(i).malloc(n)`).
   */
  realloc(ptr: number, size: number): number {
    if (ptr === 0) throw new TypeError('realloc(0, size) on a heap group: no heap to allocate from; call heap(i).malloc(size)')
    return this.owner(ptr).realloc(ptr, size)
  }

  /** Usable bytes of the block at `ptr`, asked of the heap that owns it. */
  usableSize(ptr: number): number {
    return this.owner(ptr).usableSize(ptr)
  }

  /** The heap that owns `ptr`; INVALID_POINTER when none does. */
  private owner(ptr: number): MemoryManager {
    const owner = this.ownerOf(ptr)
    if (!owner) throw new MemoryError('INVALID_POINTER', `${ptr} is in no heap of this group`, { ptr })
    return owner
  }

  /** Each heap's statistics, heap i at [i]. */
  stats(): MemoryStats[] {
    return this.heaps.map((heap) => heap.stats())
  }

  /** Validates every heap (each throws its first fault); their reports, heap i at [i]. */
  validate(): ValidationReport[] {
    return this.heaps.map((heap) => heap.validate())
  }

  /** This thread's lockOwnerId in each heap's lock, heap i at [i]: send them where recoverLocks would run. */
  get lockOwnerIds(): number[] {
    return this.heaps.map((heap) => heap.lockOwnerId)
  }

  /**
   * Another thread's `lockOwnerIds` (its thread ended): each heap whose lock that thread's face
   * holds is taken over, repaired and let go (MemoryManager.recoverLock). How many were.
   */
  recoverLocks(ownerIds: readonly number[]): number {
    if (!Array.isArray(ownerIds)) throw new TypeError('ownerIds must be an array: another thread\'s lockOwnerIds')
    if (ownerIds.length !== this.heaps.length) throw new RangeError(`ownerIds has ${ownerIds.length} ids; the group has ${this.heaps.length} heaps`)
    let recovered = 0
    this.heaps.forEach((heap, i) => {
      if (heap.recoverLock(ownerIds[i])) recovered++
    })
    return recovered
  }

  /** Destroys every heap of the group, for every thread. */
  destroy(): void {
    for (const heap of this.heaps) if (!heap.destroyed) heap.destroy()
  }

  /**
   * For `using`: the group made by create() is destroyed, for every thread; a group made by
   * attach() lets go of its faces only (each heap's Symbol.dispose), the heaps going on for the others.
   */
  [Symbol.dispose](): void {
    for (const heap of this.heaps) heap[Symbol.dispose]()
  }
}
