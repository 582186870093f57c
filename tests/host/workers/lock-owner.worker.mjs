// A worker whose thread is meant to end while it holds an allocator's lock (the test terminates
// it). Posts its face's lockOwnerId first (a group's: one a heap), then:
//   mode 'hold'  : takes the lock (a stack's through exclusive(); a heap's by hand, after a few
//                  allocations made under it; a group's heap 1's through its face's own lock)
//                  and waits for ever, posting 'holding' first;
//   mode 'churn' : mallocs and frees in a loop until it is terminated, wherever that falls.
import { parentPort, workerData } from 'node:worker_threads'
import { MemoryManager, StackAllocator, HeapGroup } from '../../../dist/index.js'
import { instantiateOver } from '../../../dist/load.js'

const { handle, mode } = workerData
const forever = () => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0)

if (handle.kind === 'heap-group') {
  // Its face of heap 1 takes that heap's lock (as any call does) and never lets go.
  const group = HeapGroup.attachSync(handle)
  parentPort.postMessage({ owner: group.lockOwnerIds })
  group.heap(1).locked(() => {
    parentPort.postMessage('holding')
    forever()
  })
} else if (handle.kind === 'stack') {
  const stack = StackAllocator.attachSync(handle)
  parentPort.postMessage({ owner: stack.lockOwnerId })
  stack.exclusive(() => {
    stack.push(40)
    parentPort.postMessage('holding')
    forever()
  })
} else if (mode === 'hold') {
  const wasm = instantiateOver(handle.module, handle.memory)
  parentPort.postMessage({ owner: wasm.instance_face() >>> 0 })
  wasm.allocator_lock(handle.base)
  const kept = [wasm.unlocked_heap_malloc(handle.base, 100), wasm.unlocked_heap_malloc(handle.base, 24)]
  wasm.unlocked_heap_free(handle.base, kept[1]) // parked in a small-block cache
  parentPort.postMessage('holding')
  forever()
} else {
  const mm = MemoryManager.attachSync(handle)
  parentPort.postMessage({ owner: mm.lockOwnerId })
  const live = []
  for (let i = 0; ; i++) {
    if (live.length === 0 || (live.length < 200 && (i & 3) !== 3)) live.push(mm.malloc(8 + ((i * 37) % 500)))
    else mm.free(live.splice((i * 7) % live.length, 1)[0])
    if (i === 1000) parentPort.postMessage('churning')
  }
}
