// checks mode and errors that help: each detection, with a test that fails without it.
import { describe, it, expect } from 'vitest'
import { MemoryManager, Protection } from '../../host/index.js'
import { thrown } from './helpers.js'

const checked = () => MemoryManager.createSync({ size: 64 * 1024, checks: true })

describe('checks mode: red zones', () => {
  it('usableSize equals the requested size', () => {
    const mm = checked()
    for (const size of [0, 1, 7, 8, 9, 100]) expect(mm.usableSize(mm.malloc(size))).toBe(size)
    expect(mm.view(mm.malloc(13)).length).toBe(13)
  })

  it('a write one byte past the requested size is caught on free, naming the block', () => {
    const mm = checked()
    const ptr = mm.malloc(13)
    new Uint8Array(mm.memory.buffer)[ptr + 13] = 0x41
    const error = thrown(() => mm.free(ptr))
    expect(error.code).toBe('CORRUPTION')
    expect(error.ptr).toBe(ptr)
    expect(error.block).toBe(ptr)
    expect(error.found).toBe(0x41)
    expect(error.expected).toBe(0xcb)
    expect(error.message).toMatch(/red zone/)
    expect(mm.stats().liveBlocks).toBe(1) // the free changed nothing
  })

  it('... and by validate() and realloc()', () => {
    const mm = checked()
    const ptr = mm.malloc(100)
    const other = mm.malloc(8)
    const bytes = new Uint8Array(mm.memory.buffer)
    bytes[ptr + 100] = 0
    expect(thrown(() => mm.validate())).toMatchObject({ code: 'CORRUPTION', block: ptr })
    expect(() => mm.validate()).not.toThrow() // reported once
    bytes[ptr + 101] = 0
    expect(thrown(() => mm.realloc(ptr, 200))).toMatchObject({ code: 'CORRUPTION', block: ptr })
    expect(other).not.toBe(0)
  })

  it('the checked accessors stop at the requested size', () => {
    const mm = checked()
    const ptr = mm.malloc(10)
    expect(thrown(() => mm.write(ptr, [1], 10)).code).toBe('OUT_OF_BOUNDS')
    expect(thrown(() => mm.read(ptr, 11)).code).toBe('OUT_OF_BOUNDS')
  })

  it('without checks the same overflow goes unseen (the control)', () => {
    const mm = MemoryManager.createSync({ size: 64 * 1024 })
    const ptr = mm.malloc(13)
    new Uint8Array(mm.memory.buffer)[ptr + 13] = 0x41
    mm.free(ptr)
    mm.validate()
  })
})

