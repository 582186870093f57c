// The benchmark's other figures: the stack allocator on the LIFO trace, allocations freed together by
// clear(), what fingerprinting costs per KiB protected, and aggregate throughput with 1, 2 and 4
// worker threads on one pool.

import { Worker } from 'node:worker_threads'
import { Bench } from 'tinybench'
import { MemoryManager, StackAllocator, Protection, HeapGroup, type HeapGroupHandle } from '../host/index.js'
import { instantiateOver } from '../host/load.js'
import { readFileSync } from 'node:fs'
import { MALLOC, type Workload } from './workloads.js'
import type { Row } from './run.js'
import { seededRandom } from '../fuzz/random.js'

async function medianNs(count: number, fn: () => void, setup?: () => void): Promise<{ median: number; min: number; max: number }> {
  const bench = new Bench({ iterations: count, time: 0, warmupIterations: 1, warmupTime: 0, throws: true })
  bench.add('task', fn, setup ? { beforeEach: setup } : {})
  await bench.run()
  const latency = (bench.tasks[0].result as unknown as { latency: { p50?: number; min: number; max: number } }).latency
  return { median: latency.p50! * 1e6, min: latency.min * 1e6, max: latency.max * 1e6 }
}

/** The LIFO trace on the stack allocator: through the API, in a wasm loop, and the bare JS loop. */
export async function stackRows(workload: Workload, runs: number): Promise<Row[]> {
  const trace = workload.trace
  const operations = workload.operations
  let st: StackAllocator
  let sink = 0
  const api = await medianNs(runs, () => {
    for (let i = 0; i < operations; i++) {
      if (trace[3 * i] === MALLOC) sink ^= st.push(trace[3 * i + 2])
      else st.pop()
    }
  }, () => { st = StackAllocator.createSync({ size: 1 << 20 }) })
  const bare = await medianNs(runs, () => {
    for (let i = 0; i < operations; i++) sink ^= trace[3 * i] === MALLOC ? trace[3 * i + 2] : 1
  })
  const module = new WebAssembly.Module(readFileSync(new URL('../build/bench/ours.wasm', import.meta.url)))
  let replay: () => number = () => 0
  /** The trace replayed inside wasm: by one thread alone (as StackAllocator.create), or shared (the lock taken). */
  const inWasm = (locked: boolean) => medianNs(runs, () => { sink ^= replay() }, () => {
    const pages = Math.ceil((64 * 1024 + trace.byteLength + (2 << 20)) / 65536) // statics, the trace, the stack
    const memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true })
    const wasm = instantiateOver(module, memory) as ReturnType<typeof instantiateOver> & { replay_stack(stack: number, trace: number, operations: number): number }
    if (!locked) wasm.instance_set_sole_thread(1)
    const traceAt = wasm.region_start() >>> 0
    const stack = Math.ceil((traceAt + trace.byteLength) / 64) * 64
    new Int32Array(memory.buffer, traceAt, trace.length).set(trace)
    wasm.stack_init(stack, 1 << 20, 8)
    replay = () => wasm.replay_stack(stack, traceAt, operations)
  })
  const sole = await inWasm(false)
  const shared = await inWasm(true)
  if (sink === 0.5) console.log(sink) // keeps the loops from being optimised away
  const perOp = (ns: number) => ns / operations
  return [
    { workload: 'ns/op', peer: 'stack push/pop', mode: 'JS → API', median: perOp(api.median), min: perOp(api.min), max: perOp(api.max), note: `LIFO trace, ${operations.toLocaleString('en-US')} operations` },
    { workload: 'ns/op', peer: 'stack push/pop', mode: 'in-wasm loop', median: perOp(sole.median), min: perOp(sole.min), max: perOp(sole.max), note: 'one thread: no lock' },
    { workload: 'ns/op', peer: 'stack push/pop, shared', mode: 'in-wasm loop', median: perOp(shared.median), min: perOp(shared.min), max: perOp(shared.max), note: 'a stack other threads may use: each op takes the lock' },
    { workload: 'ns/op', peer: 'the trace loop alone', mode: 'JS', median: perOp(bare.median), min: perOp(bare.min), max: perOp(bare.max), note: 'what the API loop costs without the allocator' },
  ]
}

/**
 * Allocations that all end together (a frame, a request): 10,000 blocks of 8..256 bytes through the
 * API, then freed one by one (in a shuffled order, as objects die) or all at once by clear().
 * ns per block, the mallocs included.
 */
