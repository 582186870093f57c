// Stray writes into an allocator's control block (the words before its pool), which the wasm
// module trusts: a call it makes trap is CORRUPTION, never a WebAssembly.RuntimeError, and the lock
// that call held is released, so that neither this thread nor another waits for it for ever
// (host/trap-guard.ts, instance_after_trap in assembly/index.ts).
import { describe, it, expect } from 'vitest'
import { MemoryManager, StackAllocator, MemoryError } from '../../host/index.js'
import { seededRandom, outcomeOfWorker } from './helpers.js'

const SENTINEL_WORD = 12 // heap + 12: the end-of-pool sentinel's address (assembly/control.ts)
const STACK_END_WORD = 12 // stack + 12: one past the pool's last byte (assembly/stack.ts)
const STACK_TOP_WORD = 16 // stack + 16: the first byte not in use

function corruption(call: () => unknown): MemoryError {
  try {
    call()
  } catch (caught) {
    expect(caught).toBeInstanceOf(MemoryError) // not a WebAssembly.RuntimeError
    expect((caught as MemoryError).code).toBe('CORRUPTION')
    return caught as MemoryError
  }
  throw new Error('expected CORRUPTION')
}

function words(memory: WebAssembly.Memory): Int32Array {
  return new Int32Array(memory.buffer)
}

/** The lock word: 0 when nobody holds it. Read before any call that would wait for it. */
function lockWord(memory: WebAssembly.Memory, base: number): number {
  return Atomics.load(words(memory), base >>> 2)
}

describe('a trap in the wasm module', () => {
  it("is CORRUPTION and releases a shared heap's lock", () => {
    const mm = MemoryManager.createSync({ size: 64 * 1024 })
    const { base } = mm.handle // (reading it turns the lock on)
    const kept = [mm.malloc(100), mm.malloc(200)]
    const saved = words(mm.memory)[(base + SENTINEL_WORD) >>> 2]
    words(mm.memory)[(base + SENTINEL_WORD) >>> 2] = 0x7fff_ff00 // far past the memory's end
    const error = corruption(() => mm.malloc(5000)) // growth reads past the memory: a trap
    expect(error.message).toMatch(/control block/)
    expect(lockWord(mm.memory, base)).toBe(0)
    corruption(() => mm.free(kept[0]))
    expect(lockWord(mm.memory, base)).toBe(0)
    // Put back, the heap works again: nothing was changed before the traps.
    words(mm.memory)[(base + SENTINEL_WORD) >>> 2] = saved
    expect(mm.validate().liveBlocks).toBe(2)
    mm.free(kept[0])
    expect(mm.malloc(5000)).not.toBe(0)
    mm.validate()
  })

  it('is CORRUPTION in a heap one thread alone uses (no lock taken)', () => {
    const mm = MemoryManager.createSync({ size: 64 * 1024 })
    const base = (mm as unknown as { base: number }).base // (its handle, read, would turn the lock on)
    const kept = [mm.malloc(100), mm.malloc(200)]
    const saved = words(mm.memory)[(base + SENTINEL_WORD) >>> 2]
    words(mm.memory)[(base + SENTINEL_WORD) >>> 2] = 0x7fff_ff00
    corruption(() => mm.malloc(5000))
    corruption(() => mm.free(kept[0]))
    words(mm.memory)[(base + SENTINEL_WORD) >>> 2] = saved
    expect(mm.validate().liveBlocks).toBe(2)
    expect(mm.realloc(kept[0], 6000)).not.toBe(0)
  })

  it("is CORRUPTION and releases a shared stack's lock", () => {
    const st = StackAllocator.createSync({ size: 16 * 1024 })
    const { base } = st.handle
    st.push(32)
    const saved = [STACK_END_WORD, STACK_TOP_WORD].map((word) => words(st.memory)[(base + word) >>> 2])
    words(st.memory)[(base + STACK_END_WORD) >>> 2] = 0xffff_fff0 // a pool that seems to go on and on
    words(st.memory)[(base + STACK_TOP_WORD) >>> 2] = 0x7fff_ff00 // and a top past the memory
    corruption(() => st.push(16)) // the new header is written past the memory: a trap
    expect(lockWord(st.memory, base)).toBe(0)
    words(st.memory)[(base + STACK_END_WORD) >>> 2] = saved[0]
    words(st.memory)[(base + STACK_TOP_WORD) >>> 2] = saved[1]
    expect(st.push(16)).not.toBe(0)
    expect(st.depth).toBe(2)
  })

  it('inside exclusive() is CORRUPTION, and exclusive() still releases the lock', () => {
    const st = StackAllocator.createSync({ size: 16 * 1024 })
    const { base } = st.handle
    words(st.memory)[(base + STACK_END_WORD) >>> 2] = 0xffff_fff0
    words(st.memory)[(base + STACK_TOP_WORD) >>> 2] = 0x7fff_ff00
    corruption(() => st.exclusive(() => st.push(16)))
    expect(lockWord(st.memory, base)).toBe(0)
  })

  it('random words written over 100 heaps\' control blocks: every call works or throws a MemoryError, and leaves the lock free', () => {
    const random = seededRandom(0xc0de)
    const below = (n: number) => Math.floor(random() * n)
    let corruptions = 0
    for (let round = 0; round < 100; round++) {
      const mm = MemoryManager.createSync({ size: 64 * 1024, maxSize: 256 * 1024 })
      const { base } = mm.handle
      const live: number[] = []
      for (let step = 0; step < 200; step++) {
        if (step === 100) {
          // One of the heap's own words (8..60: not the lock, nor the state, which destroy() owns).
          const word = 8 + 4 * below(14)
          const value = [below(2 ** 31), 0x7fff_ff00, base + below(4096), 0xffff_fff0][below(4)]
          words(mm.memory)[(base + word) >>> 2] = value
        }
        try {
          const r = random()
          if (r < 0.45) live.push(mm.malloc(below(6000)))
          else if (r < 0.8 && live.length > 0) mm.free(live.splice(below(live.length), 1)[0])
          else if (r < 0.9 && live.length > 0) live[0] = mm.realloc(live[0], below(3000))
          else if (r < 0.95) mm.stats()
          else mm.validate()
        } catch (error) {
          if (!(error instanceof MemoryError)) throw error
          if (error.code === 'CORRUPTION') corruptions++
        }
        expect(lockWord(mm.memory, base)).toBe(0)
      }
    }
    expect(corruptions).toBeGreaterThan(0) // the writes were met
  })

  it('a lock word that is none of its states: every call is CORRUPTION at once, none waits for it', async () => {
    // 1 and 2 were the taken states until they became 0x10cced01/02 (assembly/lock.ts): a stray 1 or
    // 2 then hung every call. The rest: -1, another small integer, a pointer, the taken states' neighbours.
    const values = [1, 2, 3, -1, 7, 65_536, 0x1234_5678, 0x10cc_ed00, 0x10cc_ed03]
    const outcome = await outcomeOfWorker<{ codes?: Record<string, string[]>; word?: number; after?: { again: boolean; live: number } }>(
      new URL('./workers/lock-garbage.worker.mjs', import.meta.url), 'a call waited for a lock word nobody holds', { values })
    expect(outcome.error).toBeUndefined()
    for (const value of values) expect(outcome.codes?.[value], `lock word ${value}`).toEqual(Array(5).fill('CORRUPTION'))
    expect(outcome.word).toBe(0x10cc_ed03) // left as found: the next call is refused the same way
    expect(outcome.after).toEqual({ again: true, live: 0 }) // the word put back, the heap works and lost nothing
  }, 20_000)
})
