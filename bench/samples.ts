// Where the time of an operation goes, instruction by instruction: the processor's time sampled by
// perf (the cpu-clock timer, which needs no hardware counters, so it works in a virtual machine)
// while a bench build replays a workload inside wasm, each sample put on the machine instruction it
// interrupted through V8's listing of the code it compiled (listing.ts).
//
//   npx tsx bench/samples.ts [--workload mixed-sizes] [--no-caches] [--reps 30] [--top 15] build/bench/ours.wasm
//   npx tsx bench/samples.ts --annotate heapFree build/bench/ours.wasm
//
// bench/functions.ts counts what an operation executes; this shows what it waits for. A sample
// lands on the oldest instruction that has not finished, so a load that misses the processor's
// caches (or what comes after a store to a line not in them) gathers the samples of its wait: it is
// how a free was found waiting on the header after its block, a second miss that the instruction
// counts did not show (README, Finding your bugs). Samples are time, not counts: they move by a few
// percent between runs.
//
// The replays are bench/count-child.mjs's (one heap, set up again each replay: after the first its
// pages are warm); samples outside the build's code (V8's builtins, the kernel, the setup) are
// counted apart. Needs Linux's perf (Debian: apt-get install linux-perf).
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync, rmSync, openSync, closeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { allWorkloads } from './workloads.js'
import { functionNames, listedInstructions, lastAtOrBefore, printAnnotated } from './listing.js'

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    workload: { type: 'string', default: 'mixed-sizes' },
    'no-caches': { type: 'boolean', default: false },
    reps: { type: 'string', default: '30' },
    top: { type: 'string', default: '15' },
    annotate: { type: 'string' },
  },
})
const file = positionals[0]
if (!file) throw new Error('name a bench build (.wasm) with its .wat beside it, e.g. build/bench/ours.wasm')
const workload = allWorkloads().find((w) => w.name === values.workload)
if (!workload) throw new Error(`no workload ${values.workload}`)
try { execFileSync('perf', ['--version'], { stdio: 'ignore' }) } catch { throw new Error('perf is not installed (Debian: apt-get install linux-perf)') }

const dir = mkdtempSync(join(tmpdir(), 'wmm-samples-'))
try {
  const traceFile = join(dir, 'trace')
  writeFileSync(traceFile, new Uint8Array(workload.trace.buffer))
  const data = join(dir, 'perf.data')
  const listingFile = join(dir, 'listing')
  const fd = openSync(listingFile, 'w')
  const child = new URL('./count-child.mjs', import.meta.url).pathname
  // --no-liftoff: every function compiled by the optimising tier up front, so the listing holds the
  // code that runs (the timed bench's, once hot).
  execFileSync('perf', ['record', '-q', '-e', 'cpu-clock', '-F', '20000', '-o', data,
    'node', '--no-liftoff', '--print-wasm-code', child, file, traceFile, String(workload.slots), values.reps, values['no-caches'] ? '0' : '1'],
  { stdio: ['ignore', fd, 'ignore'] })
  closeSync(fd)

  const names = functionNames(readFileSync(file.replace(/\.wasm$/, '.wat'), 'utf8'))
  const instructions = [...listedInstructions(readFileSync(listingFile, 'utf8'), names)].sort((a, b) => a.address - b.address)
  const samples = execFileSync('perf', ['script', '-i', data, '-F', 'ip'], { encoding: 'utf8', maxBuffer: 1 << 28 }).split('\n')
  const perInstruction = new Map<number, number>() // samples by index into instructions
  let inWasm = 0
  let outside = 0
  for (const line of samples) {
    if (!line.trim()) continue
    const address = parseInt(line.trim(), 16)
    const at = lastAtOrBefore(instructions.length, (i) => instructions[i].address, address)
    // An instruction is at most 15 bytes: past that the sample is in code the listing does not hold.
    if (at < 0 || address - instructions[at].address > 15) { outside++; continue }
    perInstruction.set(at, (perInstruction.get(at) ?? 0) + 1)
    inWasm++
  }
  if (inWasm === 0) throw new Error('no sample fell in the build\'s code: is perf allowed to sample (kernel.perf_event_paranoid)?')
  const share = (n: number) => `${((100 * n) / inWasm).toFixed(1).padStart(5)}%`

  console.log(`${workload.name}${values['no-caches'] ? ', caches off' : ''}: time in ${file}, sampled by perf (cpu-clock, ${values.reps} replays): ${inWasm} samples in its code, ${outside} outside it`)
  const perFunction = new Map<string, number>()
  for (const [at, n] of perInstruction) perFunction.set(instructions[at].name, (perFunction.get(instructions[at].name) ?? 0) + n)
  console.log('\nby function (share of the samples in the build\'s code)')
  for (const [name, n] of [...perFunction].sort((a, b) => b[1] - a[1]).slice(0, 20)) console.log(`  ${share(n)}  ${name}`)
  console.log('\nthe instructions that gather most samples, on or just after what waits (offset in the function; --annotate NAME lists its code)')
  const starts = new Map<string, number>()
  for (const { name, address } of instructions) if (!starts.has(name)) starts.set(name, address)
  for (const [at, n] of [...perInstruction].sort((a, b) => b[1] - a[1]).slice(0, Number(values.top))) {
    const { name, address, text } = instructions[at]
    console.log(`  ${share(n)}  ${name} +0x${(address - starts.get(name)!).toString(16)}  ${text}`)
  }
  if (values.annotate) {
    const perAddress = new Map([...perInstruction].map(([at, n]) => [instructions[at].address, n]))
    printAnnotated(instructions, values.annotate, (address) => (perAddress.has(address) ? share(perAddress.get(address)!) : ''), 6)
  }
} finally {
  rmSync(dir, { recursive: true, force: true })
}
