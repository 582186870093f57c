// HeapGroup: a heap per thread in regions of one shared memory. Each heap keeps to its region, the
// group finds a pointer's owner from its address, frees go to the owner from any thread, and bad
// arguments are refused before anything changes.
import { describe, it, expect } from 'vitest'
import { Worker } from 'node:worker_threads'
import { HeapGroup, MemoryError, type HeapGroupHandle } from '../../dist/index.js'

describe('HeapGroup', () => {
  it('makes its heaps side by side in one shared memory, each allocating in its own region', async () => {
    const group = await HeapGroup.create({ heaps: 3, size: 64 * 1024, maxSize: 256 * 1024, policy: 'best-fit' })
    expect(group.heaps.length).toBe(3)
    expect(group.memory.buffer).toBeInstanceOf(SharedArrayBuffer)
    const ptrs = group.heaps.map((heap) => heap.malloc(100_000)) // each grows within its region
    ptrs.forEach((ptr, i) => {
      expect(ptr).not.toBe(0)
      expect(group.ownerOf(ptr)).toBe(group.heap(i))
      expect(group.heap(i).memory).toBe(group.memory)
    })
    expect(ptrs[1] - ptrs[0]).toBeGreaterThanOrEqual(256 * 1024 - 4096)
    expect(group.ownerOf(3 * 256 * 1024 + 8)).toBeUndefined()
    group.free(ptrs[2])
    expect(group.stats().map((stats) => stats.liveBlocks)).toEqual([1, 1, 0])
    expect(group.validate().length).toBe(3)
  })

  it('frees a block in the heap that owns it, and refuses one that no heap owns, changing nothing', () => {
    const group = HeapGroup.createSync({ heaps: 2, size: 32 * 1024 })
    const other = HeapGroup.attachSync(group.handle) // as another thread would
    const ptr = group.heap(1).malloc(64)
    other.free(ptr)
    expect(group.heap(1).stats().liveBlocks).toBe(0)
    expect(() => other.free(ptr)).toThrow(expect.objectContaining({ code: 'DOUBLE_FREE' }))
    const before = group.stats()
    const error = (() => { try { group.free(2 * 32 * 1024 + 100) } catch (caught) { return caught } })()
    expect(error).toBeInstanceOf(MemoryError)
    expect((error as MemoryError).code).toBe('INVALID_POINTER')
    expect(group.stats()).toEqual(before)
    group.free(0) // nothing, as free(0)
    const grown = other.realloc(group.heap(1).malloc(8), 5000) // resized in its own heap, from any face
    expect(group.ownerOf(grown)).toBe(group.heap(1))
    expect(other.usableSize(grown)).toBeGreaterThanOrEqual(5000)
    group.free(grown)
    expect(() => group.realloc(0, 8)).toThrow(TypeError)
    expect(() => group.usableSize(2 * 32 * 1024 + 100)).toThrow(expect.objectContaining({ code: 'INVALID_POINTER' }))
    expect(() => group.free(new Float64Array(4))).toThrow(expect.objectContaining({ code: 'INVALID_POINTER' })) // a view of no heap's, at offset 0
    const view = group.heap(0).mallocAs('f64', 4)!
    group.free(view) // a typed view goes to its owner too
    expect(group.heap(0).stats().liveBlocks).toBe(0)
  })

  it('in a memory of yours, from an offset; destroy() releases every heap for every face', () => {
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 64, shared: true })
    const group = HeapGroup.createSync({ heaps: 2, memory, offset: 100_000, size: 40_000, checks: true })
    const ptr = group.heap(0).malloc(10)
    expect(ptr).toBeGreaterThan(100_000)
    expect(() => group.heap(0).write(ptr, new Uint8Array(11))).toThrow(expect.objectContaining({ code: 'OUT_OF_BOUNDS' })) // checks mode: exactly the request
    const other = HeapGroup.attachSync(group.handle)
    group.destroy()
    expect(() => other.heap(1).malloc(8)).toThrow(expect.objectContaining({ code: 'DESTROYED' }))
    expect(group.heaps.every((heap) => heap.destroyed)).toBe(true)
  })

  it('bad options and arguments are TypeError or RangeError', () => {
    for (const heaps of [0, 1.5, -1, 2000]) expect(() => HeapGroup.createSync({ heaps })).toThrow(RangeError)
    expect(() => HeapGroup.createSync({} as never)).toThrow(TypeError)
    expect(() => HeapGroup.createSync({ heaps: 2, shared: false } as never)).toThrow(/shared memory/)
    expect(() => HeapGroup.createSync({ heaps: 2, memory: new WebAssembly.Memory({ initial: 1 }), offset: 0 })).toThrow(/needs a shared WebAssembly.Memory/)
    expect(() => HeapGroup.createSync({ heaps: 2, offset: 64 })).toThrow(/give memory with it/)
    expect(() => HeapGroup.createSync({ heaps: 2, sise: 10 } as never)).toThrow(/unknown option 'sise'/)
    expect(() => HeapGroup.attachSync({ kind: 'heap' } as never)).toThrow(/not a HeapGroup handle/)
    const group = HeapGroup.createSync({ heaps: 2, size: 16 * 1024 })
    expect(() => group.heap(2)).toThrow(RangeError)
    expect(() => group.ownerOf('8' as never)).toThrow(TypeError)
    expect(() => group.free(-8)).toThrow(expect.objectContaining({ code: 'INVALID_POINTER' }))
  })

  it('three workers, a heap each: each frees blocks another made, through the group, while allocating its own', async () => {
    const workers = 3
    const group = HeapGroup.createSync({ heaps: workers, size: 256 * 1024, maxSize: 2 << 20 })
    const handle: HeapGroupHandle = group.handle
    const started = Array.from({ length: workers }, (_, index) => new Worker(new URL('./workers/group.worker.mjs', import.meta.url), { workerData: { handle, index, blocks: 2000 } }))
    const first = <T,>(worker: Worker) => new Promise<T>((resolve, reject) => { worker.once('message', resolve); worker.once('error', reject) })
    try {
      const given = await Promise.all(started.map((worker) => first<{ given: Array<{ ptr: number }> }>(worker)))
      const done = started.map((worker) => first<{ corrupted: number; allocations: number }>(worker))
      started.forEach((worker, index) => worker.postMessage({ others: given[(index + 1) % workers].given }))
      const outcomes = await Promise.all(done)
      for (const outcome of outcomes) expect(outcome.corrupted).toBe(0)
      group.validate()
      const stats = group.stats()
      expect(stats.map((heap) => heap.liveBlocks)).toEqual([0, 0, 0]) // every block freed, most by another thread
      stats.forEach((heap, index) => expect(heap.allocationCount).toBe(outcomes[index].allocations))
    } finally {
      await Promise.all(started.map((worker) => worker.terminate()))
    }
  }, 60_000)
})
