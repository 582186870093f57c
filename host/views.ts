// Typed views an allocator hands out (mallocAs, pushAs, typedView): which block each lies over, and
// which memory its buffer is, so that a view passed back (free, pop, reallocAs, refreshView) names
// its block, and a view of another allocator's memory is refused rather than read as an offset here.

import { MemoryError } from './errors.js'
import { typedConstructor, type AnyTypedArray } from './typed.js'

/**
 * The memory behind each buffer a view was made over (by any allocator in this thread), so that a
 * view of one allocator's block passed to another is told apart. Weak: it keeps nothing alive.
 */
const bufferMemories = new WeakMap<ArrayBufferLike, WebAssembly.Memory>()

export class TypedViews {
  /** Where each view handed out lives: a detached view (unshared memory, after growth) forgets it. */
  private readonly blocks = new WeakMap<AnyTypedArray, { ptr: number; length: number }>()

  constructor(private readonly memory: WebAssembly.Memory, private readonly shared: boolean) {}

  /** A view of `length` elements at `ptr` over the memory as it is now, remembered. */
  make<T extends AnyTypedArray>(constructor: ReturnType<typeof typedConstructor>, ptr: number, length: number): T {
    const buffer = this.memory.buffer
    bufferMemories.set(buffer, this.memory)
    const view = new constructor(buffer, ptr, length) as T
    this.blocks.set(view, { ptr, length })
    return view
  }

  /**
   * The block under a view passed back. A view over another allocator's memory is refused
   * (INVALID_POINTER): its byteOffset, a number, could name a live block here too (every
   * allocator's pool starts at the same offset of its own memory).
   */
  blockOf(view: AnyTypedArray): { ptr: number; length: number } {
    const buffer = view.buffer
    const memory = bufferMemories.get(buffer)
    // Another allocator's views; and buffers that cannot be this memory's: a plain ArrayBuffer when
    // it is shared, a live ArrayBuffer other than its own when it is not (its own old ones are
    // detached by growth, which refreshView is for). A SharedArrayBuffer nobody here made a view over
    // (posted from another thread, or this memory's before it grew) cannot be told apart: it is taken.
    const foreign = memory !== undefined ? memory !== this.memory
      : buffer !== this.memory.buffer && (this.shared ? !(buffer instanceof SharedArrayBuffer) : buffer.byteLength !== 0)
    if (foreign) {
      throw new MemoryError('INVALID_POINTER', `a view over another memory than this allocator's (its offset ${view.byteOffset} names no block of this allocator)`, { ptr: view.byteOffset })
    }
    return this.blocks.get(view) ?? { ptr: view.byteOffset, length: view.length }
  }
}
