import { describe, it, expect } from 'vitest'
import { MemoryManager, MemoryError, Protection } from '../../host/index.js'

const KiB = 1024

describe('MemoryManager.create', () => {
  it('defaults to a 1 MiB first-fit pool with 8-byte alignment, shared in Node', async () => {
    const mm = await MemoryManager.create()
    expect(mm.stats().poolSize).toBe(1024 * KiB)
    expect(mm.shared).toBe(true)
    expect(mm.memory.buffer).toBeInstanceOf(SharedArrayBuffer)
    expect(mm.malloc(3) % 8).toBe(0)
  })

  it('createSync takes the same options', () => {
    const mm = MemoryManager.createSync({ size: 64 * KiB, alignment: 64, policy: 'best-fit', shared: false })
    expect(mm.stats().poolSize).toBe(64 * KiB)
    expect(mm.shared).toBe(false)
    expect(mm.memory.buffer).toBeInstanceOf(ArrayBuffer)
    for (let i = 1; i < 20; i++) expect(mm.malloc(i * 5) % 64).toBe(0)
  })

  it('rejects options that cannot describe a heap', () => {
    expect(() => MemoryManager.createSync({ size: -1 })).toThrow(RangeError)
    expect(() => MemoryManager.createSync({ size: 1.5 })).toThrow(RangeError)
    expect(() => MemoryManager.createSync({ size: '4096' as unknown as number })).toThrow(TypeError)
    expect(() => MemoryManager.createSync({ size: 4096, maxSize: 1024 })).toThrow(RangeError)
    expect(() => MemoryManager.createSync({ alignment: 12 })).toThrow(RangeError)
    expect(() => MemoryManager.createSync({ alignment: 8192 })).toThrow(RangeError)
    expect(() => MemoryManager.createSync({ policy: 'worst-fit' as 'first-fit' })).toThrow(RangeError)
  })
})

describe('malloc', () => {
  it('returns aligned, distinct, non-overlapping blocks', () => {
    const mm = MemoryManager.createSync({ size: 64 * KiB })
    const blocks = [10, 100, 1000, 1, 64].map((size) => ({ ptr: mm.malloc(size), size }))
    for (const { ptr } of blocks) expect(ptr % 8).toBe(0)
    const sorted = [...blocks].sort((a, b) => a.ptr - b.ptr)
    for (let i = 1; i < sorted.length; i++) expect(sorted[i].ptr).toBeGreaterThanOrEqual(sorted[i - 1].ptr + sorted[i - 1].size)
  })

  it('returns 0 and counts a failure when the request cannot be satisfied', () => {
    const mm = MemoryManager.createSync({ size: 4 * KiB })
    expect(mm.malloc(8 * KiB)).toBe(0)
    expect(mm.malloc(2 ** 40)).toBe(0)
    expect(mm.stats().failedAllocations).toBe(2)
    expect(mm.stats().allocationCount).toBe(0)
  })

  it('malloc(0) returns a unique non-null pointer that must be freed', () => {
    const mm = MemoryManager.createSync({ size: 4 * KiB })
    const a = mm.malloc(0)
    const b = mm.malloc(0)
    expect(a).not.toBe(0)
    expect(b).not.toBe(a)
    expect(mm.stats().liveBlocks).toBe(2)
    mm.free(a)
    mm.free(b)
    expect(mm.stats().liveBlocks).toBe(0)
  })

  it('rejects sizes that are not non-negative integers, changing nothing', () => {
    const mm = MemoryManager.createSync({ size: 4 * KiB })
    expect(() => mm.malloc(-1)).toThrow(RangeError)
    expect(() => mm.malloc(2.5)).toThrow(RangeError)
    expect(() => mm.malloc(NaN)).toThrow(RangeError)
    expect(() => mm.malloc('8' as unknown as number)).toThrow(TypeError)
    expect(mm.stats()).toMatchObject({ allocationCount: 0, failedAllocations: 0 })
  })
})

