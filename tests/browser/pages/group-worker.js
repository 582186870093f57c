// A Web Worker of the browser heap-group check: allocates from heap 1 of the group it is handed,
// each block filled with its index, and posts the pointers back for the page to free.
import { HeapGroup } from '/dist/index.browser.js'

onmessage = async ({ data: { handle, count } }) => {
  const group = await HeapGroup.attach(handle)
  const heap = group.heap(1)
  const ptrs = []
  for (let i = 0; i < count; i++) {
    const ptr = heap.malloc(64)
    heap.fill(ptr, i & 0xff)
    ptrs.push(ptr)
  }
  postMessage(ptrs)
}
