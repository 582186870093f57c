// Many threads, one pool: node:worker_threads attach to the same shared memory and allocate at once.
// Plain process flags only: this is what a user's `node app.js` gets.
import { describe, it, expect, vi } from 'vitest'
import { Worker } from 'node:worker_threads'
import { MemoryManager, StackAllocator, type AllocatorHandle } from '../../dist/index.js'

interface Totals {
  allocations: number
  frees: number
  bytesAllocated: number
  bytesFreed: number
  failures: number
  corrupted: number
}
interface Outcome {
  ok: boolean
  error?: string
  totals: Totals
}

function runWorker(file: string, workerData: Record<string, unknown>, timeoutMs: number): Promise<Outcome> {
  return new Promise((resolve) => {
    const worker = new Worker(new URL(`./workers/${file}`, import.meta.url), { workerData })
    const timer = setTimeout(() => {
      void worker.terminate()
      resolve({ ok: false, error: 'timed out (hung)', totals: {} as Totals })
    }, timeoutMs)
    worker.once('message', (outcome: Outcome) => {
      clearTimeout(timer)
      void worker.terminate()
      resolve(outcome)
    })
    worker.once('error', (error) => {
      clearTimeout(timer)
      resolve({ ok: false, error: String(error), totals: {} as Totals })
    })
  })
}

function heapWorkers(handle: AllocatorHandle, options: { workers: number; operations: number; unlocked: boolean; maxLive: number; timeoutMs: number; burstEvery?: number }) {
  return Promise.all(
    Array.from({ length: options.workers }, (_, worker) =>
      runWorker('heap-stress.worker.mjs', { handle, seed: 1000 + worker * 7919, operations: options.operations, worker, unlocked: options.unlocked, maxLive: options.maxLive, burstEvery: options.burstEvery }, options.timeoutMs),
    ),
  )
}

const sum = (outcomes: Outcome[], key: keyof Totals) => outcomes.reduce((total, outcome) => total + (outcome.totals[key] ?? 0), 0)

