// A lock whose holder's thread ended: a worker terminated while it holds an allocator's lock never
// lets go; another thread that knows the worker's lockOwnerId takes the lock over (recoverLock),
// and the allocator goes on. Real workers, real terminations: what a user's `node app.js` meets.
import { describe, it, expect } from 'vitest'
import { Worker } from 'node:worker_threads'
import { MemoryManager, StackAllocator, HeapGroup, type AllocatorHandle, type HeapGroupHandle } from '../../dist/index.js'

const lockWord = (allocator: MemoryManager | StackAllocator) =>
  new Int32Array(allocator.memory.buffer, (allocator as unknown as { base: number }).base, 1)

/** Starts tests/host/workers/lock-owner.worker.mjs; resolves with its lockOwnerId once it posted `ready`. */
async function startOwner<Owner = number>(handle: AllocatorHandle | HeapGroupHandle, mode: 'hold' | 'churn', ready: string) {
  const worker = new Worker(new URL('./workers/lock-owner.worker.mjs', import.meta.url), { workerData: { handle, mode } })
  let owner = 0 as Owner
  await new Promise<void>((resolve, reject) => {
    worker.on('error', reject)
    worker.on('message', (message: { owner: Owner } | string) => {
      if (typeof message === 'object') owner = message.owner
      else if (message === ready) resolve()
    })
  })
  return { worker, owner }
}

describe('recoverLock: taking the lock over from a thread that ended holding it', () => {
  it("a heap: the dead worker's lock is taken over, the heap repaired and let go; nothing else is taken over", async () => {
    const mm = MemoryManager.createSync({ size: 64 * 1024, lockTimeout: 100 })
    const kept = mm.malloc(64)
    const { worker, owner } = await startOwner(mm.handle, 'hold', 'holding')
    expect(owner).toBeGreaterThan(0)
    expect(owner).not.toBe(mm.lockOwnerId)
    expect(mm.recoverLock(owner === 1 ? 2 : owner - 1)).toBe(false) // another name: a live holder is never robbed
    await worker.terminate() // inside its lock, for good
    expect(() => mm.malloc(8)).toThrow(expect.objectContaining({ code: 'LOCK_TIMEOUT' }))
    expect(mm.recoverLock(owner)).toBe(true)
    expect(Atomics.load(lockWord(mm), 0)).toBe(0) // let go
    expect(mm.recoverLock(owner)).toBe(false) // once
    // The worker's two allocations under the lock: one live (its thread gone, a leak), one parked
    // in a cache; the statistics agree with the blocks.
    mm.validate()
    expect(mm.stats()).toMatchObject({ liveBlocks: 2 })
    expect(mm.usableSize(kept)).toBeGreaterThanOrEqual(64)
    const ptr = mm.malloc(200)
    expect(ptr).not.toBe(0)
    mm.free(ptr)
    mm.free(kept)
    mm.validate()
  })

  it('a heap whose dead worker left a header half written: recoverLock throws CORRUPTION naming the block, kept out of use; the heap goes on', async () => {
    const mm = MemoryManager.createSync({ size: 64 * 1024, lockTimeout: 100 })
    const kept = mm.malloc(64)
    const half = mm.malloc(40)
    const { worker, owner } = await startOwner(mm.handle, 'hold', 'holding')
    await worker.terminate()
    const words = new Uint32Array(mm.memory.buffer)
    words[(half - 4) >> 2] &= 0xffff // the header the call was writing: its magic not yet
    const error = (() => { try { mm.recoverLock(owner) } catch (e) { return e as { code: string; block: number } } })()
    expect(error).toMatchObject({ code: 'CORRUPTION', block: half })
    expect(Atomics.load(lockWord(mm), 0)).toBe(0) // let go all the same
    expect(() => mm.free(half)).toThrow(expect.objectContaining({ code: 'CORRUPTION', message: expect.stringMatching(/header was overwritten/) }))
    mm.validate()
    mm.free(kept)
    mm.free(mm.malloc(100))
    mm.validate()
  })

  it("a stack: the dead worker's exclusive() is taken over; its push stays, the top and depth agree", async () => {
    const stack = StackAllocator.createSync({ size: 4096, lockTimeout: 100 })
    stack.push(16)
    const { worker, owner } = await startOwner(stack.handle, 'hold', 'holding')
    await worker.terminate()
    expect(() => stack.push(8)).toThrow(expect.objectContaining({ code: 'LOCK_TIMEOUT' }))
    expect(stack.recoverLock(owner)).toBe(true)
    expect(stack.depth).toBe(2) // its push of 40 bytes, made inside exclusive()
    expect(stack.stats()).toMatchObject({ liveBlocks: 2, currentUsage: 56 })
    const top = stack.push(8)
    expect(top).not.toBe(0)
    stack.pop(top)
    stack.pop()
    stack.pop()
    expect(stack.used).toBe(0)
  })

  it('a heap whose worker was terminated in the middle of its mallocs and frees: taken over when held, sound after', async () => {
    for (let round = 0; round < 24; round++) {
      const mm = MemoryManager.createSync({ size: 256 * 1024, lockTimeout: 2000 })
      const { worker, owner } = await startOwner(mm.handle, 'churn', 'churning')
      await new Promise((resolve) => setTimeout(resolve, round % 4))
      await worker.terminate()
      const held = Atomics.load(lockWord(mm), 0) !== 0
      expect(mm.recoverLock(owner)).toBe(held) // held only by that face: taken over exactly then
      expect(Atomics.load(lockWord(mm), 0)).toBe(0)
      mm.validate() // the index laid anew, the statistics recounted: sound wherever the call stopped
      expect(mm.stats().liveBlocks).toBe(mm.blocks().filter((block) => !block.free).length)
      mm.free(mm.malloc(100))
      mm.destroy()
    }
  }, 60_000)

  it("a HeapGroup: the heap whose lock the dead worker's face held is taken over; the others are left", async () => {
    const group = HeapGroup.createSync({ heaps: 3, size: 64 * 1024, lockTimeout: 100 })
    const { worker, owner } = await startOwner<number[]>(group.handle, 'hold', 'holding')
    expect(owner).toHaveLength(3)
    expect(new Set([...owner, ...group.lockOwnerIds]).size).toBe(6) // a name a face
    await worker.terminate()
    expect(() => group.heap(1).malloc(8)).toThrow(expect.objectContaining({ code: 'LOCK_TIMEOUT' }))
    expect(group.heap(0).malloc(8)).not.toBe(0) // the other heaps go on
    expect(() => group.recoverLocks(owner.slice(1))).toThrow(RangeError)
    expect(group.recoverLocks(owner)).toBe(1)
    expect(group.recoverLocks(owner)).toBe(0)
    const p = group.heap(1).malloc(8)
    expect(group.ownerOf(p)).toBe(group.heap(1))
    group.free(p)
    group.validate()
  })

  it('refuses what is not a face name, and its own', () => {
    const mm = MemoryManager.createSync({ size: 64 * 1024 })
    for (const bad of [0, -1, 1.5, 2 ** 32, NaN]) expect(() => mm.recoverLock(bad)).toThrow(RangeError)
    expect(() => mm.recoverLock('7' as unknown as number)).toThrow(TypeError)
    expect(() => mm.recoverLock(mm.lockOwnerId)).toThrow(RangeError)
    expect(mm.recoverLock(12345)).toBe(false) // the lock is free
  })
})