describe('calloc', () => {
  it('zero-fills memory that held data before', () => {
    const mm = MemoryManager.createSync({ size: 4 * KiB })
    const dirty = mm.malloc(256)
    mm.view(dirty).fill(0xab)
    mm.free(dirty)
    const ptr = mm.calloc(32, 8)
    expect(ptr).toBe(dirty)
    expect([...mm.read(ptr, 256)].every((byte) => byte === 0)).toBe(true)
  })

  it('returns 0 on count * size overflow, as a failed allocation', () => {
    const mm = MemoryManager.createSync({ size: 4 * KiB })
    expect(mm.calloc(2 ** 31, 4)).toBe(0)
    expect(mm.calloc(2 ** 40, 2 ** 40)).toBe(0)
    expect(mm.stats().failedAllocations).toBe(2)
  })

  it('a zero product behaves as malloc(0)', () => {
    const mm = MemoryManager.createSync({ size: 4 * KiB })
    const ptr = mm.calloc(0, 100)
    expect(ptr).not.toBe(0)
    expect(mm.calloc(2 ** 40, 0)).not.toBe(0)
    expect(mm.stats().liveBlocks).toBe(2)
  })
})

describe('realloc', () => {
  it('preserves contents up to min(old, new) when growing and moving', () => {
    const mm = MemoryManager.createSync({ size: 16 * KiB })
    const ptr = mm.malloc(100)
    mm.malloc(8) // blocks growth in place
    mm.write(ptr, Array.from({ length: 100 }, (_, i) => i))
    const moved = mm.realloc(ptr, 1000)
    expect(moved).not.toBe(ptr)
    expect([...mm.read(moved, 100)]).toEqual(Array.from({ length: 100 }, (_, i) => i))
    const shrunk = mm.realloc(moved, 10)
    expect(shrunk).toBe(moved)
    expect([...mm.read(shrunk, 10)]).toEqual(Array.from({ length: 10 }, (_, i) => i))
  })

  it('realloc(0, n) is malloc(n); realloc(p, 0) frees p and returns 0 without counting a failure', () => {
    const mm = MemoryManager.createSync({ size: 4 * KiB })
    const ptr = mm.realloc(0, 50)
    expect(ptr).not.toBe(0)
    expect(mm.realloc(ptr, 0)).toBe(0)
    expect(mm.stats()).toMatchObject({ liveBlocks: 0, failedAllocations: 0, freeCount: 1 })
  })

  it('a block at the end of a growable pool grows with the pool where it is, up to maxSize, instead of moving up', () => {
    // Before, each growth past the top moved the block into the grown pool and left its old place a
    // hole: doubling a buffer from 100 bytes failed at 800 KB in a 1 MiB heap.
    const mm = MemoryManager.createSync({ size: 4 * KiB, maxSize: 1024 * KiB })
    const ptr = mm.malloc(100)
    mm.write(ptr, [7, 8, 9])
    for (let size = 200; size <= 819_200; size *= 2) {
      expect(mm.realloc(ptr, size), `realloc to ${size}`).toBe(ptr)
      expect(mm.usableSize(ptr)).toBeGreaterThanOrEqual(size)
    }
    expect([...mm.read(ptr, 3)]).toEqual([7, 8, 9])
    const stats = mm.stats()
    expect(stats.poolSize).toBeLessThan(819_200 + 64 * KiB) // grown by what the block needed, to a page
    expect(stats).toMatchObject({ freeBlocks: 1, liveBlocks: 1, currentUsage: 819_200 })
    // Past maxSize: a failure, the block as it was.
    expect(mm.realloc(ptr, 1024 * KiB)).toBe(0)
    expect(mm.stats().failedAllocations).toBe(1)
    expect([...mm.read(ptr, 3)]).toEqual([7, 8, 9])
    mm.validate()
  })

  it('a block at the end of the pool still moves into a free block that holds it, rather than grow the pool', () => {
    const mm = MemoryManager.createSync({ size: 8 * KiB, maxSize: 1024 * KiB })
    const hole = mm.malloc(5000)
    const last = mm.malloc(100)
    mm.free(hole)
    const pool = mm.stats().poolSize
    expect(mm.realloc(last, 3500)).toBe(hole) // the top is too small; the hole (first-fit) takes it
    expect(mm.stats().poolSize).toBe(pool)
    mm.validate()
  })

  it('on failure returns 0 and leaves the block valid and unchanged', () => {
    const mm = MemoryManager.createSync({ size: 4 * KiB })
    const ptr = mm.malloc(64)
    mm.write(ptr, [1, 2, 3, 4])
    expect(mm.realloc(ptr, 64 * KiB)).toBe(0)
    expect([...mm.read(ptr, 4)]).toEqual([1, 2, 3, 4])
    expect(mm.stats().failedAllocations).toBe(1)
    mm.free(ptr)
  })
})

