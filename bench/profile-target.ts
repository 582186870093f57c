// A target for the CPU profiler: replays one workload 10 times on the bench build with function
// names, so that a profile shows where the allocator's time goes.
//
//   npx asc bench/assembly/ours.ts --config asconfig.json --target release --debug -o build/bench/ours-named.wasm
//   node --cpu-prof --cpu-prof-interval 50 --import tsx bench/profile-target.ts mixed [nc]
//
// The workload is small-churn, mixed or realloc; "nc" turns the small-block caches off.
import { smallChurn, mixedSizes, reallocGrowShrink } from './workloads.js'
import { oursInWasm } from './peers.js'

const workloads = { small: smallChurn, mixed: mixedSizes, realloc: reallocGrowShrink }
const workload = (workloads[process.argv[2] as keyof typeof workloads] ?? smallChurn)()
const driver = oursInWasm({ file: 'ours-named.wasm', caches: process.argv[3] !== 'nc', locked: process.argv[4] === 'locked' })
if (driver.missing) throw new Error('build/bench/ours-named.wasm is missing: see the first line above')
for (let i = 0; i < 10; i++) {
  driver.setup(workload)
  driver.run(workload)
}
