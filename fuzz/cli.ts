// npm run fuzz: seeded operation streams against the model, for every configuration (both policies,
// checks on and off, growth on and off). A failure prints its seed, configuration and the shortest
// failing prefix, and the command that replays it.
//
//   npm run fuzz                                   1,000,000 operations per configuration
//   npm run fuzz -- --operations 20000 --seeds 3   shorter, more seeds
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
  },
})

const operations = Number(values.operations)
const validateEvery = Number(values['validate-every'])
const seeds = values.seed !== undefined ? [Number(values.seed)] : Array.from({ length: Number(values.seeds) }, (_, i) => i + 1)
const configs = values.config ? ALL_CONFIGS.filter((config) => configName(config) === values.config) : ALL_CONFIGS
if (configs.length === 0) {
  console.error(`no configuration named ${values.config}; known: ${ALL_CONFIGS.map(configName).join(', ')}`)
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
    console.log(`      replay: npm run fuzz -- --config ${configName(config)} --seed ${seed} --operations ${prefix} --validate-every 1`)
  }
}
console.log(`${total.toLocaleString('en-US')} operations, ${failures} failing stream(s)`)
process.exit(failures === 0 ? 0 : 1)
