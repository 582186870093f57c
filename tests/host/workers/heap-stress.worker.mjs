// A worker of the heap thread-stress test: attaches to the pool it is handed and runs seeded random
// malloc/calloc/realloc/free, filling each block with its own pattern and checking it before every
// free. With `unlocked: true` it drives the wasm entry points that skip the lock (the control run).
import { parentPort, workerData } from 'node:worker_threads'
import { MemoryManager } from '../../../dist/index.js'
import { instantiateOver } from '../../../dist/load.js'

const { handle, region, seed, operations, worker, unlocked, maxLive, burstEvery = 0 } = workerData
// Given a region of a shared memory, a heap of this worker's own there: it leaves its last blocks
// live and posts them with its handle, for the main thread to read and free them.
const mm = region ? MemoryManager.createSync(region) : await MemoryManager.attach(handle)
const raw = unlocked ? instantiateOver(handle.module, handle.memory) : undefined

let state = seed >>> 0
const random = () => {
  state = (state + 0x6d2b79f5) >>> 0
  let t = Math.imul(state ^ (state >>> 15), state | 1)
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}
const byteOf = (tag, i) => (tag * 131 + i * 7 + worker * 53) & 0xff
const bytes = () => new Uint8Array(mm.memory.buffer)

const malloc = (size) => (raw ? raw.unlocked_heap_malloc(handle.base, size) >>> 0 : mm.malloc(size))
const realloc = (ptr, size) => (raw ? raw.unlocked_heap_realloc(handle.base, ptr, size) >>> 0 : mm.realloc(ptr, size))
const free = (ptr) => {
  if (raw) {
    const result = raw.unlocked_heap_free(handle.base, ptr) | 0
    if (result !== 0) throw new Error(`free(${ptr}) returned error ${-result}`)
  } else mm.free(ptr)
}

const live = new Map()
const totals = { allocations: 0, frees: 0, bytesAllocated: 0, bytesFreed: 0, failures: 0, corrupted: 0, handedOut: [] }
let nextTag = 1

function fill(ptr, size, tag) {
  const view = bytes()
  for (let i = 0; i < size; i++) view[ptr + i] = byteOf(tag, i)
}
function intact(ptr, { size, tag }) {
  const view = bytes()
  for (let i = 0; i < size; i++) if (view[ptr + i] !== byteOf(tag, i)) return false
  return true
}
function adopt(ptr, size) {
  const tag = nextTag++
  fill(ptr, size, tag)
  live.set(ptr, { size, tag })
  totals.allocations++
  totals.bytesAllocated += size
}
function release(ptr, block) {
  if (!intact(ptr, block)) totals.corrupted++
  live.delete(ptr)
  totals.frees++
  totals.bytesFreed += block.size
}
const size = () => (random() < 0.9 ? Math.floor(random() * 256) : 256 + Math.floor(random() * 8192))

try {
  for (let step = 0; step < operations; step++) {
    if (burstEvery !== 0 && step % burstEvery === burstEvery - 1) {
      // A teardown: every live block freed, in a shuffled order (the heap's pending list, and its
      // caches paused, while the other threads go on).
      const order = [...live.keys()].map((ptr) => [random(), ptr]).sort((a, b) => a[0] - b[0]).map(([, ptr]) => ptr)
      for (const ptr of order) {
        release(ptr, live.get(ptr))
        free(ptr)
      }
      continue
    }
    const op = random()
    if (live.size === 0 || (live.size < maxLive && op < 0.5)) {
      const n = size()
      const useCalloc = !raw && random() < 0.2
      const ptr = useCalloc ? mm.calloc(1, n) : malloc(n)
      if (ptr === 0) totals.failures++
      else {
        if (live.has(ptr)) totals.corrupted++ // handed out twice to this very thread
        if (useCalloc && !bytes().subarray(ptr, ptr + n).every((b) => b === 0)) totals.corrupted++
        adopt(ptr, n)
      }
    } else {
      const index = Math.floor(random() * live.size)
      let i = 0
      let ptr = 0
      for (const key of live.keys()) if (i++ === index) { ptr = key; break }
      const block = live.get(ptr)
      if (op < 0.85) {
        release(ptr, block)
        free(ptr)
      } else {
        if (!intact(ptr, block)) totals.corrupted++
        const n = size() + 1
        const moved = realloc(ptr, n)
        if (moved === 0) totals.failures++
        else {
          const kept = Math.min(n, block.size)
          const view = bytes()
          for (let j = 0; j < kept; j++) if (view[moved + j] !== byteOf(block.tag, j)) { totals.corrupted++; break }
          live.delete(ptr)
          totals.frees++
          totals.bytesFreed += block.size
          adopt(moved, n)
        }
      }
    }
  }
  if (region) {
    const kept = [...live].map(([ptr, block]) => ({ ptr, size: block.size, byte0: byteOf(block.tag, 0), byteLast: byteOf(block.tag, block.size - 1) }))
    parentPort.postMessage({ ok: true, totals, kept, handle: mm.handle })
  } else {
    for (const [ptr, block] of live) {
      release(ptr, block)
      free(ptr)
    }
    parentPort.postMessage({ ok: true, totals })
  }
} catch (error) {
  parentPort.postMessage({ ok: false, error: String(error), totals })
}
