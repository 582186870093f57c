// The fuzzer's engine: a seeded stream of every public heap operation, checked against a JS model of
// the live blocks. Used by `npm run fuzz` (fuzz/cli.ts) and by the test suite (a short run).
//
// What the model pins down, at every step: the pointers returned (aligned, never one that is live),
// what each call returns or throws (including the errors it should throw: double frees, interior
// pointers, protection refusals, a clear() refused while a block is unwritable), the contents of
// every live block (its own byte pattern; a block handed out twice or overlapping another breaks a
// pattern), contents kept through realloc, calloc zeroed, protection bits, and the statistics; now
// and then most blocks are freed in a burst, in no order. Every `validateEvery` operations:
// validate(), every pattern, blocks() and leaks() against the model.
//
// A stream is a pure function of (config, seed): a failure at operation N replays exactly, and
// shortestFailingPrefix() finds the first operation after which anything can be seen wrong.

import { MemoryManager, MemoryError, Protection, type Policy } from '../host/index.js'
import { seededRandom } from './random.js'

export interface FuzzConfig {
  policy: Policy
  checks: boolean
  growth: boolean
  /** The heap's default alignment (8 unless set): every malloc, calloc and realloc must keep it. */
  alignment?: number
  /** Unshared memory: growth detaches every old view of the buffer. */
  unshared?: boolean
  /** checks mode's quarantine in bytes (freed blocks held out of use); ignored without checks. */
  quarantine?: number
  /**
   * The heap in a memory of the fuzzer's own from this byte on (the `memory` and `offset` options),
   * the bytes below it marked: every audit checks they, and those past the region, are untouched.
   */
  region?: number
}

export interface FuzzResult {
  ok: boolean
  operations: number
  /** The operation at which the failure was seen (0-based), when not ok. */
  failedAt?: number
  message?: string
  counts: Record<string, number>
}

export const ALL_CONFIGS: FuzzConfig[] = (['first-fit', 'best-fit'] as Policy[]).flatMap((policy) =>
  [false, true].flatMap((checks) => [false, true].map((growth) => ({ policy, checks, growth }))),
)

export function configName(config: FuzzConfig): string {
  const alignment = (config.alignment ?? 8) !== 8 ? `+align${config.alignment}` : ''
  const quarantine = config.checks && config.quarantine ? `+quarantine${config.quarantine}` : ''
  const region = config.region !== undefined ? `+region${config.region}` : ''
  return `${config.policy}${config.checks ? '+checks' : ''}${config.growth ? '+growth' : ''}${alignment}${config.unshared ? '+unshared' : ''}${quarantine}${region}`
}

/** The byte the bytes below a region hold (FuzzConfig.region). */
const OUTSIDE_MARK = 0xa5

/** A memory for a heap at `offset`, sized to grow into as the heap grows, marked below `offset`. */
function regionMemory(offset: number, size: number, shared: boolean): WebAssembly.Memory {
  const memory = new WebAssembly.Memory({ initial: Math.ceil((offset + size) / 65536), maximum: 65536, shared })
  new Uint8Array(memory.buffer, 0, offset).fill(OUTSIDE_MARK)
  return memory
}

/** The first byte outside [offset, end) a heap there changed, or -1: below, the mark; past, zero. */
function changedOutside(memory: WebAssembly.Memory, offset: number, end: number): number {
  const bytes = new Uint8Array(memory.buffer)
  for (let i = 0; i < offset; i++) if (bytes[i] !== OUTSIDE_MARK) return i
  for (let i = end; i < bytes.length; i++) if (bytes[i] !== 0) return i
  return -1
}

class Mismatch extends Error {}

const patternByte = (tag: number, index: number) => (tag * 131 + index * 7 + 1) & 0xff

interface Block {
  size: number
  tag: number
  prot: Protection
}

const PROTECTIONS = [0, 1, 2, 3, 4, 5, 6, 7] as Protection[]

/**
 * Runs `operations` operations of the stream (config, seed); never throws, reports instead.
 * `sabotage` may break the manager on purpose, to show that the model notices (tests only).
 */
