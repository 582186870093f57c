import { describe, it, expect } from 'vitest'
import { MemoryManager, MemoryError, Protection } from '../../host/index.js'

const ALL_MODES = [
  Protection.None, Protection.Read, Protection.Write, Protection.Execute, Protection.ReadWrite,
  Protection.ReadExecute, Protection.WriteExecute, Protection.ReadWriteExecute,
]

function heap() {
  return MemoryManager.createSync({ size: 64 * 1024 })
}

function codeOf(call: () => unknown): string | undefined {
  try {
    call()
    return undefined
  } catch (error) {
    if (error instanceof MemoryError) return error.code
    throw error
  }
}

describe('protection modes', () => {
  it('new blocks are ReadWrite', () => {
    const mm = heap()
    expect(mm.protection(mm.malloc(8))).toBe(Protection.ReadWrite)
    expect(mm.protection(mm.calloc(2, 8))).toBe(Protection.ReadWrite)
    expect(mm.protection(mm.alignedAlloc(256, 8))).toBe(Protection.ReadWrite)
  })

  it('every mode is set and read back; isProtected means exactly that mode', () => {
    const mm = heap()
    const ptr = mm.malloc(64)
    for (const mode of ALL_MODES) {
      mm.protect(ptr, 64, mode)
      expect(mm.protection(ptr)).toBe(mode)
      for (const other of ALL_MODES) expect(mm.isProtected(ptr, other)).toBe(other === mode)
    }
  })

  it('the checked accessors allow exactly what each mode grants', () => {
    const mm = heap()
    const ptr = mm.malloc(16)
    mm.writeString(ptr, 'abc')
    for (const mode of ALL_MODES) {
      mm.protect(ptr, 16, mode)
      const readable = (mode & Protection.Read) !== 0
      const writable = (mode & Protection.Write) !== 0
      expect(codeOf(() => mm.read(ptr, 4)), `read under ${mode}`).toBe(readable ? undefined : 'PROTECTION')
      expect(codeOf(() => mm.readString(ptr)), `readString under ${mode}`).toBe(readable ? undefined : 'PROTECTION')
      expect(codeOf(() => mm.write(ptr, [97, 98, 99, 0])), `write under ${mode}`).toBe(writable ? undefined : 'PROTECTION')
      expect(codeOf(() => mm.writeString(ptr, 'abc')), `writeString under ${mode}`).toBe(writable ? undefined : 'PROTECTION')
      expect(codeOf(() => mm.view(ptr)), 'view is never checked').toBe(undefined)
    }
  })

  it('applies to the whole block holding the range; a range that leaves it is OUT_OF_BOUNDS', () => {
    const mm = heap()
    const ptr = mm.malloc(64)
    mm.protect(ptr + 16, 8, Protection.Read)
    expect(mm.protection(ptr)).toBe(Protection.Read)
    expect(codeOf(() => mm.protect(ptr + 16, 64, Protection.None))).toBe('OUT_OF_BOUNDS')
    expect(mm.protection(ptr)).toBe(Protection.Read)
    const freed = mm.malloc(32)
    mm.free(freed)
    expect(codeOf(() => mm.protect(freed, 8, Protection.Read))).toBe('INVALID_POINTER')
  })

  it('an invalid protection value is a RangeError', () => {
    const mm = heap()
    const ptr = mm.malloc(8)
    for (const bad of [-1, 8, 3.5, NaN]) expect(() => mm.protect(ptr, 8, bad as Protection)).toThrow(RangeError)
    expect(mm.protection(ptr)).toBe(Protection.ReadWrite)
  })

  it('Execute is bookkeeping only: stored and reported', () => {
    const mm = heap()
    const ptr = mm.malloc(8)
    mm.protect(ptr, 8, Protection.Execute)
    expect(mm.isProtected(ptr, Protection.Execute)).toBe(true)
    expect(mm.blocks().find((block) => block.ptr === ptr)?.protection).toBe(Protection.Execute)
  })
})

