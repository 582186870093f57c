// A worker of the heap group test: allocates from its own heap of the group, blocks filled with its
// pattern; hands half of them to the main thread (for another worker to free); then frees the blocks
// another worker made, through the group, while it goes on allocating and freeing its own.
import { parentPort, workerData } from 'node:worker_threads'
import { HeapGroup } from '../../../dist/index.js'

const { handle, index, blocks } = workerData
const group = HeapGroup.attachSync(handle)
const mine = group.heap(index)
const byteOf = (worker, n, i) => (worker * 67 + n * 13 + i) & 0xff
const fill = (ptr, size, worker, n) => { const view = mine.view(ptr, size); for (let i = 0; i < size; i++) view[i] = byteOf(worker, n, i) }
const intact = ({ ptr, size, worker, n }) => { const view = new Uint8Array(group.memory.buffer, ptr, size); for (let i = 0; i < size; i++) if (view[i] !== byteOf(worker, n, i)) return false; return true }

const own = []
let corrupted = 0
for (let n = 0; n < blocks; n++) {
  const size = 1 + ((n * 37) % 700)
  const ptr = mine.malloc(size)
  if (ptr === 0) throw new Error('malloc failed')
  fill(ptr, size, index, n)
  own.push({ ptr, size, worker: index, n })
}
const given = own.filter((_, i) => i % 2 === 0)
const kept = own.filter((_, i) => i % 2 === 1)
parentPort.postMessage({ given })

parentPort.once('message', ({ others }) => {
  let n = blocks
  for (const [i, block] of others.entries()) {
    if (!intact(block)) corrupted++
    group.free(block.ptr) // another worker's block: freed in its heap
    // and meanwhile this worker's own churn
    const size = 1 + ((i * 53) % 900)
    const ptr = mine.malloc(size)
    fill(ptr, size, index, n)
    kept.push({ ptr, size, worker: index, n: n++ })
    const gone = kept.splice((i * 7) % kept.length, 1)[0]
    if (!intact(gone)) corrupted++
    mine.free(gone.ptr)
  }
  for (const block of kept) {
    if (!intact(block)) corrupted++
    group.free(block.ptr)
  }
  parentPort.postMessage({ corrupted, allocations: n })
})