describe('checks mode: writes after free', () => {
  it('are reported when the memory is handed out again, once', () => {
    const mm = checked()
    const keep = mm.malloc(64)
    const ptr = mm.malloc(64)
    mm.malloc(64)
    mm.free(ptr)
    new Uint8Array(mm.memory.buffer)[ptr + 40] = 7 // use after free
    const error = thrown(() => mm.malloc(64))
    expect(error.code).toBe('CORRUPTION')
    expect(error.message).toMatch(/after the free/)
    expect(error.found).toBe(7)
    expect(error.expected).toBe(0xdd)
    expect(mm.malloc(64)).toBe(ptr) // reported once: the next malloc gets the block
    expect(keep).not.toBe(0)
  })

  it('are reported by a realloc that would grow into the written block, which then changes nothing', () => {
    const mm = checked()
    const grows = mm.malloc(64)
    const freed = mm.malloc(64)
    mm.malloc(64)
    mm.write(grows, [1, 2, 3])
    mm.free(freed)
    new Uint8Array(mm.memory.buffer)[freed + 40] = 7 // use after free
    expect(thrown(() => mm.realloc(grows, 100)).code).toBe('CORRUPTION') // in place: into `freed`
    expect(mm.usableSize(grows)).toBe(64)
    expect([...mm.read(grows, 3)]).toEqual([1, 2, 3])
  })

  it('into the first 16 bytes of the freed block (a freed struct\'s first fields) are reported too, by every hand-out', () => {
    // Those bytes hold the free index's node (links and largest-block figures), not junk; the top
    // (the free block at the pool's end) has no node and holds junk there. A write into them was
    // handed out unseen with the block.
    const hands = {
      'malloc': (mm: MemoryManager) => mm.malloc(64),
      'malloc (best-fit)': (mm: MemoryManager) => mm.malloc(64),
      'alignedAlloc': (mm: MemoryManager) => mm.alignedAlloc(16, 48),
      'realloc into it': (mm: MemoryManager, before: number) => mm.realloc(before, 130),
    }
    for (const [name, handOut] of Object.entries(hands)) {
      for (const atTop of [false, true]) {
        for (const offset of [0, 4, 8, 12]) {
          const mm = MemoryManager.createSync({ size: 64 * 1024, checks: true, policy: name.includes('best') ? 'best-fit' : 'first-fit' })
          const before = mm.malloc(64)
          const freed = mm.malloc(64)
          if (!atTop) mm.malloc(64)
          mm.free(freed)
          const bytes = new Uint8Array(mm.memory.buffer)
          bytes[freed + offset] ^= 0x5a // use after free
          const stats = mm.stats()
          const error = thrown(() => handOut(mm, before))
          expect(error.code, `${name}, ${atTop ? 'top' : 'indexed'}, +${offset}`).toBe('CORRUPTION')
          if (atTop || offset !== 8) expect(error.block, `${name}, +${offset}`).toBe(freed) // +8 (a figure the walk reads first) is named by the walk's report
          expect(mm.stats()).toMatchObject({ liveBlocks: stats.liveBlocks, allocationCount: stats.allocationCount, freeBytes: stats.freeBytes })
          expect(mm.usableSize(before)).toBe(64)
          expect(() => mm.validate()).not.toThrow() // reported once: the index laid anew, the junk again
          expect(handOut(mm, before)).not.toBe(0)
        }
      }
    }
  })

  it('are reported by validate()', () => {
    const mm = checked()
    const ptr = mm.malloc(200)
    mm.malloc(8)
    mm.free(ptr)
    new Uint8Array(mm.memory.buffer)[ptr + 150] = 1
    expect(thrown(() => mm.validate())).toMatchObject({ code: 'CORRUPTION', block: ptr })
    expect(() => mm.validate()).not.toThrow()
  })

  it('freed memory holds junk and fresh blocks come junk-filled (calloc zeroes)', () => {
    const mm = checked()
    const ptr = mm.malloc(32)
    expect([...mm.read(ptr, 32)].every((byte) => byte === 0xdd)).toBe(true)
    const zeroed = mm.calloc(4, 8)
    expect([...mm.read(zeroed, 32)].every((byte) => byte === 0)).toBe(true)
  })

  it('a free of a pointer into merged freed memory is a DOUBLE_FREE', () => {
    const mm = checked()
    const a = mm.malloc(32)
    const b = mm.malloc(32)
    mm.malloc(8)
    mm.free(a)
    mm.free(b) // merges into a's hole: b's header becomes junk
    expect(thrown(() => mm.free(b)).code).toBe('DOUBLE_FREE')
  })
})

describe('checks mode: validation on every free', () => {
  it('a corrupted header elsewhere stops the next free, which changes nothing', () => {
    const mm = checked()
    const a = mm.malloc(32)
    const b = mm.malloc(32)
    const c = mm.malloc(32)
    const bytes = new Uint8Array(mm.memory.buffer)
    bytes[c - 4] ^= 0x10 // c's header tag: its magic
    const error = thrown(() => mm.free(a))
    expect(error.code).toBe('CORRUPTION')
    expect(error.block).toBe(c)
    expect(mm.stats().liveBlocks).toBe(3)
    bytes[c - 4] ^= 0x10
    mm.free(a)
    expect(b).not.toBe(0)
  })
})

