// A worker that takes an allocator's lock by hand and holds it for `holdMs`, so a test can see that
// the allocator's own thread waits for it. Posts 'held' once it holds the lock, 'released' after.
import { parentPort, workerData } from 'node:worker_threads'
import { instantiateOver } from '../../../dist/load.js'

const { handle, holdMs } = workerData
const wasm = instantiateOver(handle.module, handle.memory)
wasm.allocator_lock(handle.base)
parentPort.postMessage('held')
setTimeout(() => {
  wasm.allocator_unlock(handle.base)
  parentPort.postMessage('released')
}, holdMs)
