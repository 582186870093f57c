// A seeded random-operation test against a JS model of the live blocks: 100,000 operations per
// policy, checking alignment, no overlap, contents through realloc, zeroed calloc, the statistics
// and validate() along the way. A failure names the seed and the operation number.
import { describe, it, expect } from 'vitest'
import { MemoryManager, type Policy } from '../../host/index.js'
import { seededRandom, randomInt, fillPattern, patternMismatch } from './helpers.js'

interface LiveBlock {
  size: number
  tag: number
}

function randomSize(random: () => number): number {
  const kind = random()
  if (kind < 0.7) return randomInt(random, 0, 128)
  if (kind < 0.95) return randomInt(random, 129, 2048)
  return randomInt(random, 2049, 32768)
}

function runModel(policy: Policy, seed: number, operations: number) {
  const random = seededRandom(seed)
  const mm = MemoryManager.createSync({ size: 256 * 1024, maxSize: 512 * 1024, policy, alignment: 8 })
  const live = new Map<number, LiveBlock>()
  const model = { totalAllocated: 0, totalFreed: 0, allocationCount: 0, freeCount: 0, failedAllocations: 0, peakUsage: 0, currentUsage: 0 }
  let nextTag = 1
  const where = (step: number) => `seed ${seed}, operation ${step}`

  const adopt = (ptr: number, size: number, alignment: number, step: number) => {
    expect(ptr % alignment, where(step)).toBe(0)
    expect(live.has(ptr), where(step)).toBe(false)
    expect(mm.usableSize(ptr)).toBeGreaterThanOrEqual(size)
    const tag = nextTag++
    fillPattern(mm.view(ptr, size), tag)
    live.set(ptr, { size, tag })
    model.totalAllocated += size
    model.allocationCount++
    model.currentUsage += size
    model.peakUsage = Math.max(model.peakUsage, model.currentUsage)
  }
  const release = (ptr: number, block: LiveBlock) => {
    live.delete(ptr)
    model.totalFreed += block.size
    model.freeCount++
    model.currentUsage -= block.size
  }
  const checkIntact = (ptr: number, block: LiveBlock, step: number) => {
    expect(patternMismatch(mm.view(ptr, block.size), block.tag), `${where(step)}: block ${ptr} was overwritten`).toBe(-1)
  }
  const pickLive = (): [number, LiveBlock] => {
    const index = Math.floor(random() * live.size)
    let i = 0
    for (const entry of live) if (i++ === index) return entry
    throw new Error('no live block')
  }

  for (let step = 0; step < operations; step++) {
    const op = random()
    const wantMore = live.size < 400
    if (live.size === 0 || (wantMore ? op < 0.55 : op < 0.4)) {
      const size = randomSize(random)
      const kind = random()
      if (kind < 0.8) {
        const ptr = mm.malloc(size)
        if (ptr === 0) model.failedAllocations++
        else adopt(ptr, size, 8, step)
      } else if (kind < 0.95) {
        const count = randomInt(random, 0, 16)
        const each = Math.ceil(size / Math.max(count, 1))
        const ptr = mm.calloc(count, each)
        if (ptr === 0) model.failedAllocations++
        else {
          expect(mm.view(ptr, count * each).every((byte) => byte === 0), `${where(step)}: calloc not zeroed`).toBe(true)
          adopt(ptr, count * each, 8, step)
        }
      } else {
        const alignment = 2 ** randomInt(random, 3, 12)
        const ptr = mm.alignedAlloc(alignment, size)
        if (ptr === 0) model.failedAllocations++
        else adopt(ptr, size, alignment, step)
      }
    } else if (op < 0.8) {
      const [ptr, block] = pickLive()
      checkIntact(ptr, block, step)
      mm.free(ptr)
      release(ptr, block)
    } else {
      const [ptr, block] = pickLive()
      checkIntact(ptr, block, step)
      const size = randomSize(random)
      const moved = mm.realloc(ptr, size)
      if (size === 0) {
        expect(moved).toBe(0)
        release(ptr, block)
      } else if (moved === 0) {
        model.failedAllocations++
        checkIntact(ptr, block, step) // unchanged and still valid
      } else {
        const kept = Math.min(block.size, size)
        expect(patternMismatch(mm.view(moved, kept), block.tag, kept), `${where(step)}: realloc lost contents`).toBe(-1)
        live.delete(ptr)
        model.totalFreed += block.size
        model.freeCount++
        model.currentUsage -= block.size
        adopt(moved, size, 8, step)
      }
    }

    if (step % 2000 === 1999 || step === operations - 1) {
      mm.validate()
      const stats = mm.stats()
      expect(stats, where(step)).toMatchObject({ ...model, liveBlocks: live.size })
      const sorted = [...live.entries()].sort((a, b) => a[0] - b[0])
      for (let i = 1; i < sorted.length; i++) {
        const [previous, info] = sorted[i - 1]
        expect(sorted[i][0], `${where(step)}: blocks overlap`).toBeGreaterThanOrEqual(previous + info.size)
      }
      for (const [ptr, block] of live) checkIntact(ptr, block, step)
    }
  }
  return { mm, live, model }
}

describe('random operations against a model', () => {
  for (const [policy, seed] of [['first-fit', 0xc0ffee], ['best-fit', 0xbeef]] as const) {
    it(`${policy}: 100,000 operations keep every invariant (seed ${seed})`, () => {
      const { mm, live, model } = runModel(policy, seed, 100_000)
      expect(model.allocationCount).toBeGreaterThan(30_000)
      expect(model.failedAllocations).toBeGreaterThan(0) // the pool does fill up at times
      for (const ptr of live.keys()) mm.free(ptr)
      const stats = mm.stats()
      expect(stats.liveBlocks).toBe(0)
      expect(stats.freeBlocks).toBe(1)
      mm.validate()
    })
  }
})
