// A Web Worker of the browser lockTimeout check: holds a stack's lock (inside exclusive()) for
// `holdMs`, saying 'held' once it has it and 'released' after.
import { StackAllocator } from '/dist/index.browser.js'

onmessage = async ({ data: { handle, holdMs } }) => {
  const stack = await StackAllocator.attach(handle)
  stack.exclusive(() => {
    postMessage('held')
    const until = performance.now() + holdMs
    while (performance.now() < until) { /* the lock stays taken */ }
  })
  postMessage('released')
}
