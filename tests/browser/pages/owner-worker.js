// A Web Worker of the browser recoverLock check: takes a stack's lock inside exclusive(), pushes a
// block, posts its face's lockOwnerId, and never lets go: the page terminates it there.
import { StackAllocator } from '/dist/index.browser.js'

onmessage = async ({ data: { handle } }) => {
  const stack = await StackAllocator.attach(handle)
  stack.exclusive(() => {
    stack.push(24)
    postMessage({ owner: stack.lockOwnerId })
    for (;;) { /* the lock stays taken until the page terminates this worker */ }
  })
}
