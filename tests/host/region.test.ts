// Allocators inside a memory the user brings (`memory` and `offset`): they keep to their region,
// another module over the same memory reads and writes their blocks, and bad regions are refused
// before anything is written.
import { describe, it, expect } from 'vitest'
import asc from 'assemblyscript/asc'
import { MemoryManager, StackAllocator, MemoryError } from '../../dist/index.js'
import { coverRegion } from '../../dist/region.js'
import { seededRandom, randomInt, fillPattern, patternMismatch } from './helpers.js'

const OUTSIDE = 0x5a

/** A memory of `pages` whose every byte holds OUTSIDE, so that a write outside a region shows. */
function markedMemory(descriptor: WebAssembly.MemoryDescriptor): WebAssembly.Memory {
  const memory = new WebAssembly.Memory(descriptor)
  new Uint8Array(memory.buffer).fill(OUTSIDE)
  return memory
}

/** Offsets of bytes outside [start, end) that no longer hold OUTSIDE. */
function changedOutside(memory: WebAssembly.Memory, start: number, end: number, upTo = memory.buffer.byteLength): number[] {
  const bytes = new Uint8Array(memory.buffer)
  const changed: number[] = []
  for (let i = 0; i < upTo; i++) if ((i < start || i >= end) && bytes[i] !== OUTSIDE) changed.push(i)
  return changed
}

/** Random malloc / realloc / free on `mm`, every live block filled with its own pattern and checked. */
function churn(mm: MemoryManager, seed: number, operations: number, maxRequest: number): number[] {
  const random = seededRandom(seed)
  const live = new Map<number, { size: number; tag: number }>()
  for (let step = 0; step < operations; step++) {
    const pick = random()
    if (live.size > 0 && pick < 0.4) {
      const ptr = [...live.keys()][randomInt(random, 0, live.size - 1)]
      expect(patternMismatch(mm.view(ptr, live.get(ptr)!.size), live.get(ptr)!.tag)).toBe(-1)
      mm.free(ptr)
      live.delete(ptr)
    } else if (live.size > 0 && pick < 0.55) {
      const ptr = [...live.keys()][randomInt(random, 0, live.size - 1)]
      const size = randomInt(random, 1, maxRequest)
      const moved = mm.realloc(ptr, size)
      if (moved === 0) continue
      const kept = Math.min(size, live.get(ptr)!.size)
      expect(patternMismatch(mm.view(moved, kept), live.get(ptr)!.tag)).toBe(-1)
      live.delete(ptr)
      fillPattern(mm.view(moved, size), step)
      live.set(moved, { size, tag: step })
    } else {
      const size = randomInt(random, 1, maxRequest)
      const ptr = mm.malloc(size)
      if (ptr === 0) continue
      fillPattern(mm.view(ptr, size), step)
      live.set(ptr, { size, tag: step })
    }
  }
  return [...live.keys()]
}