describe('alignedAlloc', () => {
  it('aligns to any power of two from 8 to 65536', () => {
    const mm = MemoryManager.createSync({ size: 1024 * KiB })
    for (let alignment = 8; alignment <= 65536; alignment *= 2) {
      const ptr = mm.alignedAlloc(alignment, 24)
      expect(ptr).not.toBe(0)
      expect(ptr % alignment).toBe(0)
    }
    mm.validate()
  })

  it('throws RangeError for an alignment that is not a power of two in range', () => {
    const mm = MemoryManager.createSync({ size: 4 * KiB })
    for (const bad of [0, 4, 12, 100, 131072, -8, 1.5]) expect(() => mm.alignedAlloc(bad, 8)).toThrow(RangeError)
  })
})

describe('free and usableSize', () => {
  it('free(0) does nothing', () => {
    const mm = MemoryManager.createSync({ size: 4 * KiB })
    mm.free(0)
    expect(mm.stats().freeCount).toBe(0)
  })

  it('usableSize is at least the requested size', () => {
    const mm = MemoryManager.createSync({ size: 4 * KiB })
    for (const size of [0, 1, 7, 8, 9, 100, 1000]) expect(mm.usableSize(mm.malloc(size))).toBeGreaterThanOrEqual(size)
  })
})