describe('one heap, four worker threads', () => {
  it('4 workers x 50,000 random operations: no corruption, nothing lost, statistics add up', async () => {
    await stressAndAudit({ maxLive: 200 })
  })

  it('4 workers that now and then free all their blocks at once, in no order: bursts of pending blocks, the caches paused, nothing lost', async () => {
    await stressAndAudit({ maxLive: 1000, burstEvery: 4000 })
  })

  async function stressAndAudit(options: { maxLive: number; burstEvery?: number }) {
    const mm = MemoryManager.createSync({ size: 4 * 1024 * 1024 })
    const outcomes = await heapWorkers(mm.handle, { workers: 4, operations: 50_000, unlocked: false, timeoutMs: 100_000, ...options })
    for (const outcome of outcomes) {
      expect(outcome.error).toBeUndefined()
      expect(outcome.ok).toBe(true)
      expect(outcome.totals.corrupted).toBe(0)
    }
    mm.validate()
    let stats = mm.stats()
    expect(stats.liveBlocks).toBe(0)
    expect(stats.freeBytes + 8 * stats.freeBlocks).toBe(stats.poolSize - 8) // every byte accounted for
    mm.trim()
    expect(mm.stats().freeBlocks).toBe(1) // every block came back and coalesced: none lost
    stats = mm.stats()
    expect(stats.allocationCount).toBe(sum(outcomes, 'allocations'))
    expect(stats.freeCount).toBe(sum(outcomes, 'frees'))
    expect(stats.totalAllocated).toBe(sum(outcomes, 'bytesAllocated'))
    expect(stats.totalFreed).toBe(sum(outcomes, 'bytesFreed'))
    expect(stats.failedAllocations).toBe(sum(outcomes, 'failures'))
    expect(stats.allocationCount).toBeGreaterThan(4 * 15_000)
  }

  it('control: the same workload with the lock bypassed is detected as broken', async () => {
    const mm = MemoryManager.createSync({ size: 4 * 1024 * 1024 })
    const outcomes = await heapWorkers(mm.handle, { workers: 4, operations: 50_000, unlocked: true, maxLive: 200, timeoutMs: 30_000 })
    const symptoms: string[] = []
    for (const outcome of outcomes) {
      if (!outcome.ok) symptoms.push(`worker failed: ${outcome.error}`)
      else if (outcome.totals.corrupted > 0) symptoms.push(`${outcome.totals.corrupted} corrupted blocks`)
    }
    try {
      mm.validate()
      const stats = mm.stats()
      if (stats.allocationCount !== sum(outcomes, 'allocations')) symptoms.push('allocation count does not add up')
      mm.trim()
      if (mm.stats().liveBlocks !== 0 || mm.stats().freeBlocks !== 1) symptoms.push('blocks lost')
    } catch (error) {
      symptoms.push(`validate: ${error}`)
    }
    expect(symptoms.length, 'an unlocked run should have broken the heap').toBeGreaterThan(0)
  })

  it('the pool grows while other workers allocate, and every thread sees the new memory', async () => {
    const mm = MemoryManager.createSync({ size: 64 * 1024, maxSize: 64 * 1024 * 1024 })
    const outcomes = await heapWorkers(mm.handle, { workers: 4, operations: 20_000, unlocked: false, maxLive: 600, timeoutMs: 100_000 })
    for (const outcome of outcomes) {
      expect(outcome.error).toBeUndefined()
      expect(outcome.totals.corrupted).toBe(0)
    }
    const stats = mm.stats()
    expect(stats.poolSize).toBeGreaterThan(1024 * 1024) // it grew, many times over
    expect(stats.liveBlocks).toBe(0)
    expect(stats.allocationCount).toBe(sum(outcomes, 'allocations'))
    mm.validate()
    expect(mm.memory.buffer.byteLength).toBeGreaterThanOrEqual(stats.poolSize)
  })

  it('a heap in a region of a memory of yours: 3 workers grow it together, and it keeps to its region', async () => {
    const memory = new WebAssembly.Memory({ initial: 2, maximum: 512, shared: true })
    const outside = new Uint8Array(memory.buffer, 0, 100_000)
    outside.fill(0x5a) // the bytes below the region: another module's, say
    const mm = MemoryManager.createSync({ memory, offset: 100_000, size: 32 * 1024, maxSize: 16 * 1024 * 1024 })
    const outcomes = await heapWorkers(mm.handle, { workers: 3, operations: 20_000, unlocked: false, maxLive: 300, timeoutMs: 100_000 })
    for (const outcome of outcomes) {
      expect(outcome.error).toBeUndefined()
      expect(outcome.totals.corrupted).toBe(0)
    }
    mm.validate()
    const stats = mm.stats()
    expect(stats.poolSize).toBeGreaterThan(64 * 1024) // it grew
    expect(stats.allocationCount).toBe(sum(outcomes, 'allocations'))
    expect(100_000 + stats.poolSize).toBeLessThanOrEqual(100_000 + 16 * 1024 * 1024)
    expect(outside.every((byte) => byte === 0x5a)).toBe(true)
  })

  it('a heap per worker, each in its region of one shared memory: pointers mean the same bytes in every thread, and each heap frees only its own', async () => {
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 3 * 64, shared: true })
    const regionBytes = 4 << 20
    const outcomes = await Promise.all(Array.from({ length: 3 }, (_, worker) =>
      runWorker('heap-stress.worker.mjs', { region: { memory, offset: worker * regionBytes, size: regionBytes }, seed: 500 + worker, operations: 20_000, worker, unlocked: false, maxLive: 200 }, 100_000),
    )) as Array<Outcome & { kept: Array<{ ptr: number; size: number; byte0: number; byteLast: number }>; handle: AllocatorHandle }>
    const bytes = new Uint8Array(memory.buffer)
    const heaps = outcomes.map((outcome) => {
      expect(outcome.error).toBeUndefined()
      expect(outcome.totals.corrupted).toBe(0)
      return MemoryManager.attachSync(outcome.handle)
    })
    for (const [worker, outcome] of outcomes.entries()) {
      const heap = heaps[worker]
      expect(outcome.kept.length).toBeGreaterThan(0)
      for (const { ptr, size, byte0, byteLast } of outcome.kept) {
        expect(ptr >= worker * regionBytes && ptr + size <= (worker + 1) * regionBytes).toBe(true)
        if (size > 0) expect([bytes[ptr], bytes[ptr + size - 1]]).toEqual([byte0, byteLast]) // written there, read here
        const other = heaps[(worker + 1) % 3]
        expect(() => other.free(ptr)).toThrow(expect.objectContaining({ code: 'INVALID_POINTER' })) // not its block
        heap.free(ptr) // its own heap, attached here, frees it
      }
      heap.validate()
      expect(heap.stats()).toMatchObject({ liveBlocks: 0, allocationCount: outcome.totals.allocations })
    }
  })

  it('attach gives a second face over the same pool and the same statistics', async () => {
    const mm = MemoryManager.createSync({ size: 64 * 1024 })
    const other = await MemoryManager.attach(mm.handle)
    const ptr = other.malloc(100)
    other.writeString(ptr, 'from the other face')
    expect(mm.readString(ptr)).toBe('from the other face')
    expect(mm.stats()).toEqual(other.stats())
    mm.free(ptr)
    expect(other.stats().liveBlocks).toBe(0)
    mm.destroy()
    expect(() => other.malloc(1)).toThrow(expect.objectContaining({ code: 'DESTROYED' }))
  })

  it('an unshared heap explains why it cannot be attached', async () => {
    const mm = MemoryManager.createSync({ size: 64 * 1024, shared: false })
    await expect(MemoryManager.attach(mm.handle)).rejects.toThrow(/unshared memory/)
  })

  it('a handle that is not one is a TypeError before anything runs: wrong kind, garbled base, no allocator there', async () => {
    // A base that names no control block made the first call trap on the words it found there (a
    // forged base 8 bytes off: "control block overwritten"), or read a zero state as DESTROYED.
    const mm = MemoryManager.createSync({ size: 64 * 1024 })
    const st = StackAllocator.createSync({ size: 4096 })
    const heap = mm.handle
    const stack = st.handle
    const bad: [unknown, RegExp][] = [
      [stack, /not a MemoryManager handle$/], [null, /not a MemoryManager handle$/], [{ ...heap, memory: {} }, /WebAssembly.Memory/],
      [{ ...heap, base: heap.base + 8 }, /no heap at base/], [{ ...heap, base: 0 }, /no heap at base/], [{ ...heap, base: -8 }, /not a control block/],
      [{ ...heap, base: 1 << 30 }, /not a control block/], [{ ...heap, base: 'x' }, /not a control block/], [{ ...heap, base: heap.base + 4 }, /not a control block/],
      [{ ...stack, kind: 'heap' }, /no heap at base/], // a stack's control block is not a heap's
    ]
    for (const [handle, message] of bad) {
      await expect(MemoryManager.attach(handle as typeof heap)).rejects.toThrow(TypeError)
      await expect(MemoryManager.attach(handle as typeof heap)).rejects.toThrow(message)
    }
    expect(() => StackAllocator.attachSync({ ...stack, base: stack.base + 16 })).toThrow(/no stack at base/)
    expect(() => StackAllocator.attachSync(heap)).toThrow(/not a StackAllocator handle$/)
    expect(mm.stats().liveBlocks).toBe(0) // and nothing was touched
    mm.validate()
  })
})