describe('free and realloc need Write', () => {
  it('are refused without Write and allowed again with it, statistics untouched', () => {
    const mm = heap()
    const ptr = mm.malloc(100)
    mm.write(ptr, [1, 2, 3])
    for (const mode of [Protection.None, Protection.Read, Protection.Execute, Protection.ReadExecute]) {
      mm.protect(ptr, 1, mode)
      const before = mm.stats()
      expect(codeOf(() => mm.free(ptr))).toBe('PROTECTION')
      expect(codeOf(() => mm.realloc(ptr, 500))).toBe('PROTECTION')
      expect(codeOf(() => mm.realloc(ptr, 0))).toBe('PROTECTION')
      expect(mm.stats()).toEqual(before)
    }
    mm.protect(ptr, 1, Protection.Write)
    const moved = mm.realloc(ptr, 5000)
    expect(mm.protection(moved)).toBe(Protection.Write) // protection travels with the block
    mm.protect(moved, 1, Protection.ReadWrite)
    expect([...mm.read(moved, 3)]).toEqual([1, 2, 3])
    mm.free(moved)
    const again = mm.malloc(100)
    expect(mm.protection(again)).toBe(Protection.ReadWrite)
  })
})

describe('raw writes into non-writable blocks are detected', () => {
  it('an unchanged read-only block passes validation', () => {
    const mm = heap()
    const ptr = mm.malloc(1000)
    mm.view(ptr).fill(7)
    mm.protect(ptr, 1000, Protection.Read)
    mm.read(ptr, 1000)
    expect(mm.validate().liveBlocks).toBe(1)
  })

  it('validate() reports a changed block once, naming it', () => {
    const mm = heap()
    const other = mm.malloc(40)
    const ptr = mm.malloc(1000)
    mm.protect(ptr, 1000, Protection.Read)
    mm.protect(other, 40, Protection.None)
    new Uint8Array(mm.memory.buffer)[ptr + 999] ^= 1 // a raw write: nothing can trap it
    let error: MemoryError | undefined
    try {
      mm.validate()
    } catch (e) {
      error = e as MemoryError
    }
    expect(error).toBeInstanceOf(MemoryError)
    expect(error!.code).toBe('PROTECTION')
    expect(error!.ptr).toBe(ptr)
    expect(error!.block).toBe(ptr)
    expect(error!.message).toContain(String(ptr))
    expect(() => mm.validate()).not.toThrow() // reported once
  })

  it('free() of a written read-only block reports it; it can be unprotected and freed after', () => {
    const mm = heap()
    const ptr = mm.malloc(64)
    mm.protect(ptr, 64, Protection.Read)
    mm.view(ptr)[0] = 99
    expect(codeOf(() => mm.free(ptr))).toBe('PROTECTION')
    expect(() => mm.validate()).not.toThrow() // the free took the fingerprint again
    mm.protect(ptr, 64, Protection.ReadWrite)
    mm.free(ptr)
    expect(mm.stats().liveBlocks).toBe(0)
  })

  it('a protect() that changes the protection reports the write and changes nothing else', () => {
    const mm = heap()
    const ptr = mm.malloc(64)
    mm.protect(ptr, 64, Protection.ReadExecute)
    mm.view(ptr)[10] = 1
    expect(codeOf(() => mm.protect(ptr, 64, Protection.ReadWrite))).toBe('PROTECTION')
    expect(mm.protection(ptr)).toBe(Protection.ReadExecute)
    mm.protect(ptr, 64, Protection.ReadWrite) // the violation was reported once
    expect(mm.protection(ptr)).toBe(Protection.ReadWrite)
  })

  it('each PROTECTION error says why this call was refused: the write it found, or the access the block does not grant', () => {
    // The write is reported once; the calls after it are refused for the missing access, and say so
    // (they repeated the write's report, from the fault record the first call left behind).
    const errorOf = (call: () => unknown) => {
      try {
        call()
      } catch (error) {
        return error as MemoryError
      }
      throw new Error('expected an error')
    }
    const mm = heap()
    const ptr = mm.malloc(64)
    mm.protect(ptr, 64, Protection.Read)
    mm.view(ptr)[5] = 1
    const written = errorOf(() => mm.free(ptr))
    expect(written).toMatchObject({ code: 'PROTECTION', block: ptr })
    expect(written.message).toMatch(/written while it was not writable/)
    for (const call of [() => mm.free(ptr), () => mm.realloc(ptr, 100), () => mm.write(ptr, [1])]) {
      const refused = errorOf(call)
      expect(refused).toMatchObject({ code: 'PROTECTION', block: ptr, found: Protection.Read, expected: Protection.Write })
      expect(refused.message).toMatch(/is Read and the call needs Write/)
    }
    mm.protect(ptr, 64, Protection.None)
    mm.view(ptr)[6] = 1
    expect(errorOf(() => mm.protect(ptr, 64, Protection.None)).message).toMatch(/written while it was not writable/)
    const unreadable = errorOf(() => mm.read(ptr, 4))
    expect(unreadable).toMatchObject({ code: 'PROTECTION', block: ptr, found: Protection.None, expected: Protection.Read })
    expect(unreadable.message).toMatch(/is None and the call needs Read/)
  })

  it('writes into writable blocks are never reported', () => {
    const mm = heap()
    const ptr = mm.malloc(64)
    mm.protect(ptr, 64, Protection.Write)
    mm.view(ptr).fill(3)
    expect(() => mm.validate()).not.toThrow()
  })

  it('keeps fingerprints for many blocks, invisible to statistics and walks', () => {
    const mm = MemoryManager.createSync({ size: 1024 * 1024 })
    const ptrs = Array.from({ length: 2000 }, (_, i) => {
      const ptr = mm.malloc(16 + (i % 50))
      mm.view(ptr).fill(i & 0xff)
      return ptr
    })
    const usage = mm.stats().currentUsage
    ptrs.forEach((ptr) => mm.protect(ptr, 1, Protection.Read))
    expect(mm.stats().currentUsage).toBe(usage)
    expect(mm.stats().liveBlocks).toBe(2000)
    expect(mm.leaks()).toHaveLength(2000)
    expect(() => mm.validate()).not.toThrow()
    new Uint8Array(mm.memory.buffer)[ptrs[1234] + 3] ^= 0xff
    expect(() => mm.validate()).toThrow(expect.objectContaining({ code: 'PROTECTION', ptr: ptrs[1234] }))
    ptrs.forEach((ptr) => mm.protect(ptr, 1, Protection.ReadWrite))
    ptrs.forEach((ptr) => mm.free(ptr))
    mm.trim()
    expect(mm.stats()).toMatchObject({ liveBlocks: 0, freeBlocks: 1 }) // the table's block went back too
    mm.validate()
  })
})

describe('protect with an interior pointer', () => {
  it('finds the holding block even when the bytes before the pointer pass for a header', () => {
    const mm = MemoryManager.createSync({ size: 64 * 1024 })
    const ptr = mm.malloc(256)
    const inner = ptr + 64
    // Forge what block.ts would take for a header at inner - 8: the right magic, an impossible size.
    const magic = ((Math.imul((inner - 8) >>> 3, 0x9e3779b1) >>> 16) ^ 0xa110) & 0xffff
    const words = new Uint32Array(mm.memory.buffer)
    words[(inner - 8) >> 2] = 0x7fff_fff1
    words[(inner - 4) >> 2] = (magic << 16) | 3
    mm.protect(inner, 8, Protection.Read) // the fuzzer met this at one address in 65,536
    expect(mm.protection(ptr)).toBe(Protection.Read)
  })
})