describe('checked accessors', () => {
  it('read and write inside the block, with an offset', () => {
    const mm = MemoryManager.createSync({ size: 4 * KiB })
    const ptr = mm.malloc(16)
    mm.write(ptr, new Uint8Array([9, 8, 7]), 5)
    expect([...mm.read(ptr, 3, 5)]).toEqual([9, 8, 7])
  })

  it('refuse to leave the block', () => {
    const mm = MemoryManager.createSync({ size: 4 * KiB })
    const ptr = mm.malloc(16)
    const usable = mm.usableSize(ptr)
    expect(() => mm.read(ptr, usable + 1)).toThrow(expect.objectContaining({ code: 'OUT_OF_BOUNDS' }))
    expect(() => mm.write(ptr, [1], usable)).toThrow(expect.objectContaining({ code: 'OUT_OF_BOUNDS' }))
    expect(() => mm.view(ptr, usable + 1)).toThrow(expect.objectContaining({ code: 'OUT_OF_BOUNDS' }))
  })

  it('writeString and readString round-trip UTF-8 with a NUL', () => {
    const mm = MemoryManager.createSync({ size: 4 * KiB })
    const ptr = mm.malloc(32)
    mm.writeString(ptr, 'héllo, wörld ✓')
    expect(mm.readString(ptr)).toBe('héllo, wörld ✓')
    expect(mm.read(ptr, 1, new TextEncoder().encode('héllo, wörld ✓').length)[0]).toBe(0)
  })

  it('a string that does not fit, or a block without a NUL, is OUT_OF_BOUNDS', () => {
    const mm = MemoryManager.createSync({ size: 4 * KiB })
    const ptr = mm.malloc(8)
    const usable = mm.usableSize(ptr)
    expect(() => mm.writeString(ptr, 'x'.repeat(usable))).toThrow(expect.objectContaining({ code: 'OUT_OF_BOUNDS' }))
    mm.view(ptr).fill(0x41)
    expect(() => mm.readString(ptr)).toThrow(expect.objectContaining({ code: 'OUT_OF_BOUNDS' }))
  })

  it('copy is memmove: between blocks, and inside one block overlapping either way', () => {
    const mm = MemoryManager.createSync({ size: 4 * KiB })
    const a = mm.malloc(16)
    const b = mm.malloc(16)
    mm.write(a, [1, 2, 3, 4, 5, 6, 7, 8])
    mm.copy(b, a, 4, 10, 2) // a[2..6) to b[10..14)
    expect([...mm.read(b, 4, 10)]).toEqual([3, 4, 5, 6])
    mm.copy(a, a, 6, 2) // forward over itself: a[0..6) to a[2..8)
    expect([...mm.read(a, 8)]).toEqual([1, 2, 1, 2, 3, 4, 5, 6])
    mm.copy(a, a, 6, 0, 2) // backward: a[2..8) to a[0..6)
    expect([...mm.read(a, 8)]).toEqual([1, 2, 3, 4, 5, 6, 5, 6])
    mm.copy(b, a, 0) // nothing
    expect([...mm.read(b, 4, 10)]).toEqual([3, 4, 5, 6])
  })

  it('copy checks both ranges before a byte moves: bounds, Read on the source, Write on the destination', () => {
    const mm = MemoryManager.createSync({ size: 4 * KiB })
    const a = mm.malloc(16)
    const b = mm.malloc(16)
    mm.write(a, Array.from({ length: 16 }, (_, i) => i + 1))
    const usable = mm.usableSize(b)
    const before = [...mm.read(b, usable)]
    expect(() => mm.copy(b, a, 16, usable - 8)).toThrow(expect.objectContaining({ code: 'OUT_OF_BOUNDS', ptr: b }))
    expect(() => mm.copy(b, a, 8, 0, mm.usableSize(a) - 4)).toThrow(expect.objectContaining({ code: 'OUT_OF_BOUNDS', ptr: a }))
    expect([...mm.read(b, usable)]).toEqual(before) // not one byte copied
    mm.protect(b, 16, Protection.Read)
    expect(() => mm.copy(b, a, 4)).toThrow(expect.objectContaining({ code: 'PROTECTION' }))
    mm.protect(a, 16, Protection.Write)
    mm.protect(b, 16, Protection.ReadWrite)
    expect(() => mm.copy(b, a, 4)).toThrow(expect.objectContaining({ code: 'PROTECTION' }))
    expect(() => mm.copy(b, a + 8, 4)).toThrow(expect.objectContaining({ code: 'INVALID_POINTER' }))
    expect(() => mm.copy(b, a, -1)).toThrow(RangeError)
  })

  it('fill is memset: to the block\'s end by default, a byte value, Write needed', () => {
    const mm = MemoryManager.createSync({ size: 4 * KiB })
    const ptr = mm.malloc(24)
    const usable = mm.usableSize(ptr)
    mm.fill(ptr, 0xee)
    expect(mm.read(ptr, usable).every((byte) => byte === 0xee)).toBe(true)
    mm.fill(ptr, 1, 3, 2)
    expect([...mm.read(ptr, 6)]).toEqual([0xee, 0xee, 1, 1, 1, 0xee])
    mm.fill(ptr, 0, undefined, usable - 2)
    expect([...mm.read(ptr, 3, usable - 3)]).toEqual([0xee, 0, 0])
    expect(() => mm.fill(ptr, 0, usable + 1)).toThrow(expect.objectContaining({ code: 'OUT_OF_BOUNDS' }))
    expect(() => mm.fill(ptr, 0, undefined, usable + 1)).toThrow(expect.objectContaining({ code: 'OUT_OF_BOUNDS' }))
    for (const bad of [256, -1, 1.5, NaN]) expect(() => mm.fill(ptr, bad)).toThrow(RangeError)
    expect(() => mm.fill(ptr, '0' as unknown as number)).toThrow(TypeError)
    mm.protect(ptr, 24, Protection.Read)
    expect(() => mm.fill(ptr, 0)).toThrow(expect.objectContaining({ code: 'PROTECTION' }))
    expect(mm.read(ptr, 1)[0]).toBe(0xee) // nothing written
  })

  it('view is a live window over the block', () => {
    const mm = MemoryManager.createSync({ size: 4 * KiB })
    const ptr = mm.malloc(8)
    const view = mm.view(ptr)
    expect(view.length).toBe(mm.usableSize(ptr))
    view[0] = 42
    expect(mm.read(ptr, 1)[0]).toBe(42)
  })
})

