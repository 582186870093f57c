// A benchmark worker: attaches to the heap it is handed (or to a heap group, taking heap `index`
// of it), waits for the start signal, then runs `operations` malloc/free operations on small
// blocks (about 64 live), through the public API.
import { parentPort, workerData } from 'node:worker_threads'
import { MemoryManager, HeapGroup } from '../dist/index.js'

const { handle, group, index, operations, seed } = workerData
const mm = group ? HeapGroup.attachSync(group).heap(index) : MemoryManager.attachSync(handle)
const live = new Uint32Array(64)
let state = seed
parentPort.once('message', () => {
  for (let i = 0; i < operations; i += 2) {
    state = (state * 1664525 + 1013904223) >>> 0
    const slot = state & 63
    if (live[slot] !== 0) mm.free(live[slot])
    live[slot] = mm.malloc(8 + (state >>> 24))
  }
  parentPort.postMessage('done')
})
parentPort.postMessage('ready')
