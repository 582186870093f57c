// Where the instructions of an operation go: machine instructions per operation in each function of
// a bench build, counted by valgrind (callgrind, one count per instruction address) and attributed
// through V8's listing of the machine code it compiled for each wasm function (--print-wasm-code).
// bench/instructions.ts says how many; this says which function spends them (an inlined function
// counts in its caller). It is how the free index's walks were found to cost 80 instructions a level.
//
//   npx tsx bench/functions.ts [--workload mixed-sizes] [--no-caches] build/bench/ours.wasm
//   npx tsx bench/functions.ts --annotate heapFree build/bench/ours.wasm
//   npx tsx bench/functions.ts --workload lifo --stack build/bench/ours.wasm   (the stack allocator)
//
// --annotate prints the machine code of the functions whose names contain its text, each
// instruction with how many times an operation runs it (from the three-replay run): where in a
// function the instructions go.
//
// The build's text (bench/build-peers.sh writes build/bench/ours.wat beside ours.wasm) names the
// functions. As bench/instructions.ts, it replays the workload inside wasm once and then three times
// and divides the difference by the operations replayed; "(outside wasm)" is V8's builtins (the
// memory.copy of a realloc) and what differs between the two processes.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync, rmSync, openSync, closeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { allWorkloads } from './workloads.js'
import { functionNames, listedInstructions, codeRanges, functionAt, printAnnotated } from './listing.js'

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    workload: { type: 'string', default: 'mixed-sizes' },
    'no-caches': { type: 'boolean', default: false },
    stack: { type: 'boolean', default: false },
    annotate: { type: 'string' },
  },
})
const file = positionals[0]
if (!file) throw new Error('name a bench build (.wasm) with its .wat beside it, e.g. build/bench/ours.wasm')
const workload = allWorkloads().find((w) => w.name === values.workload)
if (!workload) throw new Error(`no workload ${values.workload}`)
try { execFileSync('valgrind', ['--version'], { stdio: 'ignore' }) } catch { throw new Error('valgrind is not installed (Debian: apt-get install valgrind)') }

/** Instructions executed at each address (callgrind's own cost lines; a call's inclusive cost is not one). */
function costsByAddress(out: string): Map<number, number> {
  const costs = new Map<number, number>()
  let address = 0
  let afterCall = false
  for (const line of out.split('\n')) {
    if (line.startsWith('calls=')) { afterCall = true; continue }
    const m = /^(0x[0-9a-f]+|[+-]\d+|\*)\s+\S+\s+(\d+)/.exec(line)
    if (!m) continue
    if (m[1].startsWith('0x')) address = parseInt(m[1], 16)
    else if (m[1] !== '*') address += Number(m[1])
    if (afterCall) { afterCall = false; continue }
    costs.set(address, (costs.get(address) ?? 0) + Number(m[2]))
  }
  return costs
}

const dir = mkdtempSync(join(tmpdir(), 'wmm-functions-'))
const child = new URL('./count-child.mjs', import.meta.url).pathname
const names = functionNames(readFileSync(file.replace(/\.wasm$/, '.wat'), 'utf8'))
const traceFile = join(dir, 'trace')
writeFileSync(traceFile, new Uint8Array(workload.trace.buffer))

/** Each listed instruction of the functions named like `pattern`, with its executions per operation. */
function annotate(listing: string, names: string[], costs: Map<number, number>, perOperation: number, pattern: string): void {
  printAnnotated(listedInstructions(listing, names), pattern, (address) => {
    const runs = (costs.get(address) ?? 0) / perOperation
    return runs >= 0.005 ? runs.toFixed(2) : ''
  }, 7)
}

/** Instructions per function for `reps` replays. */
function count(reps: number): Map<string, number> {
  const out = join(dir, `callgrind.${reps}`)
  const listing = join(dir, `listing.${reps}`)
  const fd = openSync(listing, 'w')
  execFileSync('valgrind', ['--tool=callgrind', '--dump-instr=yes', `--callgrind-out-file=${out}`,
    'node', '--no-liftoff', '--single-threaded', '--print-wasm-code', child, file, traceFile, String(workload!.slots), String(reps), values['no-caches'] ? '0' : '1'],
  { stdio: ['ignore', fd, 'ignore'], env: { ...process.env, STACK: values.stack ? '1' : '0' } })
  closeSync(fd)
  const listed = readFileSync(listing, 'utf8')
  const ranges = codeRanges(listed, names)
  const costs = costsByAddress(readFileSync(out, 'utf8'))
  if (values.annotate && reps === 3) annotate(listed, names, costs, reps * workload!.operations, values.annotate)
  const totals = new Map<string, number>()
  for (const [address, cost] of costs) {
    const name = functionAt(ranges, address) ?? '(outside wasm)'
    totals.set(name, (totals.get(name) ?? 0) + cost)
  }
  return totals
}

const once = count(1)
const thrice = count(3)
rmSync(dir, { recursive: true, force: true })
const perOperation = [...new Set([...once.keys(), ...thrice.keys()])]
  .map((name) => ({ name, instructions: ((thrice.get(name) ?? 0) - (once.get(name) ?? 0)) / (2 * workload.operations) }))
  .sort((a, b) => b.instructions - a.instructions)
console.log(`${workload.name}${values.stack ? ', stack allocator' : values['no-caches'] ? ', caches off' : ''}: machine instructions per operation by function, in ${file} (valgrind callgrind; 3 replays less 1)`)
for (const { name, instructions } of perOperation) if (Math.abs(instructions) >= 0.5) console.log(`  ${instructions.toFixed(1).padStart(8)}  ${name}`)
console.log(`  ${perOperation.reduce((sum, f) => sum + f.instructions, 0).toFixed(1).padStart(8)}  in all`)
