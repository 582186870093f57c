import { describe, it, expect } from 'vitest'
import { MemoryManager, StackAllocator } from '../../host/index.js'
import { thrown } from './helpers.js'

describe('typed views', () => {
  it('mallocAs gives a typed array over a new block; free takes the view', () => {
    const mm = MemoryManager.createSync({ size: 64 * 1024 })
    const floats = mm.mallocAs('f64', 100)!
    expect(floats).toBeInstanceOf(Float64Array)
    expect(floats.length).toBe(100)
    expect(floats.byteOffset % 8).toBe(0)
    expect(mm.usableSize(floats.byteOffset)).toBeGreaterThanOrEqual(800)
    floats.fill(1.5)
    expect(new Float64Array(mm.read(floats.byteOffset, 16).buffer)[1]).toBe(1.5)
    mm.free(floats)
    expect(mm.stats().liveBlocks).toBe(0)
  })

  it('callocAs zero-fills; every numeric kind is there', () => {
    const mm = MemoryManager.createSync({ size: 64 * 1024 })
    const dirty = mm.malloc(800)
    mm.view(dirty).fill(0xff)
    mm.free(dirty)
    const ints = mm.callocAs('i32', 200)!
    expect(ints.every((value) => value === 0)).toBe(true)
    for (const [type, constructor] of [['u8', Uint8Array], ['u8c', Uint8ClampedArray], ['i8', Int8Array], ['u16', Uint16Array], ['i16', Int16Array], ['u32', Uint32Array], ['f32', Float32Array], ['i64', BigInt64Array], ['u64', BigUint64Array]] as const) {
      expect(mm.mallocAs(type, 3)).toBeInstanceOf(constructor)
    }
    expect(() => mm.mallocAs('f16' as 'f32', 3)).toThrow(TypeError)
  })

  it('returns undefined when the block cannot be had, as mallocAs users expect', () => {
    const mm = MemoryManager.createSync({ size: 4096 })
    expect(mm.mallocAs('f64', 10_000)).toBeUndefined()
    expect(mm.callocAs('u32', 2 ** 31)).toBeUndefined()
    expect(mm.stats().failedAllocations).toBe(2)
  })

  it('reallocAs keeps the elements', () => {
    const mm = MemoryManager.createSync({ size: 64 * 1024 })
    const a = mm.mallocAs('u16', 10)!
    mm.malloc(8)
    a.set([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    const b = mm.reallocAs(a, 1000)!
    expect([...b.subarray(0, 10)]).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    expect(b.length).toBe(1000)
  })

  it('over shared memory, views stay valid when the pool grows', () => {
    const mm = MemoryManager.createSync({ size: 4096, maxSize: 4 * 1024 * 1024 })
    const view = mm.mallocAs('u32', 16)!
    view.fill(7)
    mm.malloc(1024 * 1024) // grows the pool
    expect(mm.memory.buffer.byteLength).toBeGreaterThan(1024 * 1024)
    expect(view.length).toBe(16)
    expect([...view]).toEqual(new Array(16).fill(7))
  })

  it('over unshared memory, growth detaches views; refreshView gives them back', () => {
    const mm = MemoryManager.createSync({ size: 4096, maxSize: 4 * 1024 * 1024, shared: false })
    const view = mm.mallocAs('f32', 16)!
    view.fill(2.5)
    mm.malloc(1024 * 1024)
    expect(view.length).toBe(0) // detached: the ArrayBuffer moved
    const fresh = mm.refreshView(view)
    expect(fresh.length).toBe(16)
    expect([...fresh]).toEqual(new Array(16).fill(2.5))
    mm.free(view) // the detached view still names its block
    expect(mm.stats().liveBlocks).toBe(1)
  })

  it("a view of another manager's block, or of no manager's, is INVALID_POINTER, and this manager's block at its offset lives on", () => {
    // Every manager's pool starts at the same offset of its own memory, so the view's offset names a
    // live block here too: free(view) freed it, reallocAs resized it, refreshView viewed it.
    for (const shared of [true, false]) {
      const mm = MemoryManager.createSync({ size: 64 * 1024, shared })
      const other = MemoryManager.createSync({ size: 64 * 1024, shared })
      const mine = mm.mallocAs('u32', 8)!
      const theirs = other.mallocAs('u32', 8)!
      expect(theirs.byteOffset).toBe(mine.byteOffset)
      const stranger = new Uint32Array(8) // over an ArrayBuffer of its own
      for (const view of [theirs, stranger]) {
        for (const call of [() => mm.free(view), () => mm.reallocAs(view, 100), () => mm.refreshView(view)]) {
          expect(call, `shared ${shared}`).toThrow(expect.objectContaining({ code: 'INVALID_POINTER' }))
        }
      }
      expect(mm.stats()).toMatchObject({ liveBlocks: 1, freeCount: 0 })
      mm.free(mine) // its own views still work, and the other manager's in the other manager
      other.free(theirs)
      expect([mm.stats().liveBlocks, other.stats().liveBlocks]).toEqual([0, 0])
    }
  })

  it('typedView lays a view over an existing block, bounded by it', () => {
    const mm = MemoryManager.createSync({ size: 4096 })
    const ptr = mm.malloc(64)
    expect(mm.typedView('f64', ptr).length).toBe(mm.usableSize(ptr) / 8)
    expect(() => mm.typedView('f64', ptr, 100)).toThrow(expect.objectContaining({ code: 'OUT_OF_BOUNDS' }))
  })

  it('the stack: pushAs gives a typed array over a new top block, pop takes the view, and the order is checked', () => {
    const st = StackAllocator.createSync({ size: 4096 })
    const below = st.pushAs('f32', 10)!
    const top = st.pushAs('f64', 4, 64)!
    expect(top).toBeInstanceOf(Float64Array)
    expect(top.length).toBe(4)
    expect(top.byteOffset % 64).toBe(0)
    top.fill(2.5)
    expect(Array.from(st.typedView('f64', top.byteOffset))).toEqual([2.5, 2.5, 2.5, 2.5])
    expect(thrown(() => st.pop(below)).code).toBe('STACK_ORDER')
    expect(st.depth).toBe(2)
    st.pop(top)
    st.pop(below)
    expect(st.depth).toBe(0)
    expect(st.pushAs('u8', 5000)).toBeUndefined() // more than the pool: as push's 0
    expect(st.stats().failedAllocations).toBe(1)
  })

  it("the stack: typedView is bounded by the block, and a view of another allocator's memory is INVALID_POINTER", () => {
    const st = StackAllocator.createSync({ size: 4096 })
    const ptr = st.push(40)
    expect(st.typedView('u32', ptr).length).toBe(10)
    expect(() => st.typedView('u32', ptr, 11)).toThrow(/leave the block/)
    const other = StackAllocator.createSync({ size: 4096 })
    const foreign = other.pushAs('u8', 40)!
    expect(foreign.byteOffset).toBe(ptr) // the same offset, in another memory
    expect(thrown(() => st.pop(foreign)).code).toBe('INVALID_POINTER')
    expect(st.depth).toBe(1)
    expect(st.refreshView(st.typedView('u8', ptr)).byteOffset).toBe(ptr)
  })
})
