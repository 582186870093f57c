// Other shapes of load than the bench's four workloads: churn at other size ranges and numbers of
// live blocks, this allocator in a wasm loop against TLSF and dlmalloc in one process, taking turns.
// Where a tuning of the caches or the index helps or hurts outside what `npm run bench` measures
// (the caches' budget was found too small for heaps under a few hundred KiB this way).
//
//   npm run bench:shapes                this build (build/bench/ours.wasm, made by `npm run bench` or
//                                       bash bench/build-peers.sh)
//   BASE=1 npm run bench:shapes         and build/bench/ours-base.wasm beside it (see bench/ab.ts)
//   N=11 ...                            runs of each (default 7); medians, and reserved / peak live
import { churn, uniformSizes, logUniformSizes, type Workload } from './workloads.js'
import { seededRandom } from '../fuzz/random.js'
import { oursInWasm, tlsf, dlmalloc, type Driver } from './peers.js'

const runs = Number(process.env.N ?? 7)

/** Churn of `live` blocks whose sizes are uniform in [low, high]. */
function uniform(seed: number, live: number, low: number, high: number): Workload {
  const random = seededRandom(seed)
  return churn(`${low}..${high} B`, '', random, uniformSizes(random, low, high), 200_000, live)
}

/** Churn of `live` blocks whose sizes are log-uniform in [low, high). */
function logUniform(seed: number, live: number, low: number, high: number): Workload {
  const random = seededRandom(seed)
  return churn(`${low}..${high} B log`, '', random, logUniformSizes(random, low, high), 100_000, live)
}

const shapes = [
  uniform(1, 100, 8, 256), uniform(2, 1_000, 8, 256), uniform(3, 30_000, 8, 256),
  uniform(4, 10_000, 8, 64), uniform(5, 10_000, 32, 32),
  uniform(6, 1_000, 16, 1024), uniform(7, 10_000, 16, 1024),
  logUniform(8, 100, 8, 65536), logUniform(9, 100, 1024, 65536), logUniform(10, 1_000, 1024, 65536),
]

const drivers: [string, Driver][] = [
  ...(process.env.BASE ? [['base', oursInWasm({ file: 'ours-base.wasm' })] as [string, Driver]] : []),
  ['ours', oursInWasm()], ['tlsf', tlsf('in-wasm loop')], ['dl', dlmalloc('in-wasm loop')],
]
const ours = drivers.findIndex(([name]) => name === 'ours')
for (const shape of shapes) {
  const times = drivers.map(() => [] as number[])
  const memory = drivers.map(() => 0)
  for (let r = 0; r < runs; r++) {
    drivers.forEach(([name, driver], i) => {
      driver.setup(shape)
      const start = performance.now()
      if (driver.run(shape) !== shape.operations) throw new Error(`${name} stopped on ${shape.name}`)
      times[i].push((performance.now() - start) * 1e6 / shape.operations)
      memory[i] = driver.reserved() / shape.peakLive
    })
  }
  const medians = times.map((t) => t.sort((a, b) => a - b)[runs >> 1])
  const cells = drivers.map(([name], i) => `${name} ${medians[i].toFixed(1)} ns (${memory[i].toFixed(2)})`)
  const ratios = drivers.map(([name], i) => (i === ours ? '' : ` ours/${name} ${(medians[ours] / medians[i]).toFixed(2)}`)).join('')
  console.log(`${shape.name} at ${shape.slots.toLocaleString('en-US')} live`.padEnd(32), cells.join(' | '), ' ', ratios)
}
