// Built by Vite in the browser tests: the package imported by name, its .wasm found with no configuration.
import { MemoryManager, StackAllocator } from 'wasm-memory-manager'
import { check, assert, finish } from '../pages/harness.js'

await check('the bundled package loads its .wasm and allocates', async () => {
  const mm = await MemoryManager.create({ size: 64 * 1024 })
  const p = mm.malloc(100)
  mm.writeString(p, 'bundled')
  assert(mm.readString(p) === 'bundled', 'round trip')
  assert(mm.shared === (globalThis.crossOriginIsolated === true), 'shared follows isolation')
  mm.free(p)
  mm.validate()
})
await check('the bundled stack allocator works', async () => {
  const st = await StackAllocator.create({ size: 4096 })
  assert(st.push(64) !== 0, 'push')
  st.pop()
})
finish()