describe('checks mode: validateEvery', () => {
  it('between validations a free checks only its own block and neighbours', () => {
    const mm = MemoryManager.createSync({ size: 64 * 1024, checks: true, validateEvery: 3 })
    const blocks = Array.from({ length: 8 }, () => mm.malloc(32))
    mm.free(blocks[0]) // validates (clean): the count starts again at 3
    const c = blocks[7]
    const bytes = new Uint8Array(mm.memory.buffer)
    bytes[c - 1] ^= 0x10 // c's magic, far from the blocks freed next
    mm.free(blocks[2]) // 2 frees left: not validated, and not near c
    mm.free(blocks[4])
    const error = thrown(() => mm.free(blocks[5])) // the third since the last validation
    expect(error.code).toBe('CORRUPTION')
    expect(error.block).toBe(c)
    expect(mm.stats().liveBlocks).toBe(5) // the refused free changed nothing
    // Reported once: c is kept out of use (condemned, its free refused naming it), and the next
    // validation, due at once, finds the heap sound: the free goes through.
    mm.free(blocks[5])
    expect(mm.stats().liveBlocks).toBe(4)
    const refused = thrown(() => mm.free(c))
    expect(refused.block).toBe(c)
    expect(refused.message).toMatch(/header was overwritten/)
    expect(mm.validate().liveBlocks).toBe(4) // c among them, at its usable bytes
  })

  it('every free still checks its own red zone, whatever validateEvery says', () => {
    const mm = MemoryManager.createSync({ size: 64 * 1024, checks: true, validateEvery: 1000 })
    const keep = mm.malloc(8)
    mm.free(mm.malloc(8)) // the validation due at the first free, out of the way
    const ptr = mm.malloc(10)
    new Uint8Array(mm.memory.buffer)[ptr + 10] = 0 // one byte past the request
    const error = thrown(() => mm.free(ptr))
    expect(error.code).toBe('CORRUPTION')
    expect(error.block).toBe(ptr)
    expect(keep).not.toBe(0)
  })

  it('validateEvery is an integer from 1, and only with checks: true', () => {
    expect(() => MemoryManager.createSync({ validateEvery: 10 })).toThrow(TypeError)
    expect(() => MemoryManager.createSync({ checks: false, validateEvery: 10 })).toThrow(/checks: true/)
    for (const bad of [0, -1, 1.5, NaN, 2 ** 24]) expect(() => MemoryManager.createSync({ checks: true, validateEvery: bad })).toThrow(RangeError)
    expect(() => MemoryManager.createSync({ checks: true, validateEvery: '10' as unknown as number })).toThrow(TypeError)
    expect(MemoryManager.createSync({ checks: true, validateEvery: 2 ** 24 - 1 }).malloc(8)).not.toBe(0)
  })
})

