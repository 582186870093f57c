// A Web Worker of the browser thread test: random malloc/free with its own byte pattern, checked before each free.
import { MemoryManager } from '/dist/index.browser.js'

onmessage = async ({ data: { handle, operations, id } }) => {
  const mm = await MemoryManager.attach(handle)
  const live = []
  let corrupted = 0
  let allocations = 0
  let seed = id * 7919 + 1
  const random = () => ((seed = (seed * 1664525 + 1013904223) >>> 0) / 4294967296)
  for (let i = 0; i < operations; i++) {
    if (live.length < 200 && (live.length === 0 || random() < 0.5)) {
      const size = 1 + Math.floor(random() * (random() < 0.1 ? 20000 : 300))
      const ptr = mm.malloc(size)
      if (ptr) {
        const value = (id * 50 + i) & 0xff
        new Uint8Array(mm.memory.buffer).fill(value, ptr, ptr + size)
        live.push({ ptr, size, value })
        allocations++
      }
    } else {
      const { ptr, size, value } = live.splice(Math.floor(random() * live.length), 1)[0]
      if (!new Uint8Array(mm.memory.buffer, ptr, size).every((b) => b === value)) corrupted++
      mm.free(ptr)
    }
  }
  for (const { ptr } of live) mm.free(ptr)
  postMessage({ corrupted, allocations })
}