describe('a heap in a memory of yours', () => {
  it('keeps every block, and every write of its own, inside [offset, offset + size)', () => {
    const memory = markedMemory({ initial: 8, maximum: 8 })
    const offset = 65_536 + 12 // not a multiple of 64: the control block is placed after a gap
    const size = 200_000
    const mm = MemoryManager.createSync({ memory, offset, size })
    expect(mm.memory).toBe(memory)
    expect(mm.shared).toBe(false)
    const live = churn(mm, 7, 4000, 3000)
    for (const block of mm.blocks()) {
      expect(block.ptr).toBeGreaterThanOrEqual(offset)
      expect(block.ptr + block.size).toBeLessThanOrEqual(offset + size)
    }
    mm.validate()
    expect(live.length).toBe(mm.stats().liveBlocks)
    expect(mm.stats().poolSize).toBeLessThanOrEqual(size)
    expect(mm.stats().poolSize).toBeGreaterThan(size - 2100) // the control block, about 2 KiB
    expect(changedOutside(memory, offset, offset + size)).toEqual([])
  })

  it('grows the memory as its pool grows, never past offset + maxSize', () => {
    const memory = markedMemory({ initial: 1, maximum: 64 })
    const offset = 1024
    const maxSize = 300_000
    const mm = MemoryManager.createSync({ memory, offset, size: 4096, maxSize })
    let live = 0
    while (mm.malloc(10_000) !== 0) live++
    expect(live).toBeGreaterThan(25) // the pool grew from 4 KiB almost to 300,000 bytes
    expect(mm.stats().failedAllocations).toBe(1)
    expect(memory.buffer.byteLength).toBeLessThanOrEqual(Math.ceil((offset + maxSize) / 65_536) * 65_536)
    // Bytes the growth added were zero, not OUTSIDE; those below the region and past its end, up to
    // the page the region ends in, are the memory's first page's and must be untouched.
    expect(changedOutside(memory, offset, offset + maxSize, 65_536)).toEqual([])
    const last = mm.blocks().at(-1)!
    expect(last.ptr + last.size).toBeLessThanOrEqual(offset + maxSize)
    mm.validate()
  })

  it('in checks mode, its junk fill and red zones stay in the region too', () => {
    const memory = markedMemory({ initial: 4, maximum: 4 })
    const mm = MemoryManager.createSync({ memory, offset: 70_000, size: 100_000, checks: true, quarantine: 20_000 })
    churn(mm, 11, 800, 2000)
    mm.validate()
    expect(changedOutside(memory, 70_000, 170_000)).toEqual([])
  })

  it('shares its blocks with another module that imports the same memory', async () => {
    const source = `
      export function sum(ptr: usize, length: i32): u32 {
        let total: u32 = 0
        for (let i = 0; i < length; i++) total += load<u8>(ptr + i)
        return total
      }
      export function fill(ptr: usize, length: i32, value: u8): void { memory.fill(ptr, value, length) }
    `
    const { error, binary, stderr } = await asc.compileString(source, { importMemory: true, runtime: 'stub', initialMemory: 1 })
    expect(error, String(stderr)).toBeNull()
    const memory = new WebAssembly.Memory({ initial: 1 })
    const { instance } = await WebAssembly.instantiate(binary!, { env: { memory } })
    const exports = instance.exports as { sum(ptr: number, length: number): number; fill(ptr: number, length: number, value: number): void }
    // The module's own data sits at the bottom of its memory: the heap goes above it, and grows the
    // memory it shares with the module.
    const mm = await MemoryManager.create({ memory, offset: 16_384, size: 1 << 20 })
    expect(memory.buffer.byteLength).toBeGreaterThanOrEqual(16_384 + (1 << 20))

    const ptr = mm.malloc(1000)
    mm.write(ptr, Array.from({ length: 1000 }, (_, i) => i & 0xff))
    expect(exports.sum(ptr, 1000)).toBe(Array.from({ length: 1000 }, (_, i) => i & 0xff).reduce((a, b) => a + b, 0))
    exports.fill(ptr, 1000, 7)
    expect([...mm.read(ptr, 4), ...mm.read(ptr, 4, 996)]).toEqual([7, 7, 7, 7, 7, 7, 7, 7])
    // The module wrote inside the block only: the heap is whole and the block is still the block.
    mm.validate()
    mm.free(ptr)
    expect(mm.stats().liveBlocks).toBe(0)
  })

  it('lives in a region another allocator reserved for it, while that allocator grows the memory around it', async () => {
    // A module with an allocator of its own (AssemblyScript's TLSF here, as a C module's malloc):
    // it takes the memory's end as it grows, so the region comes from it, as the README says.
    const source = `
      export function reserve(size: usize): usize { return heap.alloc(size) }
      export function allocFilled(size: usize, value: u8): usize { const p = heap.alloc(size); memory.fill(p, value, size); return p }
      export function release(ptr: usize): void { heap.free(ptr) }
      export function allFilled(ptr: usize, size: usize, value: u8): bool {
        for (let i: usize = 0; i < size; i++) if (load<u8>(ptr + i) != value) return false
        return true
      }
    `
    const { error, binary, stderr } = await asc.compileString(source, { importMemory: true, runtime: 'minimal', initialMemory: 1 })
    expect(error, String(stderr)).toBeNull()
    const memory = new WebAssembly.Memory({ initial: 1 })
    const abort = () => { throw new Error('the module aborted') }
    const { instance } = await WebAssembly.instantiate(binary!, { env: { memory, abort } })
    const theirs = instance.exports as { reserve(size: number): number; allocFilled(size: number, value: number): number; release(ptr: number): void; allFilled(ptr: number, size: number, value: number): number }

    const size = 256 * 1024
    const offset = theirs.reserve(size) >>> 0
    const mm = MemoryManager.createSync({ memory, offset, size })
    const random = seededRandom(5)
    const their: Array<{ ptr: number; size: number; value: number }> = []
    const ours = new Map<number, { size: number; tag: number }>()
    for (let step = 0; step < 3000; step++) {
      if (random() < 0.5) {
        if (their.length > 40) {
          const [gone] = their.splice(randomInt(random, 0, their.length - 1), 1)
          expect(theirs.allFilled(gone.ptr, gone.size, gone.value)).toBe(1)
          theirs.release(gone.ptr)
        }
        const block = { size: randomInt(random, 1, 20_000), value: step & 0xff, ptr: 0 }
        block.ptr = theirs.allocFilled(block.size, block.value) >>> 0 // grows the memory now and then
        expect(block.ptr + block.size <= offset || block.ptr >= offset + size).toBe(true)
        their.push(block)
      } else if (ours.size > 60) {
        const ptr = [...ours.keys()][randomInt(random, 0, ours.size - 1)]
        expect(patternMismatch(mm.view(ptr, ours.get(ptr)!.size), ours.get(ptr)!.tag)).toBe(-1)
        mm.free(ptr)
        ours.delete(ptr)
      } else {
        const bytes = randomInt(random, 1, 3000)
        const ptr = mm.malloc(bytes)
        if (ptr !== 0) {
          fillPattern(mm.view(ptr, bytes), step)
          ours.set(ptr, { size: bytes, tag: step })
        }
      }
    }
    expect(memory.buffer.byteLength).toBeGreaterThan(offset + size) // their heap grew past our region
    for (const block of their) expect(theirs.allFilled(block.ptr, block.size, block.value)).toBe(1)
    for (const [ptr, block] of ours) expect(patternMismatch(mm.view(ptr, block.size), block.tag)).toBe(-1)
    mm.validate()
  })

  it('links to a shared memory whose maximum is the whole 4 GiB, and attaches through its handle', () => {
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 65_536, shared: true })
    const mm = MemoryManager.createSync({ memory, offset: 4096, size: 60_000 })
    expect(mm.shared).toBe(true)
    const ptr = mm.malloc(100)
    const other = MemoryManager.attachSync(mm.handle)
    expect(other.usableSize(ptr)).toBeGreaterThanOrEqual(100)
    other.free(ptr)
    expect(mm.stats().liveBlocks).toBe(0)
  })
})

