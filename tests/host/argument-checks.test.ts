// Each argument check of the host, by the error it must raise: the checks the random calls of
// garbage-input.test.ts pass through without telling which one answered.
import { describe, it, expect } from 'vitest'
import { MemoryManager, StackAllocator, MemoryError } from '../../host/index.js'
import { outcomeOfWorker } from './helpers.js'

function codeOf(call: () => unknown): string | undefined {
  try {
    call()
  } catch (error) {
    if (error instanceof MemoryError) return error.code
    throw error
  }
  return undefined
}

describe('argument checks', () => {
  it('a pointer past 32 bits is INVALID_POINTER, not the block it would alias once wrapped', () => {
    const mm = MemoryManager.createSync({ size: 64 * 1024 })
    const ptr = mm.malloc(64)
    expect(codeOf(() => mm.usableSize(ptr + 2 ** 32))).toBe('INVALID_POINTER')
    expect(codeOf(() => mm.free(ptr + 2 ** 32))).toBe('INVALID_POINTER')
    expect(codeOf(() => mm.realloc(ptr + 2 ** 32, 8))).toBe('INVALID_POINTER')
    expect(codeOf(() => mm.free(ptr + 0.5))).toBe('INVALID_POINTER')
    expect(mm.usableSize(ptr)).toBe(64) // still live
  })

  it('options that are not an object, a shared that is not a boolean, boolean options that are not booleans: TypeError', () => {
    expect(() => MemoryManager.createSync(5 as never)).toThrow(TypeError)
    expect(() => MemoryManager.createSync(null as never)).toThrow(TypeError)
    expect(() => StackAllocator.createSync('big' as never)).toThrow(TypeError)
    expect(() => MemoryManager.createSync({ size: 4096, shared: 'yes' as never })).toThrow(TypeError)
    expect(() => MemoryManager.createSync({ size: 4096, checks: 1 as never })).toThrow(TypeError)
    expect(() => MemoryManager.createSync({ size: 4096, smallBlockCaches: 'no' as never })).toThrow(TypeError)
  })

  it('an option the constructor does not have: TypeError naming the ones it has (a misspelt size was ignored)', async () => {
    expect(() => MemoryManager.createSync({ sise: 4096 } as never)).toThrow(/unknown option 'sise' for MemoryManager: its options are size, maxSize/)
    await expect(MemoryManager.create({ size: 4096, polcy: 'best-fit' } as never)).rejects.toThrow(/unknown option 'polcy'/)
    expect(() => StackAllocator.createSync({ size: 4096, maxSize: 8192 } as never)).toThrow(/unknown option 'maxSize' for StackAllocator \(a stack does not grow/)
    const mm = MemoryManager.createSync({ size: 4096, maxSize: undefined, checks: undefined }) // undefined values pass
    expect(() => MemoryManager.attachSync(mm.handle, { trackAlocations: true } as never)).toThrow(/unknown option 'trackAlocations'/)
    expect(MemoryManager.attachSync(mm.handle, { trackAllocations: true }).malloc(8)).not.toBe(0)
  })

  it('a pool below 64 bytes or reaching past the wasm32 address space: RangeError', () => {
    expect(() => MemoryManager.createSync({ size: 32 })).toThrow(RangeError)
    expect(() => StackAllocator.createSync({ size: 32 })).toThrow(RangeError)
    expect(() => MemoryManager.createSync({ size: 4096, maxSize: 2 ** 32 - 65536 })).toThrow(/below 4 GiB - 128 KiB/)
    expect(() => StackAllocator.createSync({ size: 2 ** 32 - 65536 })).toThrow(/below 4 GiB - 128 KiB/)
  })

  it('writeString of something that is not a string: TypeError, the block untouched', () => {
    const mm = MemoryManager.createSync({ size: 4096 })
    const ptr = mm.malloc(16)
    mm.write(ptr, [7, 7])
    expect(() => mm.writeString(ptr, 42 as never)).toThrow(TypeError)
    expect([...mm.read(ptr, 2)]).toEqual([7, 7])
  })

  it('destroy and resetStats inside exclusive(), which holds the lock: refused, nothing changed', () => {
    const st = StackAllocator.createSync({ size: 4096 })
    st.push(8)
    expect(() => st.exclusive(() => st.destroy())).toThrow(/inside exclusive/)
    expect(() => st.exclusive(() => st.resetStats())).toThrow(/inside exclusive/)
    expect(st.stats().allocationCount).toBe(1)
    expect(st.pop()).toBeUndefined()
  })

  it('exclusive() of something that is not a synchronous function: TypeError, nothing run, the lock free', () => {
    const st = StackAllocator.createSync({ size: 4096 })
    expect(() => st.exclusive(5 as never)).toThrow(/exclusive takes a function, got number/)
    let ran = false
    const steps = async () => { ran = true; st.push(8); await null; st.push(8) }
    expect(() => st.exclusive(steps as never)).toThrow(/synchronous function: the lock cannot be held across an await/)
    expect(ran).toBe(false)
    expect(st.depth).toBe(0)
    expect(st.exclusive(() => st.push(8))).not.toBe(0) // the lock was not left taken
  })

  it('a tag that is not a string: TypeError before anything is allocated, with tracking on or off', () => {
    for (const trackAllocations of [false, true]) {
      const mm = MemoryManager.createSync({ size: 4096, trackAllocations })
      const ptr = mm.malloc(16, 'kept')
      const usable = mm.usableSize(ptr)
      expect(() => mm.malloc(16, {} as never)).toThrow(/tag must be a string, got object/)
      expect(() => mm.calloc(2, 8, 42 as never)).toThrow(TypeError)
      expect(() => mm.alignedAlloc(64, 8, null as never)).toThrow(TypeError)
      expect(() => mm.realloc(ptr, 4000, [] as never)).toThrow(TypeError)
      expect(() => mm.mallocAs('f64', 2, {} as never)).toThrow(TypeError)
      const stats = mm.stats()
      expect([stats.allocationCount, stats.failedAllocations, stats.liveBlocks]).toEqual([1, 0, 1])
      expect(mm.usableSize(ptr)).toBe(usable) // realloc did not resize it
      if (trackAllocations) expect(mm.leaks().map((leak) => leak.tag)).toEqual(['kept'])
    }
  })

  it('a call that would wait for the lock its own thread holds (inside exclusive()) throws instead of hanging', async () => {
    // In a worker: without the guard the wait never ends, and the timeout fails the test instead of
    // hanging the suite (the worker is terminated).
    const outcome = await outcomeOfWorker<{ thrown?: string; depthAfter?: number; pushedAfter?: number }>(
      new URL('./workers/self-deadlock.worker.mjs', import.meta.url), 'the call waited for its own lock')
    expect(outcome.error).toBeUndefined()
    expect(outcome.thrown).toMatch(/deadlock refused/)
    expect(outcome.depthAfter).toBe(0) // nothing pushed
    expect(outcome.pushedAfter).toBeGreaterThan(0) // and the lock was given back: that call took it again
  }, 20_000)

  it("a handle of the other kind: TypeError (a heap's face over a stack's control block, or the reverse)", () => {
    const mm = MemoryManager.createSync({ size: 4096, shared: true })
    const st = StackAllocator.createSync({ size: 4096, shared: true })
    expect(() => MemoryManager.attachSync(st.handle)).toThrow(TypeError)
    expect(() => StackAllocator.attachSync(mm.handle)).toThrow(TypeError)
  })

  it('a protection that is not a number, a marker that is not a number or no marker, an unknown element type', () => {
    const mm = MemoryManager.createSync({ size: 4096 })
    const ptr = mm.malloc(16)
    expect(() => mm.protect(ptr, 16, 'r' as never)).toThrow(TypeError)
    expect(mm.protection(ptr)).toBe(3) // Read | Write, as it was
    const st = StackAllocator.createSync({ size: 4096 })
    st.push(8)
    expect(() => st.reset('top' as never)).toThrow(TypeError)
    expect(codeOf(() => st.reset(-8))).toBe('STACK_ORDER')
    expect(codeOf(() => st.reset(st.mark() - 0.5))).toBe('STACK_ORDER')
    expect(st.depth).toBe(1)
    expect(() => mm.mallocAs('f65' as never, 4)).toThrow(/type must be one of/)
  })
})