describe('one stack, four worker threads', () => {
  it('workers push and pop pairs inside exclusive(): LIFO holds, statistics add up', async () => {
    const st = StackAllocator.createSync({ size: 1024 * 1024 })
    const outcomes = await Promise.all(
      Array.from({ length: 4 }, (_, worker) => runWorker('stack-stress.worker.mjs', { handle: st.handle, seed: 77 + worker, rounds: 20_000, worker }, 100_000)),
    )
    for (const outcome of outcomes) {
      expect(outcome.error).toBeUndefined()
      expect(outcome.totals.corrupted).toBe(0)
    }
    const stats = st.stats()
    expect(st.depth).toBe(0)
    expect(st.used).toBe(0)
    expect(stats.allocationCount).toBe(sum(outcomes, 'allocations'))
    expect(stats.freeCount).toBe(sum(outcomes, 'frees'))
    expect(stats.totalAllocated).toBe(sum(outcomes, 'bytesAllocated'))
    expect(stats.currentUsage).toBe(0)
  })

  it('control: pairs pushed and popped without the lock are detected as broken', async () => {
    const st = StackAllocator.createSync({ size: 1024 * 1024 })
    const outcomes = await Promise.all(
      Array.from({ length: 4 }, (_, worker) => runWorker('stack-stress.worker.mjs', { handle: st.handle, seed: 77 + worker, rounds: 20_000, worker, unlocked: true }, 30_000)),
    )
    const broken = outcomes.some((outcome) => !outcome.ok || outcome.totals.corrupted > 0) || st.depth !== 0 || st.stats().allocationCount !== sum(outcomes, 'allocations')
    expect(broken).toBe(true)
  })
})