describe('checks mode: quarantine', () => {
  const held = (quarantine: number) => MemoryManager.createSync({ size: 64 * 1024, checks: true, quarantine })

  it('a write through a dangling pointer is caught when its block leaves the quarantine; that free changes nothing', () => {
    const mm = held(4 * 80) // four blocks of 64-byte requests
    const keep = mm.malloc(64)
    const dangling = mm.malloc(64)
    expect(dangling - keep).toBe(80) // 8 header + 64 + at least 1 red-zone byte, in 8s
    mm.free(dangling)
    const next = mm.malloc(64)
    expect(next).not.toBe(dangling) // held: not handed straight back
    new Uint8Array(mm.memory.buffer)[dangling + 20] = 7 // use after free
    const others = Array.from({ length: 4 }, () => mm.malloc(64))
    for (const ptr of others.slice(0, 3)) mm.free(ptr) // the quarantine is full: 4 blocks held
    const live = mm.stats().liveBlocks
    const error = thrown(() => mm.free(others[3])) // makes room: the oldest, the dangling one, leaves
    expect(error.code).toBe('CORRUPTION')
    expect(error.block).toBe(dangling)
    expect(error.message).toMatch(/written after|after free|junk/i)
    expect(mm.stats().liveBlocks).toBe(live) // nothing freed
    mm.free(others[3]) // reported once: the junk laid again, the block leaves
    mm.validate()
    expect(keep).not.toBe(0)
  })

  it('stats() says how much the quarantine holds: counted as free, and back in the pool after trim()', () => {
    const mm = held(3 * 80)
    const ptrs = Array.from({ length: 5 }, () => mm.malloc(64))
    mm.malloc(8) // so that the last one freed does not merge with the free tail
    for (const ptr of ptrs) mm.free(ptr)
    const stats = mm.stats()
    expect(stats).toMatchObject({ heldBlocks: 3, heldBytes: 3 * 72 }) // the three freed last, 80-byte blocks less headers
    expect(stats.freeBlocks).toBe(3 + 2) // and the two that left, merged, and the tail
    mm.trim()
    expect(mm.stats()).toMatchObject({ heldBlocks: 0, heldBytes: 0, freeBlocks: 2 })
    mm.validate()
  })

  it('without a quarantine the freed block is handed straight back, and the same write lands in its new owner unseen (the control)', () => {
    const mm = held(0)
    mm.malloc(64)
    const dangling = mm.malloc(64)
    mm.free(dangling)
    const next = mm.malloc(64)
    expect(next).toBe(dangling)
    new Uint8Array(mm.memory.buffer)[dangling + 20] = 7
    mm.free(next)
    mm.validate()
  })

  it('a held block counts as free, is listed as free, and its second free is a DOUBLE_FREE', () => {
    const mm = held(64 * 1024)
    const ptr = mm.malloc(100)
    mm.malloc(8)
    const before = mm.stats()
    mm.free(ptr)
    const after = mm.stats()
    expect(after.liveBlocks).toBe(before.liveBlocks - 1)
    expect(after.freeBlocks).toBe(before.freeBlocks + 1)
    expect(after.freeBytes).toBe(before.freeBytes + mm.blocks().find((b) => b.ptr === ptr)!.size)
    expect(mm.blocks().find((b) => b.ptr === ptr)?.free).toBe(true)
    expect(thrown(() => mm.free(ptr)).code).toBe('DOUBLE_FREE')
    expect(mm.validate().freeBlocks).toBe(after.freeBlocks)
  })

  it('held blocks go back to the pool before a request would fail, and on trim()', () => {
    const mm = held(1 << 20) // more than the pool: everything freed is held
    const ptrs = Array.from({ length: 60 }, () => mm.malloc(1000))
    expect(ptrs.every((ptr) => ptr !== 0)).toBe(true)
    for (const ptr of ptrs) mm.free(ptr)
    expect(mm.stats().freeBlocks).toBeGreaterThan(50)
    const big = mm.malloc(50_000) // only the held blocks, coalesced, can give it
    expect(big).not.toBe(0)
    expect(mm.stats().failedAllocations).toBe(0)
    mm.free(big)
    mm.trim()
    expect(mm.stats().freeBlocks).toBe(1)
    mm.validate()
  })

  it('validate() and trim() report a write into a held block, naming it', () => {
    const mm = held(1 << 20)
    const a = mm.malloc(200)
    mm.malloc(8)
    mm.free(a)
    const bytes = new Uint8Array(mm.memory.buffer)
    bytes[a + 150] = 1
    expect(thrown(() => mm.validate())).toMatchObject({ code: 'CORRUPTION', block: a })
    mm.validate() // reported once
    bytes[a + 100] = 1
    expect(mm.malloc(200)).not.toBe(a) // still held
    expect(thrown(() => mm.trim())).toMatchObject({ code: 'CORRUPTION', block: a })
    mm.trim()
    expect(mm.malloc(200)).toBe(a) // it left: first-fit finds it again
  })

  it("a write into a held block's first fields is caught too (all but its first 4 bytes, the quarantine's link)", () => {
    for (const offset of [4, 8, 15, 100, 199]) {
      const mm = held(1 << 20)
      const a = mm.malloc(200)
      mm.malloc(8)
      mm.free(a)
      new Uint8Array(mm.memory.buffer)[a + offset] ^= 0x40
      expect(thrown(() => mm.validate()), `+${offset}`).toMatchObject({ code: 'CORRUPTION', block: a })
    }
  })

  it("a write into a held block's link breaks the quarantine's list: reported, and the held blocks go back to the pool", () => {
    const mm = held(1 << 20)
    const a = mm.malloc(200)
    mm.malloc(8)
    mm.free(a)
    new Uint8Array(mm.memory.buffer)[a + 1] ^= 0x40
    expect(thrown(() => mm.validate()).message).toMatch(/quarantine list goes wrong after 1 of its 1 held blocks/)
    mm.validate()
    expect(mm.malloc(200)).toBe(a) // folded back: first-fit finds it again
  })

  it('a realloc that moves holds the old place: a write through the old pointer is caught', () => {
    const mm = held(1 << 20)
    const old = mm.malloc(64)
    mm.malloc(8) // no growing in place
    const moved = mm.realloc(old, 4000)
    expect(moved).not.toBe(old)
    new Uint8Array(mm.memory.buffer)[old + 40] = 9
    expect(thrown(() => mm.validate())).toMatchObject({ code: 'CORRUPTION', block: old })
  })

  it('quarantine is a whole number of bytes, and only with checks: true', () => {
    expect(() => MemoryManager.createSync({ quarantine: 4096 })).toThrow(/checks: true/)
    for (const bad of [-1, 1.5, NaN, 2 ** 32]) expect(() => MemoryManager.createSync({ checks: true, quarantine: bad })).toThrow(RangeError)
    expect(() => MemoryManager.createSync({ checks: true, quarantine: '1' as unknown as number })).toThrow(TypeError)
    expect(MemoryManager.createSync({ checks: true, quarantine: 2 ** 32 - 1 }).malloc(8)).not.toBe(0)
  })
})