export function runStream(config: FuzzConfig, seed: number, operations: number, validateEvery = 1000, sabotage?: (mm: MemoryManager) => void, validateFrom = 0): FuzzResult {
  const random = seededRandom(seed)
  const int = (low: number, high: number) => low + Math.floor(random() * (high - low + 1))
  const size = () => {
    const kind = random()
    return kind < 0.7 ? int(0, 128) : kind < 0.95 ? int(129, 2048) : int(2049, 24_000)
  }
  const alignment = config.alignment ?? 8
  const poolSize = 192 * 1024
  const maxSize = config.growth ? 768 * 1024 : poolSize
  const memory = config.region !== undefined ? regionMemory(config.region, poolSize, !config.unshared) : undefined
  const mm = MemoryManager.createSync({
    size: poolSize,
    maxSize,
    memory,
    offset: config.region,
    policy: config.policy,
    checks: config.checks,
    alignment,
    shared: config.unshared ? false : undefined,
    quarantine: config.checks && config.quarantine ? config.quarantine : undefined,
  })
  sabotage?.(mm)
  const live = new Map<number, Block>()
  const stats = { totalAllocated: 0, totalFreed: 0, currentUsage: 0, peakUsage: 0, allocationCount: 0, freeCount: 0, failedAllocations: 0 }
  const counts: Record<string, number> = {}
  let nextTag = 1
  let step = 0

  const fail = (message: string): never => {
    throw new Mismatch(message)
  }
  const check = (condition: boolean, message: string) => {
    if (!condition) fail(message)
  }
  const expectError = (call: () => unknown, code: string, what: string) => {
    try {
      call()
    } catch (error) {
      if (error instanceof MemoryError && error.code === code) return
      fail(`${what}: expected ${code}, got ${error instanceof MemoryError ? error.code : String(error)}`)
    }
    fail(`${what}: expected ${code}, got no error`)
  }
  const intact = (ptr: number, block: Block) => {
    const view = mm.view(ptr, block.size)
    for (let i = 0; i < block.size; i++) if (view[i] !== patternByte(block.tag, i)) return false
    return true
  }
  const fillBlock = (ptr: number, block: Block) => {
    const view = mm.view(ptr, block.size) // raw: allowed here, the model only writes writable blocks
    for (let i = 0; i < block.size; i++) view[i] = patternByte(block.tag, i)
  }
  const adopt = (ptr: number, bytes: number, alignedTo: number, what: string, prot = Protection.ReadWrite) => {
    check(ptr % alignedTo === 0, `${what} returned ${ptr}, not aligned to ${alignedTo}`)
    check(!live.has(ptr), `${what} returned ${ptr}, which is live`)
    check(mm.usableSize(ptr) >= bytes, `${what}: usableSize below the request`)
    if (config.checks) check(mm.usableSize(ptr) === bytes, `${what}: usableSize is not the request in checks mode`)
    check(mm.protection(ptr) === prot, `${what}: the block is ${Protection[mm.protection(ptr)]}, expected ${Protection[prot]}`)
    const block = { size: bytes, tag: nextTag++, prot }
    fillBlock(ptr, block)
    live.set(ptr, block)
    stats.totalAllocated += bytes
    stats.allocationCount++
    stats.currentUsage += bytes
    stats.peakUsage = Math.max(stats.peakUsage, stats.currentUsage)
  }
  const forget = (ptr: number, block: Block) => {
    live.delete(ptr)
    stats.totalFreed += block.size
    stats.freeCount++
    stats.currentUsage -= block.size
  }
  const pick = (): [number, Block] => {
    const index = Math.floor(random() * live.size)
    let i = 0
    for (const entry of live) if (i++ === index) return entry
    return fail('picked from an empty model')
  }
  const makeWritable = (ptr: number, block: Block) => {
    if ((block.prot & Protection.Write) === 0) {
      mm.protect(ptr, 0, Protection.ReadWrite)
      block.prot = Protection.ReadWrite
    }
  }
  /** writeString/readString on a block, then its pattern laid again (the model keeps patterns). */
  const strings = (ptr: number, block: Block) => {
    const text = 'é✓'.repeat(int(0, 3)) + String(step)
    const bytes = new TextEncoder().encode(text).length
    const usable = mm.usableSize(ptr)
    const canRead = (block.prot & Protection.Read) !== 0
    if ((block.prot & Protection.Write) === 0) {
      expectError(() => mm.writeString(ptr, text), 'PROTECTION', `writeString to ${Protection[block.prot]} block`)
      return
    }
    if (bytes + 1 > usable) {
      expectError(() => mm.writeString(ptr, text), 'OUT_OF_BOUNDS', 'writeString that does not fit')
      return
    }
    mm.writeString(ptr, text)
    if (canRead) check(mm.readString(ptr) === text, `readString(${ptr}) does not give back what writeString wrote`)
    else expectError(() => mm.readString(ptr), 'PROTECTION', `readString of ${Protection[block.prot]} block`)
    fillBlock(ptr, block)
    // Past the string the bytes are the block's own, and the NUL was overwritten: no NUL inside
    // unless the pattern has one, so only check readString's answer when it finds none.
    if (canRead && !mm.view(ptr, usable).includes(0)) expectError(() => mm.readString(ptr), 'OUT_OF_BOUNDS', 'readString with no NUL inside')
  }
  const failed = () => {
    stats.failedAllocations++
  }
  const audit = () => {
    mm.validate()
    const actual = mm.stats()
    for (const [key, value] of Object.entries(stats)) {
      check(actual[key as keyof typeof stats] === value, `stats.${key} is ${actual[key as keyof typeof stats]}, the model says ${value}`)
    }
    check(actual.liveBlocks === live.size, `stats.liveBlocks is ${actual.liveBlocks}, the model has ${live.size}`)
    for (const [ptr, block] of live) check(intact(ptr, block), `block ${ptr} (${block.size} bytes) was overwritten`)
    const listed = mm.blocks().filter((b) => !b.free)
    check(listed.length === live.size, `blocks() lists ${listed.length} live blocks, the model has ${live.size}`)
    for (const b of listed) {
      const block = live.get(b.ptr)
      check(block !== undefined && block.size === b.size && block.prot === b.protection, `blocks() entry ${b.ptr} does not match the model`)
    }
    check(mm.leaks().length === live.size, 'leaks() does not list every live block')
    if (memory) {
      const changed = changedOutside(memory, config.region!, config.region! + maxSize)
      check(changed < 0, `byte ${changed}, outside the region [${config.region}, ${config.region! + maxSize}), was changed`)
    }
  }

  try {
    for (step = 0; step < operations; step++) {
      const op = random()
      const grow = live.size < 300
      let name: string
      if (live.size === 0 || op < (grow ? 0.42 : 0.3)) {
        const kind = random()
        const bytes = size()
        if (kind < 0.7) {
          name = 'malloc'
          const ptr = mm.malloc(bytes)
          if (ptr === 0) failed()
          else adopt(ptr, bytes, alignment, `malloc(${bytes})`)
        } else if (kind < 0.85) {
          name = 'calloc'
          const count = int(0, 8)
          const each = Math.ceil(bytes / Math.max(count, 1))
          const ptr = mm.calloc(count, each)
          if (ptr === 0) failed()
          else {
            check(mm.view(ptr, count * each).every((byte) => byte === 0), `calloc(${count}, ${each}) is not zeroed`)
            adopt(ptr, count * each, alignment, `calloc(${count}, ${each})`)
          }
        } else {
          name = 'alignedAlloc'
          const requested = 2 ** int(3, 12)
          const ptr = mm.alignedAlloc(requested, bytes)
          if (ptr === 0) failed()
          else adopt(ptr, bytes, requested, `alignedAlloc(${requested}, ${bytes})`)
        }
      } else if (op < 0.62) {
        name = 'free'
        const [ptr, block] = pick()
        check(intact(ptr, block), `block ${ptr} was overwritten before its free`)
        if ((block.prot & Protection.Write) === 0) {
          expectError(() => mm.free(ptr), 'PROTECTION', `free of ${Protection[block.prot]} block`)
          makeWritable(ptr, block)
        }
        mm.free(ptr)
        forget(ptr, block)
        if (random() < 0.05) expectError(() => mm.free(ptr), 'DOUBLE_FREE', 'second free')
      } else if (op < 0.75) {
        name = 'realloc'
        const [ptr, block] = pick()
        makeWritable(ptr, block)
        const bytes = random() < 0.05 ? 0 : size()
        const moved = mm.realloc(ptr, bytes)
        if (bytes === 0) {
          check(moved === 0, 'realloc(p, 0) did not return 0')
          forget(ptr, block)
        } else if (moved === 0) {
          failed()
          check(intact(ptr, block), 'a failed realloc changed the block')
        } else {
          const kept = Math.min(bytes, block.size)
          const view = mm.view(moved, kept)
          for (let i = 0; i < kept; i++) if (view[i] !== patternByte(block.tag, i)) fail(`realloc(${ptr}, ${bytes}) lost byte ${i}`)
          forget(ptr, block)
          adopt(moved, bytes, alignment, `realloc(${ptr}, ${bytes})`, block.prot) // the protection travels
        }
      } else if (op < 0.83) {
        name = 'protect'
        const [ptr, block] = pick()
        const prot = PROTECTIONS[int(0, 7)]
        const offset = block.size > 0 ? int(0, block.size - 1) : 0
        let refused = false
        try {
          mm.protect(ptr + offset, block.size > 0 ? 1 : 0, prot) // any range inside: the whole block
        } catch (error) {
          // A block that loses Write gets a fingerprint, in a table the pool must find room for.
          if (!(error instanceof MemoryError && error.code === 'OUT_OF_MEMORY')) throw error
          check((block.prot & Protection.Write) !== 0 && (prot & Protection.Write) === 0, `OUT_OF_MEMORY from protect(${Protection[block.prot]} -> ${Protection[prot]}), which records no fingerprint`)
          check(mm.protection(ptr) === block.prot, 'a protect refused for want of room changed the protection')
          refused = true
          name = 'protect-refused'
        }
        if (!refused) {
          block.prot = prot
          check(mm.isProtected(ptr, prot), 'isProtected does not report the protection just set')
          expectError(() => mm.protect(ptr, mm.usableSize(ptr) + 1, prot), 'OUT_OF_BOUNDS', 'protect past the block')
        }
      } else if (op < 0.93) {
        name = 'access'
        const [ptr, block] = pick()
        const offset = int(0, Math.max(0, block.size - 1))
        const length = block.size === 0 ? 0 : int(1, block.size - offset)
        if (block.prot & Protection.Read) {
          const bytes = mm.read(ptr, length, offset)
          for (let i = 0; i < length; i++) if (bytes[i] !== patternByte(block.tag, offset + i)) fail(`read(${ptr}) saw a changed byte`)
        } else expectError(() => mm.read(ptr, length, offset), 'PROTECTION', `read of ${Protection[block.prot]} block`)
        const data = Array.from({ length }, (_, i) => patternByte(block.tag, offset + i))
        if (block.prot & Protection.Write) mm.write(ptr, data, offset)
        else expectError(() => mm.write(ptr, data, offset), 'PROTECTION', `write to ${Protection[block.prot]} block`)
        expectError(() => mm.read(ptr, mm.usableSize(ptr) + 1), (block.prot & Protection.Read) ? 'OUT_OF_BOUNDS' : 'PROTECTION', 'read past the block')
        strings(ptr, block)
      } else if (op < 0.97) {
        name = 'bad-pointer'
        const [ptr] = pick()
        expectError(() => mm.free(ptr + 4), 'INVALID_POINTER', 'free of a misaligned interior pointer')
        expectError(() => mm.realloc(ptr + 4, 8), 'INVALID_POINTER', 'realloc of a misaligned interior pointer')
      } else if (op < 0.995) {
        name = 'stats'
        const actual = mm.stats()
        check(actual.currentUsage === stats.currentUsage, 'currentUsage differs from the model')
        check(actual.fragmentation >= 0 && actual.fragmentation <= 100, 'fragmentation out of range')
      } else if (op < 0.9965) {
        // A burst of frees in no order (a structure torn down): pending blocks past the caches' pause.
        name = 'teardown'
        const victims = [...live].filter(() => random() < 0.8)
        for (const [ptr, block] of victims) {
          makeWritable(ptr, block)
          mm.free(ptr)
          forget(ptr, block)
        }
      } else if (op < 0.998) {
        name = 'clear'
        const unwritable = [...live].filter(([, block]) => (block.prot & Protection.Write) === 0)
        if (unwritable.length > 0) {
          let refused: unknown
          try {
            mm.clear()
          } catch (error) {
            refused = error
          }
          check(refused instanceof MemoryError && refused.code === 'PROTECTION', `clear() with ${unwritable.length} unwritable blocks: expected PROTECTION, got ${String(refused)}`)
          const named = (refused as MemoryError).ptr
          check(unwritable.some(([ptr]) => ptr === named), `clear()'s PROTECTION names ${named}, not an unwritable block`)
          check(mm.stats().liveBlocks === live.size, 'a refused clear() freed blocks')
          for (const [ptr, block] of unwritable) makeWritable(ptr, block)
        }
        const poolSize = mm.stats().poolSize
        mm.clear()
        for (const [ptr, block] of [...live]) forget(ptr, block)
        const after = mm.stats()
        check(after.liveBlocks === 0 && after.freeBlocks === 1 && after.largestFreeBlock === after.freeBytes, 'clear() did not leave the pool one free block')
        check(after.poolSize === poolSize, `clear() changed the pool's size from ${poolSize} to ${after.poolSize}`)
      } else {
        name = 'resetStats'
        mm.resetStats()
        Object.assign(stats, { totalAllocated: 0, totalFreed: 0, allocationCount: 0, freeCount: 0, failedAllocations: 0, peakUsage: stats.currentUsage })
      }
      counts[name] = (counts[name] ?? 0) + 1
      if ((step + 1) % validateEvery === 0 && step >= validateFrom) audit()
    }
    audit()
    return { ok: true, operations, counts }
  } catch (error) {
    const message = error instanceof Mismatch ? error.message : `${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`
    return { ok: false, operations, failedAt: step, message, counts }
  }
}

/**
 * The smallest number of operations of (config, seed) after which a failure can be seen: the run
 * again, audited after every operation of the window in which it was found (`validateEvery` wide).
 */
export function shortestFailingPrefix(config: FuzzConfig, seed: number, failedAt: number, validateEvery = 1000): number {
  const result = runStream(config, seed, failedAt + 1, 1, undefined, Math.max(0, failedAt - validateEvery))
  return result.ok ? failedAt + 1 : (result.failedAt ?? failedAt) + 1
}
