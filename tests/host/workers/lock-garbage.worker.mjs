// A lock word overwritten with a value that is none of its three states (a stray write into the
// control block), in a worker so that the test fails by its timeout, instead of hanging the suite,
// if a call waits for it. On a heap and a stack that other threads may use (their handles read, so
// every call takes the lock), each value in `values` is written in turn and each call must throw
// CORRUPTION at once. Posts { ok, codes: { [value]: codes }, word, after }: `word` what the heap's
// word held after the calls on the last value, `after` what a malloc and free return once the word
// is put back to 0.
import { parentPort, workerData } from 'node:worker_threads'
import { MemoryManager, StackAllocator } from '../../../dist/index.js'

const attempt = (codes, call) => {
  try {
    call()
    codes.push('returned')
  } catch (error) {
    codes.push(error && error.code ? error.code : String(error))
  }
}
const mm = MemoryManager.createSync({ size: 64 * 1024, shared: true })
const ptr = mm.malloc(64)
const heapWord = mm.handle.base >>> 2
const st = StackAllocator.createSync({ size: 4096, shared: true })
const stackWord = st.handle.base >>> 2
const heapWords = new Int32Array(mm.memory.buffer)
const stackWords = new Int32Array(st.memory.buffer)
const codes = {}
let word = 0
for (const value of workerData.values) {
  const seen = (codes[value] = [])
  Atomics.store(heapWords, heapWord, value)
  Atomics.store(stackWords, stackWord, value)
  attempt(seen, () => mm.malloc(64))
  attempt(seen, () => mm.free(ptr))
  attempt(seen, () => mm.stats())
  attempt(seen, () => st.push(8))
  attempt(seen, () => st.push(8))
  word = Atomics.load(heapWords, heapWord)
}
Atomics.store(heapWords, heapWord, 0)
const again = mm.malloc(64)
mm.free(ptr)
mm.free(again)
parentPort.postMessage({ ok: true, codes, word, after: { again: again !== 0, live: mm.stats().liveBlocks } })
