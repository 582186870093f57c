// npm run fuzz: seeded operation streams against the model, for every configuration (both policies,
// checks on and off, growth on and off; a default alignment, unshared memory, a quarantine and a
// region of a memory passed in on request). A failure prints its seed, configuration and the
// shortest failing prefix, and the command that replays it.
//
//   npm run fuzz                                   1,000,000 operations per configuration
//   npm run fuzz -- --operations 20000 --seeds 3   shorter, more seeds
//   npm run fuzz -- --alignment 64 --unshared      every configuration, 64-byte default alignment, unshared memory
//   npm run fuzz -- --quarantine 65536             checks mode's configurations hold 64 KiB of freed blocks
//   npm run fuzz -- --region 70001                 the heap in a memory of the fuzzer's, from byte 70,001
//   npm run fuzz -- --config best-fit+checks --seed 7 --operations 1234 --validate-every 1   replay
import { parseArgs } from 'node:util'
import { ALL_CONFIGS, configName, runStream, shortestFailingPrefix } from './engine.js'

const { values } = parseArgs({
  options: {
    operations: { type: 'string', default: '1000000' },
    seeds: { type: 'string', default: '1' },
    seed: { type: 'string' },
    config: { type: 'string' },
    'validate-every': { type: 'string', default: '1000' },
    alignment: { type: 'string', default: '8' },
    unshared: { type: 'boolean', default: false },
    quarantine: { type: 'string', default: '0' },
    region: { type: 'string' },
  },
})

const operations = Number(values.operations)
const validateEvery = Number(values['validate-every'])
const seeds = values.seed !== undefined ? [Number(values.seed)] : Array.from({ length: Number(values.seeds) }, (_, i) => i + 1)
const alignment = Number(values.alignment)
if (!Number.isInteger(alignment) || alignment < 8 || alignment > 4096 || (alignment & (alignment - 1)) !== 0) {
  console.error(`--alignment must be a power of two from 8 to 4096, got ${values.alignment}`)
  process.exit(2)
}
const quarantine = Number(values.quarantine)
if (!Number.isInteger(quarantine) || quarantine < 0 || quarantine > 0xffff_ffff) {
  console.error(`--quarantine must be a whole number of bytes, got ${values.quarantine}`)
  process.exit(2)
}
const region = values.region === undefined ? undefined : Number(values.region)
if (region !== undefined && (!Number.isInteger(region) || region < 0 || region > 1 << 30)) {
  console.error(`--region must be a byte offset from 0 to 2^30, got ${values.region}`)
  process.exit(2)
}
const variants = ALL_CONFIGS.map((config) => ({ ...config, alignment, unshared: values.unshared, quarantine, region }))
const configs = values.config ? variants.filter((config) => configName(config) === values.config) : variants
if (configs.length === 0) {
  console.error(`no configuration named ${values.config}; known: ${variants.map(configName).join(', ')}`)
  process.exit(2)
}

let failures = 0
let total = 0
for (const config of configs) {
  for (const seed of seeds) {
    const started = performance.now()
    const result = runStream(config, seed, operations, validateEvery)
    const seconds = ((performance.now() - started) / 1000).toFixed(1)
    total += result.ok ? operations : result.failedAt ?? 0
    if (result.ok) {
      console.log(`ok    ${configName(config).padEnd(24)} seed ${seed}: ${operations.toLocaleString('en-US')} operations, no violation (${seconds} s)`)
      continue
    }
    failures++
    const prefix = shortestFailingPrefix(config, seed, result.failedAt ?? 0, validateEvery)
    console.log(`FAIL  ${configName(config).padEnd(24)} seed ${seed}: at operation ${result.failedAt}: ${result.message}`)
    console.log(`      shortest failing prefix: ${prefix} operations`)
    const flags = `${alignment !== 8 ? ` --alignment ${alignment}` : ''}${values.unshared ? ' --unshared' : ''}${quarantine ? ` --quarantine ${quarantine}` : ''}${region !== undefined ? ` --region ${region}` : ''}`
    console.log(`      replay: npm run fuzz -- --config ${configName(config)} --seed ${seed} --operations ${prefix} --validate-every 1${flags}`)
  }
}
console.log(`${total.toLocaleString('en-US')} operations, ${failures} failing stream(s)`)
process.exit(failures === 0 ? 0 : 1)