export async function clearRows(runs: number): Promise<Row[]> {
  const blocks = 10_000
  const random = seededRandom(7)
  const sizes = Array.from({ length: blocks }, () => 8 + Math.floor(random() * 249))
  const order = Array.from({ length: blocks }, (_, i) => i)
  for (let i = blocks - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    ;[order[i], order[j]] = [order[j], order[i]]
  }
  const ptrs = new Array<number>(blocks)
  // One heap for every round, as a program reuses its heap frame after frame (a fresh one each
  // round would time the operating system's first touch of its pages).
  const mm = MemoryManager.createSync({ size: 4 << 20 })
  const eachFreed = await medianNs(Math.max(runs, 20), () => {
    for (let i = 0; i < blocks; i++) ptrs[i] = mm.malloc(sizes[i])
    for (let i = 0; i < blocks; i++) mm.free(ptrs[order[i]])
  })
  const cleared = await medianNs(Math.max(runs, 20), () => {
    for (let i = 0; i < blocks; i++) ptrs[i] = mm.malloc(sizes[i])
    mm.clear()
  })
  const perBlock = (ns: number) => ns / blocks
  const note = `10,000 blocks of 8..256 B: malloc each, then`
  return [
    { workload: 'ns/block', peer: 'arena: malloc, free each', mode: 'JS → API', median: perBlock(eachFreed.median), min: perBlock(eachFreed.min), max: perBlock(eachFreed.max), note: `${note} free each (shuffled)` },
    { workload: 'ns/block', peer: 'arena: malloc, clear()', mode: 'JS → API', median: perBlock(cleared.median), min: perBlock(cleared.min), max: perBlock(cleared.max), note: `${note} one clear(): ${(eachFreed.median / cleared.median).toFixed(2)}x faster` },
  ]
}

/** protect(Read) then protect(ReadWrite): two fingerprints of the block. ns per KiB fingerprinted. */
export async function fingerprintRows(runs: number): Promise<Row[]> {
  const rows: Row[] = []
  for (const kib of [1, 64, 1024]) {
    const mm = MemoryManager.createSync({ size: 4 << 20 })
    const ptr = mm.malloc(kib * 1024)
    mm.view(ptr).fill(7)
    const result = await medianNs(Math.max(runs, 20), () => {
      mm.protect(ptr, 1, Protection.Read)
      mm.protect(ptr, 1, Protection.ReadWrite)
    })
    const perKiB = (ns: number) => ns / (2 * kib)
    rows.push({ workload: 'ns per KiB', peer: `fingerprint of a ${kib} KiB block`, mode: 'protect', median: perKiB(result.median), min: perKiB(result.min), max: perKiB(result.max), note: 'protect(Read) + protect(ReadWrite): two fingerprints' })
  }
  return rows
}

/** Aggregate malloc+free throughput of 1, 2 and 4 workers on one pool, against one thread. */
export async function threadRows(quick: boolean): Promise<Row[]> {
  const operationsEach = quick ? 50_000 : 400_000
  const rows: Row[] = []
  let single = 0
  for (const workers of [1, 2, 4]) {
    const samples: number[] = []
    for (let round = 0; round < (quick ? 1 : 3); round++) {
      const mm = MemoryManager.createSync({ size: 16 << 20 })
      const started = await runWorkers(mm, workers, operationsEach)
      samples.push(started)
    }
    samples.sort((a, b) => a - b)
    const opsPerSecond = samples[Math.floor(samples.length / 2)]
    if (workers === 1) single = opsPerSecond
    rows.push({ workload: 'M ops/s', peer: `${workers} worker(s) on one heap`, mode: 'JS → API', median: opsPerSecond / 1e6, min: samples[0] / 1e6, max: samples[samples.length - 1] / 1e6, note: `${(opsPerSecond / single).toFixed(2)}x one thread; ${operationsEach.toLocaleString('en-US')} malloc/free each` })
  }
  // The other way to use threads: a HeapGroup, a heap per worker in one shared memory, so every
  // pointer means the same bytes in every thread while no operation waits for another's lock.
  for (const workers of [2, 4]) {
    const samples: number[] = []
    for (let round = 0; round < (quick ? 1 : 3); round++) {
      const group = HeapGroup.createSync({ heaps: workers, size: 4 << 20 })
      samples.push(await runWorkers(undefined, workers, operationsEach, group.handle))
    }
    samples.sort((a, b) => a - b)
    const opsPerSecond = samples[Math.floor(samples.length / 2)]
    rows.push({ workload: 'M ops/s', peer: `${workers} workers, a heap each (HeapGroup)`, mode: 'JS → API', median: opsPerSecond / 1e6, min: samples[0] / 1e6, max: samples[samples.length - 1] / 1e6, note: `${(opsPerSecond / single).toFixed(2)}x one thread on one heap` })
  }
  return rows
}

/** M malloc/free a second of `count` workers on `mm`, or each on its heap of `group`. */
function runWorkers(mm: MemoryManager | undefined, count: number, operations: number, group?: HeapGroupHandle): Promise<number> {
  return new Promise((resolve, reject) => {
    const workers = Array.from({ length: count }, (_, id) => new Worker(new URL('./thread-worker.mjs', import.meta.url), { workerData: { handle: mm?.handle, group, index: id, operations, seed: id + 1 } }))
    let ready = 0
    let finished = 0
    let startedAt = 0
    for (const worker of workers) {
      worker.on('error', reject)
      worker.on('message', (message: string) => {
        if (message === 'ready' && ++ready === count) {
          startedAt = performance.now()
          for (const w of workers) w.postMessage('go')
        } else if (message === 'done' && ++finished === count) {
          const seconds = (performance.now() - startedAt) / 1000
          for (const w of workers) void w.terminate()
          resolve((count * operations) / seconds)
        }
      })
    }
  })
}