describe('statistics', () => {
  it('add up as API.md defines them', () => {
    const mm = MemoryManager.createSync({ size: 16 * KiB })
    const a = mm.malloc(100)
    const b = mm.malloc(200)
    mm.free(a)
    const c = mm.realloc(b, 300)
    const stats = mm.stats()
    expect(stats).toMatchObject({
      totalAllocated: 600,
      totalFreed: 300,
      currentUsage: 300,
      peakUsage: 300,
      allocationCount: 3,
      freeCount: 2,
      failedAllocations: 0,
      liveBlocks: 1,
      poolSize: 16 * KiB,
    })
    expect(stats.currentUsage).toBe(stats.totalAllocated - stats.totalFreed)
    expect(stats.liveBlocks).toBe(stats.allocationCount - stats.freeCount)
    expect(stats.fragmentation).toBeCloseTo(100 * (1 - stats.largestFreeBlock / stats.freeBytes), 10)
    expect(c).not.toBe(0)
  })

  it('fragmentation is 0 with one free block and grows with holes', () => {
    const mm = MemoryManager.createSync({ size: 16 * KiB })
    expect(mm.stats().fragmentation).toBe(0)
    const ptrs = Array.from({ length: 20 }, () => mm.malloc(200))
    ptrs.filter((_, i) => i % 2 === 0).forEach((ptr) => mm.free(ptr))
    const { fragmentation, freeBlocks } = mm.stats()
    expect(freeBlocks).toBe(11)
    expect(fragmentation).toBeGreaterThan(0)
    expect(fragmentation).toBeLessThan(100)
  })

  it('resetStats zeroes counters, keeps current usage and sets the peak to it', () => {
    const mm = MemoryManager.createSync({ size: 16 * KiB })
    const a = mm.malloc(1000)
    mm.malloc(10)
    mm.malloc(64 * KiB)
    mm.free(a)
    mm.resetStats()
    expect(mm.stats()).toMatchObject({
      totalAllocated: 0, totalFreed: 0, allocationCount: 0, freeCount: 0, failedAllocations: 0,
      currentUsage: 10, peakUsage: 10, liveBlocks: 1,
    })
  })

  it('formatStats and printStats render every figure', () => {
    const mm = MemoryManager.createSync({ size: 16 * KiB })
    mm.malloc(1234)
    const lines: string[] = []
    mm.printStats((text) => lines.push(text))
    expect(lines).toHaveLength(1)
    expect(lines[0]).toBe(mm.formatStats())
    for (const label of ['Total allocated', 'Current usage', 'Peak usage', 'Failed allocations', 'Fragmentation', 'Free blocks']) {
      expect(lines[0]).toContain(label)
    }
    expect(lines[0]).toMatch(/Current usage\s+\|\s+1,234 B/)
  })
})

