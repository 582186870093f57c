// What validate() found, as a MemoryError that names the block and what was found against what
// was expected. Reasons mirror the FAULT_* constants of assembly/validate.ts.

import { MemoryError, type MemoryErrorCode } from './errors.js'
import { Protection } from './api.js'

const HEADER_SIZE = 8
const hex = (value: number) => `0x${value.toString(16)}`

interface FaultKind {
  code: MemoryErrorCode
  describe: (found: number, expected: number) => string
  /** The fault concerns one block (its header is at the fault address). */
  perBlock: boolean
}

const FAULTS: Record<number, FaultKind> = {
  1: { code: 'CORRUPTION', perBlock: true, describe: (f, e) => `header magic ${hex(f)}, expected ${hex(e)} (overwritten header?)` },
  2: { code: 'CORRUPTION', perBlock: true, describe: (f, e) => `block size ${f}, but at most ${e} bytes remain in the pool` },
  3: { code: 'CORRUPTION', perBlock: true, describe: (f, e) => `left-neighbour-free flag ${f}, expected ${e}` },
  4: { code: 'CORRUPTION', perBlock: true, describe: () => 'two free blocks side by side (they should have been merged)' },
  5: { code: 'CORRUPTION', perBlock: true, describe: (f, e) => `free block footer ${f}, expected its size ${e}` },
  6: { code: 'CORRUPTION', perBlock: false, describe: (f, e) => `blocks end at ${hex(f)}, expected the end of the pool at ${hex(e)}` },
  7: { code: 'CORRUPTION', perBlock: false, describe: () => 'a free-index link that does not lead to a free block in the pool (the index was rebuilt from the blocks)' },
  8: { code: 'CORRUPTION', perBlock: false, describe: (f, e) => `free index holds ${f} blocks, the heap has ${e} (the index was rebuilt from the blocks)` },
  9: { code: 'CORRUPTION', perBlock: false, describe: (f, e) => `free byte counter ${f}, blocks add up to ${e}` },
  10: { code: 'CORRUPTION', perBlock: false, describe: (f, e) => `live block counter ${f}, heap has ${e}` },
  11: { code: 'CORRUPTION', perBlock: false, describe: (f, e) => `current usage counter ${f}, live blocks add up to ${e}` },
  12: { code: 'PROTECTION', perBlock: true, describe: (f, e) => `the block was written while it was not writable (fingerprint ${hex(f)}, recorded ${hex(e)})` },
  13: { code: 'DESTROYED', perBlock: false, describe: () => 'the allocator has been destroyed' },
  14: { code: 'CORRUPTION', perBlock: true, describe: (f, e) => `red zone after the requested size overwritten: byte ${hex(f)}, expected ${hex(e)} (a write past the end of the block)` },
  16: { code: 'CORRUPTION', perBlock: false, describe: (f, e) => `a small-block cache list (block size ${f}) does not match the ${e} cached blocks (the caches were folded back into the free index)` },
  15: { code: 'CORRUPTION', perBlock: true, describe: (f, e) => `freed memory written after the free: byte ${hex(f)}, expected junk ${hex(e)} (a write after free)` },
  17: { code: 'CORRUPTION', perBlock: true, describe: (f, e) => `${f} bytes of slack after the requested size, where a block like it has at most ${e} (overwritten header?)` },
  18: { code: 'PROTECTION', perBlock: true, describe: (f, e) => `the block is ${protectionName(f)} and the call needs ${protectionName(e)}${e & Protection.Write ? ' (free, realloc, clear and write need Write: make it writable first)' : ''}` },
  19: { code: 'CORRUPTION', perBlock: true, describe: (f, e) => `free block's index node (the first 16 bytes of the freed payload) overwritten: ${f} where the index implies ${e} (a write after free; the index was rebuilt from the blocks)` },
  20: { code: 'CORRUPTION', perBlock: false, describe: (f, e) => `checks mode's quarantine list goes wrong after ${f} of its ${e} held blocks (a held block's first 4 payload bytes, its link, written after the free?); the held blocks were folded back into the free index` },
  21: { code: 'CORRUPTION', perBlock: true, describe: () => 'marked in use where a free block was expected (its used flag overwritten, or the flag, footer or link that says a free block is there)' },
  22: { code: 'CORRUPTION', perBlock: true, describe: () => 'its header was overwritten (reported when it was found) and the heap keeps the block out of use: it is never freed or handed out again, as its true size cannot be known' },
}

const protectionName = (value: number) => Protection[value] ?? String(value)

/** The MemoryError for a recorded fault; `ptr` is the pointer the call was given, if any. */
export function describeFault(reason: number, faultBlock: number, found: number, expected: number, ptr?: number): MemoryError {
  const kind = FAULTS[reason] ?? { code: 'CORRUPTION', perBlock: false, describe: () => `fault ${reason}` }
  if (kind.code === 'DESTROYED') return new MemoryError('DESTROYED')
  const block = kind.perBlock && faultBlock !== 0 ? faultBlock + HEADER_SIZE : undefined
  const where = block === undefined ? '' : `block ${block}: `
  return new MemoryError(kind.code, `${where}${kind.describe(found, expected)}`, {
    ptr: ptr ?? block,
    block,
    found,
    expected,
  })
}
