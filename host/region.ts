// An allocator inside a memory the user brings (the `memory` and `offset` options), so that the
// blocks it hands out are addresses another WebAssembly module over that memory can use directly:
// a buffer filled in JavaScript and passed to the module's functions as a pointer.
//
//    offset                                             offset + size        offset + maxSize
//    │ gap │ control block │ pool (blocks) ...           │ (growth, heap only) │
//          ▲ base: offset rounded up to 64
//
// Invariants:
//   - the allocator reads and writes only [offset, offset + maxSize) of that memory (its module has
//     no data segments and keeps every piece of state in the control block at `base`); the rest of
//     the memory, and the region itself before creation, are the user's;
//   - `size` counts the control block too (as TLSF's tlsf_create_with_pool takes its control
//     structure out of the bytes it is given), so the region's end is exactly offset + size;
//   - a region beyond the memory's current length is grown into at creation (memory.grow), and a
//     heap grows the memory again as its pool grows, never past offset + maxSize;
//   - the memory's sharedness picks the build (a module that imports a shared memory cannot link
//     to an unshared one, nor the other way round), so `shared` may be left out;
//   - a new allocator's region, up to offset + maxSize, overlaps no live allocator's that this
//     thread created in the same memory (claims, below).

/** The control block's alignment inside a region (region_start's, assembly/index.ts). */
export const CONTROL_ALIGNMENT = 64
const WASM_PAGE = 65536

export interface Region {
  memory: WebAssembly.Memory
  offset: number
}

/**
 * The `memory` and `offset` options, checked (`offset` already is a byte count): a Region, or
 * undefined when neither is given.
 */
export function resolveRegion(memory: unknown, offset: number | undefined): Region | undefined {
  if (memory === undefined) {
    if (offset !== undefined) throw new TypeError('offset applies to a memory you pass: give memory with it')
    return undefined
  }
  if (!(memory instanceof WebAssembly.Memory)) throw new TypeError('memory must be a WebAssembly.Memory')
  // No default: offset 0 would lay the allocator over the start of a memory that, brought by the
  // user, most likely holds another module's data there.
  if (offset === undefined) throw new TypeError('offset is required with memory: the first byte of the memory the allocator may use')
  return { memory, offset }
}

/** Whether a memory is shared: its buffer is a SharedArrayBuffer. */
export function isSharedMemory(memory: WebAssembly.Memory): boolean {
  return typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer
}

/** The `shared` option with a memory: it must say what the memory is, and may be left out. */
export function regionShared(region: Region, shared: unknown): boolean {
  const actual = isSharedMemory(region.memory)
  if (shared !== undefined && shared !== actual) {
    throw new TypeError(`shared: ${String(shared)} does not match the memory passed, which is ${actual ? '' : 'not '}shared`)
  }
  return actual
}

/** Where the control block of an allocator in `region` starts. */
export function regionBase(region: Region): number {
  return Math.ceil(region.offset / CONTROL_ALIGNMENT) * CONTROL_ALIGNMENT
}

/**
 * Readies `region` for an allocator of `size` bytes whose control block ends at `poolStart`: the
 * size must hold that block and `minPool` bytes of pool (RangeError naming the least size), the
 * region up to `claimEnd` must overlap no live allocator's (refuseOverlap), and the memory is grown
 * to hold it (coverRegion). The bytes the control block takes from the region's start.
 */
export function takeRegion(region: Region, kind: 'heap' | 'stack', size: number, poolStart: number, minPool: number, claimEnd: number): number {
  const controlBytes = poolStart - region.offset
  if (size < controlBytes + minPool) {
    throw new RangeError(`size must be at least ${controlBytes + minPool} bytes here: the ${kind}'s control block takes the region's first ${controlBytes}`)
  }
  refuseOverlap(region, claimEnd)
  coverRegion(region, region.offset + size)
  return controlBytes
}

/** What an allocator in a region is to its claim: something that lives there until destroyed. */
interface RegionOwner {
  readonly destroyed: boolean
}

interface Claim {
  start: number
  end: number
  owner: WeakRef<RegionOwner>
}

/**
 * The regions allocators were created in, by memory, in this thread. A region laid over a live
 * allocator's would wipe it (its control block written anew: every block it handed out lost) and
 * let both hand out the same bytes: a double creation at one offset, or offsets computed wrong.
 * Allocators created in other threads are not seen; destroyed and collected ones no longer count.
 */
const claims = new WeakMap<WebAssembly.Memory, Claim[]>()

function liveClaims(memory: WebAssembly.Memory): Claim[] {
  return (claims.get(memory) ?? []).filter((claim) => {
    const owner = claim.owner.deref()
    return owner !== undefined && !owner.destroyed
  })
}

/** RangeError when [offset, end) overlaps the region of a live allocator this thread created in the memory. */
function refuseOverlap(region: Region, end: number): void {
  for (const claim of liveClaims(region.memory)) {
    if (region.offset < claim.end && claim.start < end) {
      throw new RangeError(`the region [${region.offset}, ${end}) overlaps [${claim.start}, ${claim.end}) of this memory, where a live allocator is: destroy() it first, or pick another offset`)
    }
  }
}

/** Notes that `owner` lives in [offset, end) of the region's memory (see refuseOverlap). */
export function claimRegion(region: Region, end: number, owner: RegionOwner): void {
  claims.set(region.memory, [...liveClaims(region.memory), { start: region.offset, end, owner: new WeakRef(owner) }])
}

/**
 * Grows the region's memory, if need be, so that it reaches `end`; RangeError when it cannot. Threads
 * that make heaps in one shared memory at once each count the pages they ask for from the length they
 * saw, so one may be refused at the maximum while another's growth covered it, or nearly: a refusal
 * while the memory grew meanwhile is asked again, for what is still missing (as assembly/heap.ts
 * ensureMemory does).
 */
export function coverRegion(region: Region, end: number): void {
  for (;;) {
    const have = region.memory.buffer.byteLength
    if (end <= have) return
    try {
      region.memory.grow(Math.ceil((end - have) / WASM_PAGE))
      return
    } catch {
      if (region.memory.buffer.byteLength === have) {
        throw new RangeError(`the memory passed cannot grow to hold the region (to byte ${end}; it has ${have} bytes and may not grow that far)`)
      }
    }
  }
}