describe('errors that help', () => {
  it('an interior pointer names the block it falls in and the offset', () => {
    const mm = MemoryManager.createSync({ size: 4096 })
    const ptr = mm.malloc(100)
    const error = thrown(() => mm.free(ptr + 24))
    expect(error).toMatchObject({ code: 'INVALID_POINTER', ptr: ptr + 24, block: ptr, found: ptr + 24, expected: ptr })
    expect(error.message).toContain(`24 bytes into live block ${ptr} (100 bytes)`)
  })

  it('a pointer outside the pool says so', () => {
    const mm = MemoryManager.createSync({ size: 4096 })
    expect(thrown(() => mm.free(1 << 20)).message).toMatch(/not in this heap's pool/)
  })

  it('a double free names the block; a protection refusal names the protection', () => {
    const mm = MemoryManager.createSync({ size: 4096 })
    const ptr = mm.malloc(8)
    const ro = mm.malloc(8)
    mm.free(ptr)
    expect(thrown(() => mm.free(ptr))).toMatchObject({ code: 'DOUBLE_FREE', block: ptr, found: 'free', expected: 'live' })
    mm.protect(ro, 8, Protection.Read)
    expect(thrown(() => mm.free(ro)).message).toMatch(/Read/)
  })

  it('corruption names the block, what was found and what was expected', () => {
    const mm = MemoryManager.createSync({ size: 4096 })
    const a = mm.malloc(16)
    const b = mm.malloc(16)
    const words = new Uint32Array(mm.memory.buffer)
    words[(b - 8) >> 2] = 0x7ffffff9 // b's size word: far past the pool
    const error = thrown(() => mm.validate())
    expect(error).toMatchObject({ code: 'CORRUPTION', block: b, found: 0x7ffffff8 })
    expect(error.message).toMatch(/block size/)
    expect(a).not.toBe(0)
  })
})
