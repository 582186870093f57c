// The deadlock guard's scenario, in a worker so that the test fails by its timeout, instead of
// hanging the suite, if the guard is gone: inside exclusive() (this thread holds the lock) a second
// instance on this thread makes a locking call, which must throw 'deadlock refused' at once rather
// than wait for a lock nobody else can release. Posts { ok, error? } and what it saw.
import { parentPort } from 'node:worker_threads'
import { StackAllocator } from '../../../dist/index.js'
import { instantiateOver } from '../../../dist/load.js'

const st = StackAllocator.createSync({ size: 4096, shared: true })
const { module, memory, base } = st.handle
const raw = instantiateOver(module, memory) // a second instance on this thread: it takes the lock on every call
let thrown = ''
try {
  st.exclusive(() => raw.stack_push(base, 8, 0))
} catch (error) {
  thrown = String(error instanceof Error ? error.message : error)
}
const depthAfter = st.depth
const pushedAfter = raw.stack_push(base, 8, 0) // the lock was given back: this call takes it again
parentPort.postMessage({ ok: true, thrown, depthAfter, pushedAfter })