describe('heap walk', () => {
  it('blocks() lists every block in address order, live ones with their requested size', () => {
    const mm = MemoryManager.createSync({ size: 4 * KiB })
    const a = mm.malloc(10)
    const b = mm.malloc(20)
    mm.malloc(30)
    mm.free(b)
    mm.protect(a, 10, Protection.Read)
    const blocks = mm.blocks()
    expect(blocks.map((block) => block.free)).toEqual([false, true, false, true])
    expect(blocks[0]).toEqual({ ptr: a, size: 10, free: false, protection: Protection.Read })
    expect(blocks[1].ptr).toBe(b)
    expect(blocks[1].size).toBeGreaterThanOrEqual(20)
    for (let i = 1; i < blocks.length; i++) expect(blocks[i].ptr).toBeGreaterThan(blocks[i - 1].ptr)
  })

  it('leaks() lists the live blocks', () => {
    const mm = MemoryManager.createSync({ size: 4 * KiB })
    const a = mm.malloc(10)
    const b = mm.malloc(20)
    mm.free(a)
    expect(mm.leaks()).toEqual([{ ptr: b, size: 20 }])
  })

  it('validate() reports the heap when it holds', () => {
    const mm = MemoryManager.createSync({ size: 4 * KiB })
    mm.malloc(10)
    const middle = mm.malloc(20)
    mm.malloc(30)
    mm.free(middle)
    expect(mm.validate()).toMatchObject({ liveBlocks: 2, freeBlocks: 2, blocks: 4 })
  })
})

describe('growth', () => {
  it('grows the pool up to maxSize, then fails', () => {
    const mm = MemoryManager.createSync({ size: 4 * KiB, maxSize: 256 * KiB })
    const big = mm.malloc(100 * KiB)
    expect(big).not.toBe(0)
    expect(mm.stats().poolSize).toBeGreaterThan(100 * KiB)
    expect(mm.stats().poolSize).toBeLessThanOrEqual(256 * KiB)
    expect(mm.malloc(200 * KiB)).toBe(0)
    expect(mm.stats().poolSize).toBeLessThanOrEqual(256 * KiB)
    mm.validate()
  })

  it('a request that would not fit even at maxSize fails without growing the pool', () => {
    const mm = MemoryManager.createSync({ size: 4 * KiB, maxSize: 256 * KiB })
    mm.malloc(100 * KiB)
    const grown = mm.stats().poolSize
    expect(grown).toBeLessThan(256 * KiB - 64 * KiB) // room to grow by a page or more
    expect(mm.malloc(250 * KiB)).toBe(0)
    expect(mm.stats().poolSize).toBe(grown)
    expect(mm.stats().failedAllocations).toBe(1)
  })

  it('views taken through the API after growth see the new memory', () => {
    const mm = MemoryManager.createSync({ size: 4 * KiB, maxSize: 1024 * KiB })
    const small = mm.malloc(16)
    mm.write(small, [1, 2, 3])
    const before = mm.memory.buffer.byteLength
    const big = mm.malloc(512 * KiB)
    expect(mm.memory.buffer.byteLength).toBeGreaterThan(before)
    mm.write(big, [7], 512 * KiB - 1)
    expect(mm.read(big, 1, 512 * KiB - 1)[0]).toBe(7)
    expect([...mm.read(small, 3)]).toEqual([1, 2, 3])
    expect(mm.view(big).length).toBe(mm.usableSize(big))
  })

  it('the seed fixed pool is maxSize == size: no growth', () => {
    const mm = MemoryManager.createSync({ size: 4 * KiB })
    expect(mm.malloc(5 * KiB)).toBe(0)
    expect(mm.stats().poolSize).toBe(4 * KiB)
  })
})

