// Every error code: thrown as a MemoryError with its code and pointer, and the heap unchanged after.
import { describe, it, expect } from 'vitest'
import { MemoryManager, MemoryError, Protection, type MemoryErrorCode } from '../../host/index.js'

function setup() {
  const mm = MemoryManager.createSync({ size: 16 * 1024 })
  const a = mm.malloc(64)
  const b = mm.malloc(64)
  const c = mm.malloc(64)
  mm.write(a, [1, 2, 3])
  return { mm, a, b, c }
}

/** Runs `call`, expects a MemoryError with `code`, and checks that nothing changed. */
function expectRefused(mm: MemoryManager, call: () => unknown, code: MemoryErrorCode, ptr?: number) {
  const before = { stats: mm.stats(), blocks: mm.blocks() }
  let thrown: unknown
  try {
    call()
  } catch (error) {
    thrown = error
  }
  expect(thrown).toBeInstanceOf(MemoryError)
  expect((thrown as MemoryError).code).toBe(code)
  if (ptr !== undefined) expect((thrown as MemoryError).ptr).toBe(ptr)
  expect(mm.stats()).toEqual(before.stats)
  expect(mm.blocks()).toEqual(before.blocks)
  mm.validate()
}

describe('errors', () => {
  it('MemoryError is an Error with a code and a message that names it', () => {
    const error = new MemoryError('DOUBLE_FREE', undefined, { ptr: 1234 })
    expect(error).toBeInstanceOf(Error)
    expect(error.name).toBe('MemoryError')
    expect(error.message).toContain('DOUBLE_FREE')
    expect(error.message).toContain('1234')
  })

  it('INVALID_POINTER: interior, out of range, misaligned, another allocator, non-integer', () => {
    const { mm, a } = setup()
    const other = MemoryManager.createSync({ size: 16 * 1024 })
    const foreign = other.malloc(256)
    other.free(other.malloc(8))
    for (const bad of [a + 8, a + 3, 8, 1 << 30, 0xfffffff8, -8, 1.5]) {
      expectRefused(mm, () => mm.free(bad), 'INVALID_POINTER')
      expectRefused(mm, () => mm.realloc(bad, 10), 'INVALID_POINTER')
      expectRefused(mm, () => mm.usableSize(bad), 'INVALID_POINTER')
    }
    expectRefused(mm, () => mm.free(foreign + 512), 'INVALID_POINTER')
    expectRefused(mm, () => mm.read(a + 8, 1), 'INVALID_POINTER')
    expect(() => mm.free('12' as unknown as number)).toThrow(TypeError)
  })

  it('DOUBLE_FREE: freeing or reallocating a freed block', () => {
    const { mm, a, b } = setup()
    mm.free(b)
    expectRefused(mm, () => mm.free(b), 'DOUBLE_FREE', b)
    expectRefused(mm, () => mm.realloc(b, 8), 'DOUBLE_FREE', b)
    mm.free(a) // merges with b's hole: a stale header must still say "free"
    expectRefused(mm, () => mm.free(a), 'DOUBLE_FREE', a)
  })

  it('CORRUPTION: a header overwritten by an overflow is reported, never a trap', () => {
    const { mm, a, b } = setup()
    const usable = mm.usableSize(a)
    const bytes = new Uint8Array(mm.memory.buffer)
    bytes.fill(0xff, a + usable, a + usable + 4) // one word past a: b's size word
    const error = (() => { try { mm.validate() } catch (e) { return e as MemoryError } })()!
    expect(error.code).toBe('CORRUPTION')
    expect(error.block).toBe(b)
    expect(error.message).toMatch(/block size/)
    // Reported once: b is kept out of use (condemned), every call on it refused naming it, and the
    // heap validates again.
    expect(() => mm.free(b)).toThrow(expect.objectContaining({ code: 'CORRUPTION', ptr: b, message: expect.stringMatching(/header was overwritten/) }))
    expect(mm.validate().liveBlocks).toBe(mm.stats().liveBlocks)
    mm.free(a)
  })

  it('PROTECTION: freeing or resizing a block without Write, and a forbidden access', () => {
    const { mm, a } = setup()
    mm.protect(a, 64, Protection.Read)
    expectRefused(mm, () => mm.free(a), 'PROTECTION', a)
    expectRefused(mm, () => mm.realloc(a, 128), 'PROTECTION', a)
    expectRefused(mm, () => mm.write(a, [9]), 'PROTECTION', a)
    mm.protect(a, 64, Protection.ReadWrite)
    mm.free(a)
  })

  it('OUT_OF_BOUNDS: an access or a protect range that leaves the block', () => {
    const { mm, a } = setup()
    const usable = mm.usableSize(a)
    expectRefused(mm, () => mm.read(a, usable + 1), 'OUT_OF_BOUNDS', a)
    expectRefused(mm, () => mm.read(a, 1, usable), 'OUT_OF_BOUNDS', a)
    expectRefused(mm, () => mm.protect(a, usable + 1, Protection.Read), 'OUT_OF_BOUNDS')
    expectRefused(mm, () => mm.protect(a + 16, usable - 15, Protection.Read), 'OUT_OF_BOUNDS')
  })

  it('DESTROYED: any call after destroy()', () => {
    const { mm, a } = setup()
    mm.destroy()
    expect(() => mm.free(a)).toThrow(expect.objectContaining({ code: 'DESTROYED' }))
  })

  it('bad sizes and protection values are RangeError or TypeError, and change nothing', () => {
    const { mm, a } = setup()
    const before = mm.stats()
    expect(() => mm.realloc(a, -5)).toThrow(RangeError)
    expect(() => mm.calloc(2, 0.5)).toThrow(RangeError)
    expect(() => mm.calloc(null as unknown as number, 2)).toThrow(TypeError)
    expect(() => mm.protect(a, 8, 8 as Protection)).toThrow(RangeError)
    expect(() => mm.protect(a, 8, 1.5 as Protection)).toThrow(RangeError)
    expect(() => mm.isProtected(a, -1 as Protection)).toThrow(RangeError)
    expect(() => mm.write(a, 'abc' as unknown as number[])).toThrow(TypeError)
    expect(mm.stats()).toEqual(before)
  })
})
