// Seeded workloads: operation traces that every allocator in the benchmark replays exactly.
//
// A trace is an Int32Array of triples (op, slot, size): op MALLOC puts a new block of `size` bytes
// in `slot`, FREE frees the block in `slot`, REALLOC resizes it to `size`. Slots are indexes into a
// table of pointers each driver keeps. Traces never free an empty slot, so every peer can run them
// as they are; a driver whose allocation fails stops and says so.

import { seededRandom as seeded } from '../fuzz/random.js'

export const MALLOC = 0
export const FREE = 1
export const REALLOC = 2

export interface Workload {
  name: string
  description: string
  trace: Int32Array
  /** Operations in the trace. */
  operations: number
  /** Slots the trace uses. */
  slots: number
  /** Highest sum of requested bytes live at once. */
  peakLive: number
  /** FNV-1a of the trace, printed with every result: the same trace ran everywhere. */
  checksum: string
  /** Sum of all sizes requested: what a driver that ran the whole trace reports back. */
  requestedBytes: number
}

class TraceBuilder {
  private ops: number[] = []
  private sizes = new Map<number, number>()
  private live = 0
  peak = 0

  malloc(slot: number, size: number) {
    this.ops.push(MALLOC, slot, size)
    this.sizes.set(slot, size)
    this.live += size
    this.peak = Math.max(this.peak, this.live)
  }
  free(slot: number) {
    this.ops.push(FREE, slot, 0)
    this.live -= this.sizes.get(slot) ?? 0
    this.sizes.delete(slot)
  }
  realloc(slot: number, size: number) {
    this.ops.push(REALLOC, slot, size)
    this.live += size - (this.sizes.get(slot) ?? 0)
    this.sizes.set(slot, size)
    this.peak = Math.max(this.peak, this.live)
  }
  build(name: string, description: string, slots: number): Workload {
    const trace = Int32Array.from(this.ops)
    let hash = 0x811c9dc5
    let requested = 0
    for (let i = 0; i < trace.length; i++) {
      hash = Math.imul(hash ^ trace[i], 0x01000193) >>> 0
      if (i % 3 === 2) requested += trace[i]
    }
    return { name, description, trace, operations: trace.length / 3, slots, peakLive: this.peak, checksum: hash.toString(16).padStart(8, '0'), requestedBytes: requested }
  }
}

/** Sizes uniform in [low, high], drawn from `random`. */
export function uniformSizes(random: () => number, low: number, high: number): () => number {
  return () => low + Math.floor(random() * (high - low + 1))
}

/** Sizes log-uniform in [low, high) (as many small as large), drawn from `random`. */
export function logUniformSizes(random: () => number, low: number, high: number): () => number {
  const from = Math.log2(low)
  const span = Math.log2(high) - from
  return () => Math.floor(2 ** (from + random() * span))
}

/** Fills `live` slots, then each step frees a random block and allocates another; frees all at the end. */
export function churn(name: string, description: string, random: () => number, size: () => number, steps: number, live: number): Workload {
  const t = new TraceBuilder()
  for (let slot = 0; slot < live; slot++) t.malloc(slot, size())
  for (let i = 0; i < steps; i++) {
    const slot = Math.floor(random() * live)
    t.free(slot)
    t.malloc(slot, size())
  }
  for (let slot = 0; slot < live; slot++) t.free(slot)
  return t.build(name, description, live)
}

/** (1) Churn of small blocks: 8..256 bytes at 10,000 live. */
export function smallChurn(seed = 1, steps = 200_000, live = 10_000): Workload {
  const random = seeded(seed)
  return churn('small-churn', `8..256 B, ${live.toLocaleString('en-US')} live, random free + malloc`, random, uniformSizes(random, 8, 256), steps, live)
}

/**
 * small-churn's sizes with `live` blocks live, of which only `hot` (at slots spread over the whole
 * heap) are freed and allocated again: a program's working set held constant while the heap it lives
 * in grows, so that a scaling figure measures the allocator rather than the trace's own reach over
 * more memory than the processor's caches hold.
 */