describe('destroy', () => {
  it('makes every later call throw DESTROYED', () => {
    const mm = MemoryManager.createSync({ size: 4 * KiB })
    const ptr = mm.malloc(8)
    const view = mm.mallocAs('f64', 4)!
    mm.destroy()
    const calls: Array<() => unknown> = [
      () => mm.malloc(8), () => mm.calloc(1, 8), () => mm.realloc(ptr, 16), () => mm.free(ptr),
      () => mm.alignedAlloc(64, 8), () => mm.usableSize(ptr), () => mm.stats(), () => mm.resetStats(),
      () => mm.validate(), () => mm.blocks(), () => mm.leaks(), () => mm.read(ptr, 1), () => mm.write(ptr, [1]),
      () => mm.protect(ptr, 8, Protection.Read), () => mm.protection(ptr), () => mm.view(ptr), () => mm.destroy(),
      () => mm.handle, () => mm.isProtected(ptr, Protection.Read), () => mm.readString(ptr), () => mm.writeString(ptr, 'a'),
      () => mm.formatStats(), () => mm.formatLeaks(), () => mm.formatMap(), () => mm.mapSvg(), () => mm.trim(),
      () => mm.mallocAs('u8', 1), () => mm.callocAs('u8', 1), () => mm.reallocAs(view, 8), () => mm.typedView('u8', ptr),
      () => mm.refreshView(view), () => mm.free(view), // refreshView handed out views after destroy, reading no block
    ]
    for (const call of calls) {
      expect(call).toThrow(MemoryError)
      expect(call).toThrow(expect.objectContaining({ code: 'DESTROYED' }))
    }
  })
})

describe('small-block caches', () => {
  it('serve a small request from the blocks of its size freed last, and count them as free', () => {
    const mm = MemoryManager.createSync({ size: 64 * KiB })
    const a = mm.malloc(100)
    mm.malloc(8)
    mm.free(a)
    const free = mm.stats()
    expect(free.freeBlocks).toBe(2)
    expect(mm.blocks().find((block) => block.ptr === a)).toMatchObject({ free: true, size: 104 })
    expect(mm.malloc(97)).toBe(a)
  })

  it('trim() hands them back to coalesce', () => {
    const mm = MemoryManager.createSync({ size: 64 * KiB })
    const ptrs = Array.from({ length: 10 }, () => mm.malloc(64))
    const guard = mm.malloc(8) // so that the last of them is not next to the free tail (it would merge at once)
    ptrs.forEach((ptr) => mm.free(ptr))
    expect(mm.stats()).toMatchObject({ freeBlocks: 11, heldBlocks: 10, heldBytes: 10 * 64 }) // ten parked, and the tail
    expect(mm.formatStats()).toMatch(/Held free bytes\s*\|\s*640 B/)
    mm.trim()
    expect(mm.stats()).toMatchObject({ freeBlocks: 2, heldBlocks: 0, heldBytes: 0 }) // the ten as one block, and the tail
    mm.free(guard)
    expect(mm.stats().freeBlocks).toBe(1)
    mm.validate()
  })

  it('smallBlockCaches: false places every request by the policy', () => {
    const mm = MemoryManager.createSync({ size: 64 * KiB, smallBlockCaches: false })
    const a = mm.malloc(100)
    const b = mm.malloc(100)
    mm.malloc(8)
    mm.free(a)
    mm.free(b)
    expect(mm.stats().freeBlocks).toBe(2) // a and b merged at once
    expect(mm.malloc(50)).toBe(a) // first-fit: the lowest address, not the block freed last
  })
})

describe('loading', () => {
  it("calls the instance's own export functions: their arity is the wasm signature's, with no wrapper in between", async () => {
    const { moduleSync, instantiateOver, createMemory } = await import('../../host/load.js')
    const exports = instantiateOver(moduleSync(true), createMemory(65536, 65536, true))
    // The loader's demangled copies are `(...args) => ...` (length 0) and cost a third of a small
    // malloc called from JavaScript; a wasm export function's length is its parameter count.
    expect(exports.heap_malloc.length).toBe(2)
    expect(exports.heap_free.length).toBe(2)
    expect(exports.heap_realloc.length).toBe(3)
    expect(String(exports.heap_malloc)).toContain('native code')
  })
})
