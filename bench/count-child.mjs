// The child of bench/instructions.ts, run under valgrind: replays a trace file `reps` times on a
// fresh heap each time, inside wasm, and nothing else (plain JavaScript: no TypeScript loader to count).
// The module is a bench build of this allocator or of a peer (build/bench/tlsf.wasm, dlmalloc.wasm).
//
//   node count-child.mjs <module.wasm> <trace file> <slots> <reps> <caches: 1|0> [<fill>:<churn>]
//
// With <fill>:<churn> each replay runs the trace's first <fill> operations and then the next <churn>
// (0 for none): the scaling figures count the churn at a given number of live blocks alone. With
// STACK=1 in the environment, this allocator's stack replays the trace instead (a LIFO trace: its
// mallocs pushed, its frees popping the newest block).
import { readFileSync } from 'node:fs'

const [file, traceFile, slotsArg, repsArg, cachesArg, rangeArg] = process.argv.slice(2)
const trace = new Int32Array(new Uint8Array(readFileSync(traceFile)).buffer)
const [fill, churn] = rangeArg ? rangeArg.split(':').map(Number) : [trace.length / 3, 0]
const operations = fill + churn
const PAGE = 65536
const START_POOL = 65536
const GROWTH_LIMIT = 1 << 30
const module = new WebAssembly.Module(readFileSync(file))
const exportNames = WebAssembly.Module.exports(module).map((e) => e.name)

if (exportNames.includes('heap_init')) {
  // This allocator's bench build: the trace below the heap, in one shared memory (as bench/peers.ts sets it up).
  const memory = new WebAssembly.Memory({ initial: 1, maximum: GROWTH_LIMIT / PAGE, shared: true })
  const wasm = new WebAssembly.Instance(module, { env: { memory, lockWait() {}, abort() { throw new Error('abort') } } }).exports
  wasm.instance_set_sole_thread?.(1)
  const traceAt = wasm.region_start() >>> 0
  const slotsAt = traceAt + trace.byteLength
  const heap = Math.ceil((slotsAt + Number(slotsArg) * 4) / 64) * 64
  const need = wasm.heap_pool_start_for(heap, 8) + START_POOL
  memory.grow(Math.ceil(need / PAGE) - memory.buffer.byteLength / PAGE)
  new Int32Array(memory.buffer, traceAt, trace.length).set(trace)
  for (let rep = 0; rep < Number(repsArg); rep++) {
    if (process.env.STACK === '1') {
      if (wasm.stack_init(heap, GROWTH_LIMIT / 4, 8) !== 0) throw new Error('stack_init failed')
      if (wasm.replay_stack(heap, traceAt, operations) >>> 0 !== operations) throw new Error('the trace stopped')
      continue
    }
    if (wasm.heap_init(heap, START_POOL, GROWTH_LIMIT - need - PAGE, 8, 0, cachesArg === '1' ? 0 : 2 /* OPTION_NO_CACHES */) !== 0) throw new Error('heap_init failed')
    if (wasm.replay_heap(heap, traceAt, operations, slotsAt) >>> 0 !== operations) throw new Error('the trace stopped')
  }
} else {
  // A peer (bench/build-peers.sh): TLSF exports alloc, dlmalloc bench_malloc (and needs WASI); a
  // fresh instance each replay, the trace and slots allocated from its own heap (as bench/peers.ts).
  const { WASI } = await import('node:wasi')
  for (let rep = 0; rep < Number(repsArg); rep++) {
    let wasm
    if (exportNames.includes('alloc')) {
      wasm = new WebAssembly.Instance(module, { env: { abort() { throw new Error('abort') } } }).exports
      wasm = { ...wasm, malloc: wasm.alloc }
    } else {
      const wasi = new WASI({ version: 'preview1', returnOnExit: true })
      const instance = new WebAssembly.Instance(module, wasi.getImportObject())
      wasi.start(instance)
      wasm = { ...instance.exports, malloc: instance.exports.bench_malloc }
    }
    const traceAt = wasm.malloc(trace.byteLength) >>> 0
    const slotsAt = wasm.malloc(Number(slotsArg) * 4) >>> 0
    new Int32Array(wasm.memory.buffer, traceAt, trace.length).set(trace)
    if (wasm.replay_heap(traceAt, operations, slotsAt) >>> 0 !== operations) throw new Error('the trace stopped')
  }
}
