import { describe, it, expect } from 'vitest'
import { StackAllocator, MemoryError } from '../../host/index.js'
import { seededRandom, randomInt, fillPattern, patternMismatch } from './helpers.js'

describe('StackAllocator', () => {
  it('create and createSync take size, alignment and shared', async () => {
    const st = await StackAllocator.create({ size: 8192 })
    expect(st.capacity).toBe(8192)
    expect(st.shared).toBe(true)
    const unshared = StackAllocator.createSync({ size: 4096, alignment: 32, shared: false })
    expect(unshared.shared).toBe(false)
    expect(unshared.push(3) % 32).toBe(0)
    expect(() => StackAllocator.createSync({ size: -1 })).toThrow(RangeError)
    expect(() => StackAllocator.createSync({ size: 4096, alignment: 3 })).toThrow(RangeError)
  })

  it('push returns the new top block, aligned, above the previous one', () => {
    const st = StackAllocator.createSync({ size: 8192 })
    const a = st.push(10)
    const b = st.push(100, 256)
    expect(a % 8).toBe(0)
    expect(b % 256).toBe(0)
    expect(b).toBeGreaterThanOrEqual(a + 10)
    expect(st.depth).toBe(2)
    expect(() => st.push(8, 12)).toThrow(RangeError)
    expect(() => st.push(-1)).toThrow(RangeError)
  })

  it('push returns 0 and counts a failure when the pool is full', () => {
    const st = StackAllocator.createSync({ size: 1024 })
    expect(st.push(2048)).toBe(0)
    expect(st.push(2 ** 40)).toBe(0)
    expect(st.stats().failedAllocations).toBe(2)
    expect(st.depth).toBe(0)
  })

  it('pop frees the most recent block; pop(ptr) must name it', () => {
    const st = StackAllocator.createSync({ size: 4096 })
    const a = st.push(16)
    const b = st.push(16)
    expect(() => st.pop(a)).toThrow(expect.objectContaining({ code: 'STACK_ORDER', ptr: a }))
    expect(() => st.pop(0)).toThrow(expect.objectContaining({ code: 'STACK_ORDER' }))
    expect(st.depth).toBe(2)
    st.pop(b)
    st.pop()
    expect(st.depth).toBe(0)
    expect(st.used).toBe(0)
    expect(() => st.pop()).toThrow(expect.objectContaining({ code: 'STACK_EMPTY' }))
    expect(() => st.pop()).toThrow(MemoryError)
  })

  it('pops unwind alignment padding exactly', () => {
    const st = StackAllocator.createSync({ size: 65536 })
    st.push(24)
    const used = st.used
    const big = st.push(8, 4096)
    expect(big % 4096).toBe(0)
    st.pop(big)
    expect(st.used).toBe(used)
  })

  it('mark and reset free everything pushed after the marker', () => {
    const st = StackAllocator.createSync({ size: 4096 })
    st.push(40)
    const marker = st.mark()
    const usedAtMark = st.used
    st.push(100)
    st.push(200, 64)
    st.reset(marker)
    expect(st.used).toBe(usedAtMark)
    expect(st.depth).toBe(1)
    expect(st.stats()).toMatchObject({ freeCount: 2, currentUsage: 40 })
    expect(() => st.reset(marker + 64)).toThrow(expect.objectContaining({ code: 'STACK_ORDER' }))
    expect(() => st.reset(1.5)).toThrow(expect.objectContaining({ code: 'STACK_ORDER' }))
    expect(st.depth).toBe(1)
  })

  it('reset refuses a number that is not a top the stack had (inside a block, below the pool) and frees nothing', () => {
    // Before, a marker inside the lower block freed the one above it and a marker inside the upper
    // block did nothing; both answered as if it were a marker.
    const st = StackAllocator.createSync({ size: 4096 })
    const bottom = st.mark()
    const a = st.push(100)
    const between = st.mark()
    st.push(50, 64) // alignment padding before its header: tops are not where blocks start
    const stats = st.stats()
    for (const marker of [between - 8, between + 8, between + 24, a, bottom - 8]) {
      expect(() => st.reset(marker), `reset(${marker})`).toThrow(expect.objectContaining({ code: 'STACK_ORDER', message: expect.stringMatching(/not a marker/) }))
      expect(st.depth).toBe(2)
      expect(st.stats()).toEqual(stats)
    }
    st.reset(between) // the real ones still work
    expect(st.depth).toBe(1)
    st.reset(bottom)
    expect(st.depth).toBe(0)
  })

  it('clear frees everything', () => {
    const st = StackAllocator.createSync({ size: 4096 })
    st.push(1)
    st.push(2)
    st.push(3)
    st.clear()
    expect(st.depth).toBe(0)
    expect(st.used).toBe(0)
    expect(st.stats()).toMatchObject({ freeCount: 3, totalFreed: 6, currentUsage: 0, liveBlocks: 0 })
  })

  it('used, capacity and depth describe the pool', () => {
    const st = StackAllocator.createSync({ size: 4096 })
    st.push(8)
    expect(st.capacity).toBe(4096)
    expect(st.used).toBe(24) // 16-byte header + 8 bytes
    expect(st.depth).toBe(1)
  })

  it('statistics as for the heap, fragmentation 0', () => {
    const st = StackAllocator.createSync({ size: 4096 })
    st.push(100)
    st.push(50)
    st.pop()
    const stats = st.stats()
    expect(stats).toMatchObject({
      totalAllocated: 150, totalFreed: 50, currentUsage: 100, peakUsage: 150, allocationCount: 2,
      freeCount: 1, failedAllocations: 0, fragmentation: 0, poolSize: 4096, liveBlocks: 1,
    })
    expect(stats.freeBytes).toBe(4096 - st.used)
    expect(st.formatStats()).toContain('Stack allocator statistics')
    st.resetStats()
    expect(st.stats()).toMatchObject({ totalAllocated: 0, allocationCount: 0, peakUsage: 100, currentUsage: 100 })
  })

  it('checked accessors are bounds-checked against the block', () => {
    const st = StackAllocator.createSync({ size: 4096 })
    const a = st.push(12)
    st.write(a, [1, 2, 3], 9)
    expect([...st.read(a, 3, 9)]).toEqual([1, 2, 3])
    expect(() => st.write(a, [1], 12)).toThrow(expect.objectContaining({ code: 'OUT_OF_BOUNDS' }))
    expect(() => st.read(a, 13)).toThrow(expect.objectContaining({ code: 'OUT_OF_BOUNDS' }))
    st.writeString(a, 'eleven char')
    expect(st.readString(a)).toBe('eleven char')
    expect(() => st.writeString(a, 'twelve chars')).toThrow(expect.objectContaining({ code: 'OUT_OF_BOUNDS' }))
    expect(st.view(a).length).toBe(12)
    expect(() => st.read(a + 8, 1)).toThrow(expect.objectContaining({ code: 'INVALID_POINTER' }))
    const b = st.push(6)
    st.copy(b, a, 6, 0, 3) // copy and fill: as for the heap, against the block's requested size
    expect(new TextDecoder().decode(st.read(b, 6))).toBe('ven ch')
    expect(() => st.copy(b, a, 7)).toThrow(expect.objectContaining({ code: 'OUT_OF_BOUNDS', ptr: b }))
    st.fill(b, 0x2a)
    expect([...st.read(b, 6)]).toEqual([42, 42, 42, 42, 42, 42])
    expect(() => st.fill(b, 0, 2, 5)).toThrow(expect.objectContaining({ code: 'OUT_OF_BOUNDS' }))
    st.pop()
    st.pop()
    expect(() => st.read(a, 1)).toThrow(expect.objectContaining({ code: 'INVALID_POINTER' }))
  })

  it('destroy makes later calls throw DESTROYED', () => {
    const st = StackAllocator.createSync({ size: 4096 })
    st.push(8)
    st.destroy()
    for (const call of [() => st.push(1), () => st.pop(), () => st.mark(), () => st.clear(), () => st.stats(), () => st.used, () => st.reset(0)]) {
      expect(call).toThrow(expect.objectContaining({ code: 'DESTROYED' }))
    }
  })

  it('random push/pop/mark/reset sequences match a model', () => {
    const random = seededRandom(0x5eed)
    const st = StackAllocator.createSync({ size: 64 * 1024 })
    const model: { ptr: number; size: number; tag: number }[] = []
    const marks: { marker: number; depth: number }[] = []
    let failures = 0
    for (let step = 0; step < 20_000; step++) {
      const op = random()
      if (op < 0.5) {
        const size = randomInt(random, 0, 600)
        const alignment = random() < 0.2 ? 2 ** randomInt(random, 3, 10) : undefined
        const ptr = st.push(size, alignment)
        if (ptr === 0) {
          failures++
          continue
        }
        if (alignment) expect(ptr % alignment).toBe(0)
        if (model.length) expect(ptr).toBeGreaterThanOrEqual(model[model.length - 1].ptr + model[model.length - 1].size)
        fillPattern(st.view(ptr), step)
        model.push({ ptr, size, tag: step })
      } else if (op < 0.85) {
        if (model.length === 0) {
          expect(() => st.pop()).toThrow(expect.objectContaining({ code: 'STACK_EMPTY' }))
          continue
        }
        const top = model.pop()!
        expect(patternMismatch(st.view(top.ptr), top.tag), `step ${step}`).toBe(-1)
        st.pop(random() < 0.5 ? top.ptr : undefined)
        while (marks.length && marks[marks.length - 1].depth > model.length) marks.pop()
      } else if (op < 0.93) {
        marks.push({ marker: st.mark(), depth: model.length })
      } else if (marks.length) {
        const { marker, depth } = marks.pop()!
        st.reset(marker)
        model.length = depth
      }
      expect(st.depth).toBe(model.length)
    }
    expect(failures).toBeGreaterThan(0)
    const stats = st.stats()
    expect(stats.liveBlocks).toBe(model.length)
    expect(stats.currentUsage).toBe(model.reduce((sum, block) => sum + block.size, 0))
    expect(stats.currentUsage).toBe(stats.totalAllocated - stats.totalFreed)
    for (const block of model) expect(patternMismatch(st.view(block.ptr), block.tag)).toBe(-1)
  })
})

