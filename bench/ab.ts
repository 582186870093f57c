// A/B of a change to the allocator's core: the bench build of a base commit against the working
// tree's, interleaved in one process (this machine is shared and noisy: runs minutes apart differ by
// up to 30%, runs interleaved by a few percent). Prints min/median ns/op of N runs (and reserved / peak live), caches on and
// off ("-nc"), with TLSF and dlmalloc for scale.
//
//   git stash && bash bench/build-peers.sh && cp build/bench/ours.wasm build/bench/ours-base.wasm
//   git stash pop && bash bench/build-peers.sh && N=9 npx tsx bench/ab.ts
//
// BASE_LOCKED=1 runs the base as a heap shared with other threads (every operation takes the lock).
// LIVE=100,1000 runs small-churn's sizes at those numbers of live blocks instead of the four
// workloads (a small heap: its pool, and so its caches' budget, is small).
import { smallChurn, mixedSizes, reallocGrowShrink, lifo } from './workloads.js'
import { oursInWasm, tlsf, dlmalloc } from './peers.js'
const n = Number(process.env.N ?? 9)
const live = process.env.LIVE?.split(',').map(Number)
const workloads = live ? live.map((count, i) => smallChurn(i + 1, 400_000, count)) : [smallChurn(), mixedSizes(), reallocGrowShrink(), lifo()]
for (const w of workloads) {
  const baseLocked = process.env.BASE_LOCKED === '1'
  const drivers = [oursInWasm({ file: 'ours-base.wasm', locked: baseLocked }), oursInWasm(), oursInWasm({ file: 'ours-base.wasm', caches: false, locked: baseLocked }), oursInWasm({ caches: false }), tlsf('in-wasm loop'), dlmalloc('in-wasm loop')]
  const names = ['base', 'new', 'base-nc', 'new-nc', 'tlsf', 'dl']
  const times = drivers.map(() => [] as number[])
  const memory = drivers.map(() => 0)
  for (let r = 0; r < n; r++) drivers.forEach((d, i) => { d.setup(w); const t = performance.now(); const k = d.run(w); times[i].push((performance.now() - t) * 1e6 / w.operations); if (k !== w.operations) throw new Error('stop'); memory[i] = d.reserved() / w.peakLive })
  console.log(`${w.name} ${w.slots}`.padEnd(18), names.map((nm, i) => { const s = times[i].sort((a, b) => a - b); return `${nm} ${s[0].toFixed(1)}/${s[n >> 1].toFixed(1)} (${memory[i].toFixed(2)})` }).join(' | '))
}
