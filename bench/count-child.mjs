// The child of bench/instructions.ts, run under valgrind: replays a trace file `reps` times on a
// fresh heap each time, inside wasm, and nothing else (plain JavaScript: no TypeScript loader to count).
//
//   node count-child.mjs <module.wasm> <trace file> <slots> <reps> <caches: 1|0>
import { readFileSync } from 'node:fs'

const [file, traceFile, slotsArg, repsArg, cachesArg] = process.argv.slice(2)
const trace = new Int32Array(new Uint8Array(readFileSync(traceFile)).buffer)
const operations = trace.length / 3
const PAGE = 65536
const START_POOL = 65536
const GROWTH_LIMIT = 1 << 30
const memory = new WebAssembly.Memory({ initial: 1, maximum: GROWTH_LIMIT / PAGE, shared: true })
const instance = new WebAssembly.Instance(new WebAssembly.Module(readFileSync(file)), { env: { memory, lockWait() {}, abort() { throw new Error('abort') } } })
const wasm = instance.exports
wasm.instance_set_sole_thread?.(1)
const traceAt = wasm.region_start() >>> 0
const slotsAt = traceAt + trace.byteLength
const heap = Math.ceil((slotsAt + Number(slotsArg) * 4) / 64) * 64
const need = wasm.heap_pool_start_for(heap, 8) + START_POOL
memory.grow(Math.ceil(need / PAGE) - memory.buffer.byteLength / PAGE)
new Int32Array(memory.buffer, traceAt, trace.length).set(trace)
for (let rep = 0; rep < Number(repsArg); rep++) {
  if (wasm.heap_init(heap, START_POOL, GROWTH_LIMIT - need - PAGE, 8, 0, cachesArg === '1' ? 0 : 2 /* OPTION_NO_CACHES */) !== 0) throw new Error('heap_init failed')
  if (wasm.replay_heap(heap, traceAt, operations, slotsAt) >>> 0 !== operations) throw new Error('the trace stopped')
}
