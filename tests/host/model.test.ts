// The model test: seeded streams of every public heap operation against a JS model of the live
// blocks (fuzz/engine.ts): at least 100,000 operations for each policy, and a short run of every
// fuzzer configuration (checks on and off, growth on and off), of two with a larger default
// alignment over unshared memory, of two with checks mode's quarantine, and of two in a region of a
// memory passed in (the bytes outside it checked).
import { describe, it, expect } from 'vitest'
import { ALL_CONFIGS, configName, runStream, shortestFailingPrefix, type FuzzConfig } from '../../fuzz/engine.js'
import type { MemoryManager } from '../../host/index.js'

function expectClean(config: FuzzConfig, seed: number, operations: number, validateEvery: number) {
  const result = runStream(config, seed, operations, validateEvery)
  const where = result.ok ? '' : `${configName(config)} seed ${seed} failed at operation ${result.failedAt} (shortest prefix ${shortestFailingPrefix(config, seed, result.failedAt ?? 0)}): ${result.message}`
  expect(result.ok, where).toBe(true)
  return result
}

describe('random operations against a model', () => {
  for (const policy of ['first-fit', 'best-fit'] as const) {
    it(`${policy}: 100,000 operations keep every invariant`, () => {
      const result = expectClean({ policy, checks: false, growth: true }, policy === 'first-fit' ? 0xc0ffee : 0xbeef, 100_000, 2_000)
      expect(result.counts.malloc).toBeGreaterThan(10_000)
      expect(result.counts.free).toBeGreaterThan(10_000)
      expect(result.counts.realloc).toBeGreaterThan(5_000)
      expect(result.counts.protect).toBeGreaterThan(5_000)
    })
  }

  for (const config of ALL_CONFIGS) {
    it(`fuzz, short run: ${configName(config)}`, () => {
      expectClean(config, 42, config.checks ? 6_000 : 15_000, 500)
    })
  }

  const variants: FuzzConfig[] = [
    { policy: 'first-fit', checks: false, growth: true, alignment: 64, unshared: true },
    { policy: 'best-fit', checks: true, growth: true, alignment: 4096, unshared: true },
    { policy: 'first-fit', checks: true, growth: true, quarantine: 16_384 },
    { policy: 'best-fit', checks: true, growth: false, quarantine: 1 << 20 },
    { policy: 'first-fit', checks: false, growth: true, region: 70_001 },
    { policy: 'best-fit', checks: true, growth: true, alignment: 64, unshared: true, region: 1000 },
  ]
  for (const config of variants) {
    it(`fuzz, short run: ${configName(config)}`, () => {
      expectClean(config, 42, 6_000, 500)
    })
  }

  it('the model has teeth: a lost free, an overlapping block and a wrong statistic are each caught', () => {
    const config: FuzzConfig = { policy: 'first-fit', checks: false, growth: false }
    expect(runStream(config, 5, 3_000, 100).ok).toBe(true)
    const sabotaged = [
      (mm: MemoryManager) => {
        const free = mm.free.bind(mm)
        let calls = 0
        mm.free = (ptr) => (++calls % 50 === 0 ? undefined : free(ptr)) // every 50th free is lost
      },
      (mm: MemoryManager) => {
        const malloc = mm.malloc.bind(mm)
        let last = 0
        mm.malloc = (size) => {
          const ptr = malloc(size)
          const overlapping = last !== 0 && size > 0 && size < 8 ? last : ptr // hands a live block out again
          last = ptr
          return overlapping
        }
      },
      (mm: MemoryManager) => {
        const stats = mm.stats.bind(mm)
        mm.stats = () => ({ ...stats(), peakUsage: stats().peakUsage + 1 })
      },
    ]
    for (const sabotage of sabotaged) expect(runStream(config, 5, 3_000, 100, sabotage).ok).toBe(false)
  })
})
