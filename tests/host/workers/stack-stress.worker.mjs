// A worker of the stack thread-stress test: in each round it pushes two blocks, fills them with its
// own pattern, checks them and pops both, all inside exclusive() so no other thread interleaves.
// With `unlocked: true` it does the same through the wasm entry points that skip the lock.
import { parentPort, workerData } from 'node:worker_threads'
import { StackAllocator } from '../../../dist/index.js'
import { instantiateOver } from '../../../dist/load.js'

const { handle, seed, rounds, worker, unlocked } = workerData
const st = await StackAllocator.attach(handle)
const raw = unlocked ? instantiateOver(handle.module, handle.memory) : undefined
const totals = { allocations: 0, frees: 0, bytesAllocated: 0, bytesFreed: 0, failures: 0, corrupted: 0 }

let state = seed >>> 0
const random = () => {
  state = (state * 1664525 + 1013904223) >>> 0
  return state / 4294967296
}
const bytes = () => new Uint8Array(handle.memory.buffer)
const push = (size) => (raw ? raw.unlocked_stack_push(handle.base, size, 0) >>> 0 : st.push(size))
const pop = (ptr) => {
  if (raw) {
    const result = raw.unlocked_stack_pop(handle.base, ptr) | 0
    if (result !== 0) throw new Error(`pop(${ptr}) returned error ${-result}`)
  } else st.pop(ptr)
}

function pair(round) {
  const sizes = [1 + Math.floor(random() * 200), 1 + Math.floor(random() * 200)]
  const ptrs = sizes.map((size) => push(size))
  if (ptrs.includes(0)) throw new Error('stack full')
  const view = bytes()
  ptrs.forEach((ptr, k) => view.fill((worker * 16 + k + round) & 0xff, ptr, ptr + sizes[k]))
  ptrs.forEach((ptr, k) => {
    if (!view.subarray(ptr, ptr + sizes[k]).every((b) => b === ((worker * 16 + k + round) & 0xff))) totals.corrupted++
  })
  pop(ptrs[1])
  pop(ptrs[0])
  totals.allocations += 2
  totals.frees += 2
  totals.bytesAllocated += sizes[0] + sizes[1]
  totals.bytesFreed += sizes[0] + sizes[1]
}

try {
  for (let round = 0; round < rounds; round++) {
    if (raw) pair(round)
    else st.exclusive(() => pair(round))
  }
  parentPort.postMessage({ ok: true, totals })
} catch (error) {
  parentPort.postMessage({ ok: false, error: String(error), totals })
}