export function workingSetChurn(seed: number, steps: number, live: number, hot: number): Workload {
  const random = seeded(seed)
  const size = uniformSizes(random, 8, 256)
  const t = new TraceBuilder()
  for (let slot = 0; slot < live; slot++) t.malloc(slot, size())
  const stride = live / hot
  for (let i = 0; i < steps; i++) {
    const slot = Math.floor(Math.floor(random() * hot) * stride)
    t.free(slot)
    t.malloc(slot, size())
  }
  for (let slot = 0; slot < live; slot++) t.free(slot)
  return t.build('working-set', `8..256 B, ${live.toLocaleString('en-US')} live, ${hot.toLocaleString('en-US')} of them churned`, live)
}

/** (2) Mixed sizes: 8 B .. 64 KiB, log-uniform (as many small as large), 1,000 live. */
export function mixedSizes(seed = 2, steps = 100_000): Workload {
  const random = seeded(seed)
  return churn('mixed-sizes', '8 B..64 KiB log-uniform, 1,000 live', random, logUniformSizes(random, 8, 65536), steps, 1_000)
}

/** (3) realloc: 1,000 live buffers that grow by half or shrink by a third at random. */
export function reallocGrowShrink(seed = 3, steps = 100_000): Workload {
  const random = seeded(seed)
  const t = new TraceBuilder()
  const live = 1_000
  const sizes = new Int32Array(live)
  for (let slot = 0; slot < live; slot++) {
    sizes[slot] = 16 + Math.floor(random() * 240)
    t.malloc(slot, sizes[slot])
  }
  for (let i = 0; i < steps; i++) {
    const slot = Math.floor(random() * live)
    const grow = sizes[slot] < 64 || (sizes[slot] < 16_384 && random() < 0.55)
    sizes[slot] = grow ? Math.ceil(sizes[slot] * 1.5) : Math.floor(sizes[slot] / 1.5)
    t.realloc(slot, sizes[slot])
  }
  for (let slot = 0; slot < live; slot++) t.free(slot)
  return t.build('realloc', 'realloc grow x1.5 / shrink /1.5, 1,000 live, 16 B..24 KiB', live)
}

/** (4) LIFO: allocate 1,000 blocks of 8..512 bytes, free them newest first; `rounds` times. */
export function lifo(seed = 4, rounds = 200): Workload {
  const random = seeded(seed)
  const t = new TraceBuilder()
  const depth = 1_000
  for (let round = 0; round < rounds; round++) {
    for (let slot = 0; slot < depth; slot++) t.malloc(slot, 8 + Math.floor(random() * 505))
    for (let slot = depth - 1; slot >= 0; slot--) t.free(slot)
  }
  return t.build('lifo', `1,000 blocks of 8..512 B pushed then popped, ${rounds} rounds`, depth)
}

/**
 * (5) Drain: 10,000 blocks of 8..256 bytes allocated, then all freed in a shuffled order (objects
 * that die in no order a stack would keep: a structure torn down); `rounds` times.
 */
export function drain(seed = 5, rounds = 30, live = 10_000): Workload {
  const random = seeded(seed)
  const size = uniformSizes(random, 8, 256)
  const t = new TraceBuilder()
  const order = Array.from({ length: live }, (_, i) => i)
  for (let round = 0; round < rounds; round++) {
    for (let slot = 0; slot < live; slot++) t.malloc(slot, size())
    for (let i = live - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1))
      ;[order[i], order[j]] = [order[j], order[i]]
    }
    for (const slot of order) t.free(slot)
  }
  return t.build('drain', `${live.toLocaleString('en-US')} blocks of 8..256 B allocated, then freed in a shuffled order, ${rounds} rounds`, live)
}

export function allWorkloads(): Workload[] {
  return [smallChurn(), mixedSizes(), reallocGrowShrink(), lifo(), drain()]
}