describe('several allocators in one memory', () => {
  it('two heaps and a stack side by side keep apart, and refuse each other\'s pointers', () => {
    const memory = markedMemory({ initial: 4, maximum: 4 })
    const left = MemoryManager.createSync({ memory, offset: 0, size: 80_000 })
    const right = MemoryManager.createSync({ memory, offset: 80_000, size: 80_000, policy: 'best-fit' })
    const stack = StackAllocator.createSync({ memory, offset: 160_000, size: 50_000 })
    const inLeft = churn(left, 1, 1500, 2000)
    const inRight = churn(right, 2, 1500, 2000)
    const pushed = [stack.push(5000), stack.push(300)]
    fillPattern(stack.view(pushed[0], 5000), 99)
    left.validate()
    right.validate()
    expect(inLeft.every((ptr) => ptr >= 0 && ptr < 80_000)).toBe(true)
    expect(inRight.every((ptr) => ptr >= 80_000 && ptr < 160_000)).toBe(true)
    expect(pushed.every((ptr) => ptr >= 160_000 && ptr < 210_000)).toBe(true)
    expect(changedOutside(memory, 0, 210_000)).toEqual([])

    const before = right.stats()
    const error = (() => { try { right.free(inLeft[0]) } catch (caught) { return caught } })()
    expect(error).toBeInstanceOf(MemoryError)
    expect((error as MemoryError).code).toBe('INVALID_POINTER')
    expect(right.stats()).toEqual(before)
    expect(left.usableSize(inLeft[0])).toBeGreaterThan(0) // still live in its own heap
    stack.pop()
    expect(patternMismatch(stack.view(pushed[0], 5000), 99)).toBe(-1)
  })
})

