// MemoryManager.clear(): every block freed at once, as an arena is reset.
import { describe, it, expect } from 'vitest'
import { MemoryManager, MemoryError, Protection } from '../../host/index.js'
import { seededRandom, randomInt, thrown } from './helpers.js'

function fill(mm: MemoryManager, count: number, seed = 1): number[] {
  const random = seededRandom(seed)
  const ptrs: number[] = []
  for (let i = 0; i < count; i++) ptrs.push(mm.malloc(randomInt(random, 0, 2000)))
  for (let i = 0; i < count; i += 4) mm.free(ptrs[i])
  return ptrs.filter((_, i) => i % 4 !== 0)
}

describe('MemoryManager.clear', () => {
  it('frees every live block: the statistics count each free, the pool is one free block of its grown size', () => {
    const mm = MemoryManager.createSync({ size: 64 * 1024, maxSize: 1024 * 1024 })
    const first = mm.malloc(64)
    const live = fill(mm, 400)
    const before = mm.stats()
    expect(before.poolSize).toBeGreaterThan(64 * 1024) // it grew
    mm.clear()
    const after = mm.stats()
    expect(after).toMatchObject({
      currentUsage: 0,
      liveBlocks: 0,
      freeBlocks: 1,
      heldBlocks: 0,
      poolSize: before.poolSize,
      largestFreeBlock: after.freeBytes,
      fragmentation: 0,
      totalFreed: before.totalAllocated,
      freeCount: before.allocationCount,
      peakUsage: before.peakUsage,
    })
    expect(before.liveBlocks).toBe(live.length + 1)
    expect(mm.validate().liveBlocks).toBe(0)
    expect(mm.blocks()).toEqual([{ ptr: first, size: after.freeBytes, free: true, protection: Protection.None }])
    // Every pointer from before is dangling, and refused as after a free: nothing changes.
    for (const ptr of live) expect(() => mm.free(ptr)).toThrow(MemoryError)
    expect(mm.stats()).toEqual(after)
    expect(mm.validate().blocks).toBe(1)
    expect(mm.malloc(64)).toBe(first) // first-fit starts again at the pool's start
  })

  it('is refused while a block lacks Write, naming it, and frees nothing; goes once the block is writable', () => {
    const mm = MemoryManager.createSync({ size: 64 * 1024 })
    const live = fill(mm, 40)
    const locked = live[7]
    mm.write(locked, [9, 8, 7])
    mm.protect(locked, 1, Protection.Read)
    const stats = mm.stats()
    const refused = thrown(() => mm.clear())
    expect(refused.code).toBe('PROTECTION')
    expect(refused.ptr).toBe(locked)
    expect(refused.message).toMatch(/clear/)
    expect(mm.stats()).toEqual(stats)
    expect(Array.from(mm.read(locked, 3))).toEqual([9, 8, 7])
    mm.protect(locked, 1, Protection.ReadWrite)
    mm.clear()
    expect(mm.stats().liveBlocks).toBe(0)
    expect(mm.validate().blocks).toBe(1)
  })

  it('in checks mode reports a damaged block first, and frees nothing', () => {
    const mm = MemoryManager.createSync({ size: 64 * 1024, checks: true, quarantine: 8192 })
    const live = fill(mm, 40)
    const victim = live[3]
    new Uint8Array(mm.memory.buffer)[victim + mm.usableSize(victim)] ^= 0xff // one byte into the red zone
    const liveBlocks = mm.stats().liveBlocks
    const refused = thrown(() => mm.clear())
    expect(refused.code).toBe('CORRUPTION')
    expect(refused.ptr).toBe(victim)
    expect(mm.stats().liveBlocks).toBe(liveBlocks)
  })

  it('in checks mode reports a write after free in a free block before it wipes it', () => {
    const mm = MemoryManager.createSync({ size: 64 * 1024, checks: true })
    const freed = mm.malloc(200)
    mm.malloc(8)
    mm.free(freed)
    new Uint8Array(mm.memory.buffer)[freed + 100] ^= 0xff // through a pointer kept after the free
    const refused = thrown(() => mm.clear())
    expect(refused.code).toBe('CORRUPTION')
    expect(refused.message).toMatch(/after the free/)
    expect(mm.stats().liveBlocks).toBe(1)
  })

  it('in checks mode empties the quarantine and leaves junk that later allocations find intact', () => {
    const mm = MemoryManager.createSync({ size: 64 * 1024, checks: true, quarantine: 16384 })
    fill(mm, 40)
    expect(mm.stats().heldBlocks).toBeGreaterThan(0)
    mm.clear()
    expect(mm.stats().heldBlocks).toBe(0)
    const again = fill(mm, 40, 2)
    for (const ptr of again) mm.free(ptr)
    expect(mm.validate().liveBlocks).toBe(0)
  })

  it('forgets the allocation sites of leak tracking, and works from an attached face', () => {
    const mm = MemoryManager.createSync({ size: 64 * 1024, trackAllocations: true })
    mm.malloc(32, 'before')
    const face = MemoryManager.attachSync(mm.handle, { trackAllocations: true })
    face.malloc(48, 'face')
    face.clear()
    expect(mm.leaks()).toEqual([])
    expect(face.leaks()).toEqual([])
    const ptr = mm.malloc(16, 'after')
    expect(mm.leaks()).toEqual([expect.objectContaining({ ptr, size: 16, tag: 'after' })])
  })

  it('throws DESTROYED once the heap is destroyed', () => {
    const mm = MemoryManager.createSync({ size: 64 * 1024 })
    mm.destroy()
    expect(thrown(() => mm.clear()).code).toBe('DESTROYED')
  })
})
