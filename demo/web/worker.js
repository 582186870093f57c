// A demo worker: attaches to the page's heap and runs random malloc/free with pattern checks.
import { MemoryManager } from '/dist/index.browser.js'

onmessage = async ({ data: { handle, operations, id } }) => {
  const heap = await MemoryManager.attach(handle)
  const live = new Map()
  let corrupted = 0
  let seed = id + 1
  const random = () => ((seed = (seed * 1664525 + 1013904223) >>> 0) / 4294967296)
  const bytes = () => new Uint8Array(heap.memory.buffer)
  for (let i = 0; i < operations; i++) {
    if (live.size < 64 && (live.size === 0 || random() < 0.5)) {
      const size = 8 + Math.floor(random() * 248)
      const ptr = heap.malloc(size)
      if (ptr) {
        bytes().fill((id * 37 + i) & 0xff, ptr, ptr + size)
        live.set(ptr, { size, value: (id * 37 + i) & 0xff })
      }
    } else {
      const [ptr, block] = live.entries().next().value
      if (!bytes().subarray(ptr, ptr + block.size).every((b) => b === block.value)) corrupted++
      heap.free(ptr)
      live.delete(ptr)
    }
  }
  for (const ptr of live.keys()) heap.free(ptr)
  postMessage({ corrupted })
}