describe('overlapping regions', () => {
  it('a region over a live allocator\'s is refused, and that allocator keeps working; once destroyed, the bytes can be taken again', () => {
    const memory = markedMemory({ initial: 4, maximum: 4 })
    const first = MemoryManager.createSync({ memory, offset: 10_000, size: 50_000, maxSize: 80_000 })
    const ptr = first.malloc(100)
    fillPattern(first.view(ptr, 100), 3)
    const before = new Uint8Array(memory.buffer).slice()
    // The same offset twice (a second initialisation, say), inside it, across its start, into its room to grow.
    for (const [offset, size] of [[10_000, 50_000], [20_000, 4096], [6000, 8000], [85_000, 4096]]) {
      expect(() => MemoryManager.createSync({ memory, offset, size }), `at ${offset}`).toThrow(/overlaps \[10000, 90000\).*destroy\(\) it first/)
      expect(() => StackAllocator.createSync({ memory, offset, size }), `stack at ${offset}`).toThrow(RangeError)
    }
    expect(new Uint8Array(memory.buffer)).toEqual(before) // nothing written by the refused ones
    expect(patternMismatch(first.view(ptr, 100), 3)).toBe(-1)
    first.validate()
    const beside = StackAllocator.createSync({ memory, offset: 90_000, size: 10_000 }) // right after its room: fine
    expect(() => MemoryManager.createSync({ memory, offset: 95_000, size: 4096 })).toThrow(/overlaps \[90000, 100000\)/)
    first.destroy()
    expect(first.destroyed).toBe(true)
    const second = MemoryManager.createSync({ memory, offset: 10_000, size: 50_000 })
    expect(second.malloc(100)).not.toBe(0)
    expect(beside.destroyed).toBe(false)
  })
})

describe('random regions', () => {
  it('200 heaps and stacks at random offsets, sizes and alignments: each is made inside its region, writing nothing outside it, or refused with a clear error, writing nothing', () => {
    const random = seededRandom(2026)
    const page = 65_536
    const memory = markedMemory({ initial: 4, maximum: 16 })
    const live: Array<{ allocator: MemoryManager | StackAllocator; start: number; end: number }> = []
    let made = 0
    let refused = 0
    for (let round = 0; round < 200; round++) {
      const offset = random() < 0.1 ? [0, 1, 7, 16 * page - 100][randomInt(random, 0, 3)] : randomInt(random, 0, 14 * page)
      const size = random() < 0.1 ? [0, 63, 200, 2100][randomInt(random, 0, 3)] : randomInt(random, 64, page)
      const maxSize = random() < 0.5 ? size : size + randomInt(random, 0, page)
      const alignment = 2 ** randomInt(random, 3, 12)
      const stack = random() < 0.3
      const before = new Uint8Array(memory.buffer).slice()
      let region: { start: number; end: number } | undefined
      try {
        const allocator = stack
          ? StackAllocator.createSync({ memory, offset, size, alignment })
          : MemoryManager.createSync({ memory, offset, size, maxSize, alignment, policy: random() < 0.5 ? 'first-fit' : 'best-fit' })
        region = { start: offset, end: offset + size }
        live.push({ allocator, start: offset, end: offset + (stack ? size : maxSize) })
        made++
      } catch (error) {
        expect(error instanceof RangeError || error instanceof TypeError, String(error)).toBe(true)
        refused++
      }
      const after = new Uint8Array(memory.buffer)
      for (let i = 0; i < before.length; i++) {
        if (after[i] !== before[i] && !(region && i >= region.start && i < region.end)) {
          expect.fail(`round ${round}: byte ${i} changed outside ${region ? `the new region [${region.start}, ${region.end})` : 'any region (the creation was refused)'}`)
        }
      }
      // Use every live allocator a little: its blocks lie inside its region.
      for (const { allocator, start, end } of live) {
        const ptr = allocator instanceof StackAllocator ? allocator.push(randomInt(random, 1, 200)) : allocator.malloc(randomInt(random, 1, 3000))
        if (ptr !== 0) {
          expect(ptr >= start && ptr < end).toBe(true)
          allocator.fill(ptr, 0x33, 1)
        }
      }
      if (live.length > 0 && random() < 0.3) live.splice(randomInt(random, 0, live.length - 1), 1)[0].allocator.destroy()
    }
    expect(made).toBeGreaterThan(20)
    expect(refused).toBeGreaterThan(20)
    for (const { allocator } of live) if (allocator instanceof MemoryManager) allocator.validate()
  })
})

