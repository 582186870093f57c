// "The wasm module never traps on user input": every public call, fed random numbers for pointers,
// sizes, offsets and protections, either works or throws a MemoryError, RangeError or TypeError;
// never a WebAssembly.RuntimeError, and the heap stays valid (nothing is lost to a refused call).
import { describe, it, expect } from 'vitest'
import { MemoryManager, StackAllocator, MemoryError, Protection } from '../../host/index.js'
import { seededRandom } from './helpers.js'

function expectOnlyClearErrors(call: () => unknown) {
  try {
    call()
  } catch (error) {
    if (!(error instanceof MemoryError || error instanceof RangeError || error instanceof TypeError)) throw error
  }
}

describe('garbage input', () => {
  for (const checks of [false, true]) {
    it(`heap${checks ? ' (checks mode)' : ''}: 20,000 calls with random arguments never trap`, () => {
      const random = seededRandom(checks ? 99 : 98)
      const mm = MemoryManager.createSync({ size: 64 * 1024, maxSize: 256 * 1024, checks })
      const live: number[] = []
      const memoryEnd = () => mm.memory.buffer.byteLength
      // Numbers a confused caller might pass: near a live block, anywhere in memory, past it, odd ones.
      const anyPointer = () => {
        const kind = random()
        if (kind < 0.4 && live.length) return live[Math.floor(random() * live.length)] + Math.floor(random() * 80) - 40
        if (kind < 0.8) return Math.floor(random() * memoryEnd())
        if (kind < 0.9) return memoryEnd() + Math.floor(random() * 1e9)
        return [0, -1, 2 ** 32 - 8, 2 ** 32, 1.5, NaN][Math.floor(random() * 6)]
      }
      const anySize = () => (random() < 0.8 ? Math.floor(random() * 4096) : [0, -1, 2 ** 32, 2 ** 53, 0.5, Infinity][Math.floor(random() * 6)])
      const anyProtection = () => (random() < 0.9 ? Math.floor(random() * 8) : [8, -1, 3.5][Math.floor(random() * 3)]) as Protection
      const calls: Array<() => unknown> = [
        () => { const p = mm.malloc(anySize()); if (p) live.push(p) },
        () => { const p = mm.calloc(anySize(), anySize()); if (p) live.push(p) },
        () => { const p = mm.alignedAlloc(2 ** Math.floor(random() * 18), anySize()); if (p) live.push(p) },
        () => mm.free(anyPointer()),
        () => mm.realloc(anyPointer(), anySize()),
        () => mm.usableSize(anyPointer()),
        () => mm.protect(anyPointer(), anySize(), anyProtection()),
        () => mm.protection(anyPointer()),
        () => mm.isProtected(anyPointer(), anyProtection()),
        () => mm.read(anyPointer(), anySize(), anySize()),
        () => mm.write(anyPointer(), [1, 2, 3], anySize()),
        () => mm.readString(anyPointer()),
        () => mm.writeString(anyPointer(), 'garbage'),
        () => mm.copy(anyPointer(), anyPointer(), anySize(), anySize(), anySize()),
        () => mm.fill(anyPointer(), Math.floor(random() * 300) - 20, random() < 0.5 ? undefined : anySize(), anySize()),
        () => mm.view(anyPointer(), anySize()),
        () => mm.typedView('f64', anyPointer(), anySize()),
        () => { if (live.length) { const i = Math.floor(random() * live.length); const p = live[i]; if (mm.protection(p) & Protection.Write) { mm.free(p); live.splice(i, 1) } } },
      ]
      for (let i = 0; i < 20_000; i++) expectOnlyClearErrors(calls[Math.floor(random() * calls.length)])
      // The heap holds and its books balance. (A random pointer that hits a live block's start frees
      // or resizes it for real, as in C; only the refused calls must have changed nothing.)
      expect(() => mm.validate()).not.toThrow()
      const stats = mm.stats()
      expect(stats.currentUsage).toBe(stats.totalAllocated - stats.totalFreed)
      expect(stats.liveBlocks).toBe(stats.allocationCount - stats.freeCount)
    })
  }

  it('stack: 20,000 calls with random arguments never trap', () => {
    const random = seededRandom(97)
    const st = StackAllocator.createSync({ size: 16 * 1024 })
    const anyNumber = () => (random() < 0.8 ? Math.floor(random() * st.memory.buffer.byteLength) : [0, -1, 2 ** 32, 1.5, NaN][Math.floor(random() * 5)])
    const calls: Array<() => unknown> = [
      () => st.push(Math.floor(random() * 600), random() < 0.2 ? 2 ** Math.floor(random() * 18) : undefined),
      () => st.pop(random() < 0.5 ? undefined : anyNumber()),
      () => st.reset(anyNumber()),
      () => st.mark(),
      () => st.read(anyNumber(), Math.floor(random() * 64)),
      () => st.write(anyNumber(), [9]),
      () => st.readString(anyNumber()),
      () => st.view(anyNumber()),
    ]
    for (let i = 0; i < 20_000; i++) expectOnlyClearErrors(calls[Math.floor(random() * calls.length)])
    const stats = st.stats()
    expect(stats.liveBlocks).toBe(st.depth)
    expect(stats.currentUsage).toBe(stats.totalAllocated - stats.totalFreed)
  })
})