describe('StackAllocator: damage', () => {
  it('a header overwritten by a stray write is CORRUPTION on pop and reset, never a trap, and changes nothing', () => {
    const st = StackAllocator.createSync({ size: 4096 })
    const marker = st.mark()
    st.push(16)
    const b = st.push(16)
    const words = new Uint32Array(st.memory.buffer)
    const saved = words.slice((b - 16) >> 2, b >> 2)
    words[(b - 16) >> 2] = 0xffff_fff0 // b's "previous top"
    expect(() => st.pop()).toThrow(expect.objectContaining({ code: 'CORRUPTION' }))
    expect(() => st.reset(marker)).toThrow(expect.objectContaining({ code: 'CORRUPTION' }))
    expect(st.depth).toBe(2)
    words.set(saved, (b - 16) >> 2) // repaired: it pops again
    st.reset(marker)
    expect(st.depth).toBe(0)
  })

  it('a reset that would pass a damaged header under the top is CORRUPTION before it pops anything', () => {
    // Before, the blocks above the damaged one were popped first, and then the reset failed.
    const st = StackAllocator.createSync({ size: 4096 })
    const marker = st.mark()
    const a = st.push(16)
    st.push(16)
    st.push(16)
    const words = new Uint32Array(st.memory.buffer)
    const saved = words[(a - 4) >> 2]
    words[(a - 4) >> 2] ^= 0x10 // a's tag: a stray write into the lowest block's header
    const stats = st.stats()
    expect(() => st.reset(marker)).toThrow(expect.objectContaining({ code: 'CORRUPTION' }))
    expect(st.depth).toBe(3)
    expect(st.stats()).toEqual(stats)
    words[(a - 4) >> 2] = saved
    st.reset(marker)
    expect(st.depth).toBe(0)
  })
})