describe('the lock, when no other thread can reach the pool', () => {
  const LOCKED = 0x10cc_ed01 // the word's state "taken, nobody sleeping" (assembly/lock.ts)
  const lockWord = (allocator: MemoryManager | StackAllocator) =>
    new Int32Array(allocator.memory.buffer, (allocator as unknown as { base: number }).base, 1)

  it('an allocator whose handle was never read skips the lock: a held lock word does not stop it', () => {
    const mm = MemoryManager.createSync({ size: 64 * 1024 })
    const st = StackAllocator.createSync({ size: 4096 })
    for (const word of [lockWord(mm), lockWord(st)]) Atomics.store(word, 0, LOCKED) // as if another thread held them
    const ptr = mm.malloc(64)
    expect(ptr).not.toBe(0)
    mm.free(ptr)
    const top = st.push(32)
    st.pop(top)
    expect([Atomics.load(lockWord(mm), 0), Atomics.load(lockWord(st), 0)]).toEqual([LOCKED, LOCKED]) // untouched
  })

  it('reading the handle brings the lock back: the allocator waits while another thread holds it', async () => {
    const mm = MemoryManager.createSync({ size: 64 * 1024 })
    const worker = new Worker(new URL('./workers/lock-holder.worker.mjs', import.meta.url), { workerData: { handle: mm.handle, holdMs: 300 } })
    const messages: string[] = []
    await new Promise<void>((resolve) => worker.on('message', (message: string) => { messages.push(message); if (message === 'held') resolve() }))
    const started = performance.now()
    const ptr = mm.malloc(64) // blocks until the worker lets go
    const waited = performance.now() - started
    expect(ptr).not.toBe(0)
    expect(waited).toBeGreaterThan(100)
    await new Promise<void>((resolve) => (messages.includes('released') ? resolve() : worker.once('message', () => resolve())))
    await worker.terminate()
    expect(Atomics.load(lockWord(mm), 0)).toBe(0)
    mm.validate()
  })

  it('lockTimeout: a call that waits that long for the lock throws LOCK_TIMEOUT, having done nothing', async () => {
    const mm = MemoryManager.createSync({ size: 64 * 1024, lockTimeout: 250 })
    const kept = mm.malloc(100)
    const stack = StackAllocator.createSync({ size: 4096 })
    const held = async (handle: AllocatorHandle, holdMs: number) => {
      const worker = new Worker(new URL('./workers/lock-holder.worker.mjs', import.meta.url), { workerData: { handle, holdMs } })
      const released = new Promise<void>((resolve) => worker.on('message', (message: string) => { if (message === 'released') resolve() }))
      await new Promise<void>((resolve) => worker.on('message', (message: string) => { if (message === 'held') resolve() }))
      return { worker, released }
    }
    // Held for long enough that every refusal below comes while it is held, on a loaded machine too
    // (npm test runs the suites' files side by side): about a second of timeouts in 4 s.
    const heapHolder = await held(mm.handle, 4000)
    const before = performance.now()
    expect(() => mm.malloc(64)).toThrow(expect.objectContaining({ code: 'LOCK_TIMEOUT' }))
    const waited = performance.now() - before
    expect(waited).toBeGreaterThanOrEqual(250)
    expect(waited).toBeLessThan(3000) // it did not wait for the release
    expect(() => mm.free(kept)).toThrow(expect.objectContaining({ code: 'LOCK_TIMEOUT' }))
    expect(() => mm.stats()).toThrow(expect.objectContaining({ code: 'LOCK_TIMEOUT' }))
    // A face attached with its own timeout; one without waits for the release, as before.
    const other = MemoryManager.attachSync(mm.handle, { lockTimeout: 50 })
    expect(() => other.malloc(8)).toThrow(expect.objectContaining({ code: 'LOCK_TIMEOUT' }))
    const patient = MemoryManager.attachSync(mm.handle)
    const late = patient.malloc(8) // waits for the holder's release, about three seconds
    expect(late).not.toBe(0)
    await heapHolder.released
    await heapHolder.worker.terminate()
    // Nothing the refused calls asked for happened: `kept` is live, `late` the one other block.
    expect(mm.stats()).toMatchObject({ liveBlocks: 2, allocationCount: 2, freeCount: 0 })
    expect(mm.usableSize(kept)).toBeGreaterThanOrEqual(100)
    mm.validate()

    const stackFace = StackAllocator.attachSync(stack.handle, { lockTimeout: 100 })
    const stackHolder = await held(stack.handle, 2000)
    expect(() => stackFace.push(8)).toThrow(expect.objectContaining({ code: 'LOCK_TIMEOUT' }))
    await stackHolder.released
    await stackHolder.worker.terminate()
    expect(stackFace.push(8)).not.toBe(0)
    expect(stack.depth).toBe(1)

    for (const bad of [0, -5, NaN]) expect(() => MemoryManager.createSync({ lockTimeout: bad })).toThrow(RangeError)
    expect(() => StackAllocator.createSync({ lockTimeout: '100' as unknown as number })).toThrow(TypeError)
    expect(() => StackAllocator.attachSync(stack.handle, { trackAllocations: true } as never)).toThrow(/unknown option/)
  }, 20_000)

  it('a wait that lasts 5 s says so once on the console, naming the allocator, and goes on waiting', async () => {
    // What a worker terminated inside a call leaves: a lock nobody will release (here released
    // after 6 s, so that the wait can be seen to go on and end). A short wait says nothing.
    const mm = MemoryManager.createSync({ size: 64 * 1024 })
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
    try {
      for (const holdMs of [300, 6000]) {
        const worker = new Worker(new URL('./workers/lock-holder.worker.mjs', import.meta.url), { workerData: { handle: mm.handle, holdMs } })
        await new Promise<void>((resolve) => worker.on('message', (message: string) => { if (message === 'held') resolve() }))
        const started = performance.now()
        const ptr = mm.malloc(64) // blocks until the worker lets go
        const waited = performance.now() - started
        await worker.terminate()
        expect(ptr).not.toBe(0)
        if (holdMs === 300) {
          expect(warn).not.toHaveBeenCalled()
          continue
        }
        expect(waited).toBeGreaterThanOrEqual(5000) // the report came during the wait
        expect(warn).toHaveBeenCalledTimes(1)
        const base = (mm as unknown as { base: number }).base
        expect(String(warn.mock.calls[0][0])).toMatch(new RegExp(`has waited 5\\.\\d s for the lock of the allocator at ${base}, and waits on.*worker\\.terminate\\(\\)`))
      }
      mm.validate()
    } finally {
      warn.mockRestore()
    }
  }, 20_000)
})
