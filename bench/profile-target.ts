import { smallChurn, mixedSizes, reallocGrowShrink } from './workloads.js'
import { oursInWasm } from './peers.js'
const w = process.argv[2] === 'mixed' ? mixedSizes() : process.argv[2] === 'realloc' ? reallocGrowShrink() : smallChurn()
const d = oursInWasm({ file: 'ours-named.wasm', caches: process.argv[3] !== 'nc' })
for (let i = 0; i < 10; i++) { d.setup(w); d.run(w) }
