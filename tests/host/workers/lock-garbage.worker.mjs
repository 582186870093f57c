// A lock word overwritten with a value that is none of its three states (a stray write into the
// control block), in a worker so that the test fails by its timeout, instead of hanging the suite,
// if a call waits for it. Each call on a heap and a stack that other threads may use (their handles
// read, so every call takes the lock) must throw CORRUPTION at once. Posts { ok, codes, word }.
import { parentPort } from 'node:worker_threads'
import { MemoryManager, StackAllocator } from '../../../dist/index.js'

const codes = []
const attempt = (call) => {
  try {
    call()
    codes.push('returned')
  } catch (error) {
    codes.push(error && error.code ? error.code : String(error))
  }
}
const mm = MemoryManager.createSync({ size: 64 * 1024, shared: true })
const ptr = mm.malloc(64)
const heapBase = mm.handle.base
const st = StackAllocator.createSync({ size: 4096, shared: true })
const stackBase = st.handle.base
const words = (memory) => new Int32Array(memory.buffer)
Atomics.store(words(mm.memory), heapBase >>> 2, 0x1234_5678)
Atomics.store(words(st.memory), stackBase >>> 2, -7)
attempt(() => mm.malloc(64))
attempt(() => mm.free(ptr))
attempt(() => mm.stats())
attempt(() => st.push(8))
attempt(() => st.push(8))
parentPort.postMessage({ ok: true, codes, word: Atomics.load(words(mm.memory), heapBase >>> 2) })