describe('bad regions are refused before anything is written', () => {
  const memory = () => markedMemory({ initial: 1, maximum: 2 })

  it('memory needs an offset, an offset needs a memory, and memory must be a WebAssembly.Memory', () => {
    expect(() => MemoryManager.createSync({ memory: memory() })).toThrow(/offset is required with memory/)
    expect(() => MemoryManager.createSync({ offset: 64 })).toThrow(TypeError)
    expect(() => StackAllocator.createSync({ offset: 64 })).toThrow(/offset applies to a memory you pass/)
    expect(() => MemoryManager.createSync({ memory: new ArrayBuffer(65536) as never, offset: 0 })).toThrow(/must be a WebAssembly.Memory/)
    expect(() => MemoryManager.createSync({ memory: memory(), offset: -8 })).toThrow(RangeError)
    expect(() => MemoryManager.createSync({ memory: memory(), offset: 1.5 })).toThrow(RangeError)
  })

  it('shared must match the memory, when given', () => {
    expect(() => MemoryManager.createSync({ memory: memory(), offset: 0, shared: true })).toThrow(/does not match the memory passed, which is not shared/)
    const shared = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true })
    expect(() => StackAllocator.createSync({ memory: shared, offset: 0, size: 4096, shared: false })).toThrow(TypeError)
  })

  it('a region too small for the control block names the size it needs', () => {
    const mem = memory()
    expect(() => MemoryManager.createSync({ memory: mem, offset: 0, size: 1000 })).toThrow(/size must be at least \d+ bytes/)
    expect(() => StackAllocator.createSync({ memory: mem, offset: 0, size: 150 })).toThrow(/size must be at least 192 bytes/)
    expect(changedOutside(mem, 0, 0)).toEqual([])
  })

  it('a growth refused while another thread grew the memory is asked again, for what is still missing', () => {
    // Threads making heaps in one shared memory at once each count pages from the length they saw:
    // here the other thread's growth lands between this one's look and its ask, which the maximum
    // then refuses. A fake memory stands in for the two threads.
    const page = 65_536
    let length = page
    const asked: number[] = []
    const memory = {
      get buffer() { return { byteLength: length } },
      grow(pages: number) {
        asked.push(pages)
        if (asked.length === 1) {
          length += 2 * page // the other thread, meanwhile
          throw new RangeError('WebAssembly.Memory.grow(): Maximum memory size exceeded')
        }
        length += pages * page
        return 0
      },
    } as unknown as WebAssembly.Memory
    coverRegion({ memory, offset: 0 }, 4 * page)
    expect(asked).toEqual([3, 1]) // then only the page still missing
    expect(length).toBe(4 * page)
    // A refusal with no growth meanwhile is final.
    const stuck = { buffer: { byteLength: page }, grow() { throw new RangeError('no') } } as unknown as WebAssembly.Memory
    expect(() => coverRegion({ memory: stuck, offset: 0 }, 2 * page)).toThrow(/cannot grow to hold the region/)
  })

  it('a region the memory cannot grow to hold is a RangeError, and the memory is left as it was', () => {
    const mem = memory()
    expect(() => MemoryManager.createSync({ memory: mem, offset: 100_000, size: 50_000 })).toThrow(/cannot grow to hold the region/)
    expect(() => StackAllocator.createSync({ memory: mem, offset: 0, size: 200_000 })).toThrow(RangeError)
    expect(mem.buffer.byteLength).toBe(65_536)
    expect(changedOutside(mem, 0, 0)).toEqual([])
    expect(() => MemoryManager.createSync({ memory: mem, offset: 0xffff_0000 - 1000, size: 4096 })).toThrow(/4 GiB/)
  })
})
