// Instructions and simulated cache misses per operation, counted by valgrind (cachegrind), for bench
// builds of this allocator and of its peers: unlike time on this shared machine, which drifts by up
// to a third, a count moves by 3% at most between runs of the same build (V8's own work differs a
// little), so a change of 5% can be told apart from noise.
//
//   npx tsx bench/instructions.ts [--workloads small-churn,mixed-sizes] [--no-caches] base.wasm new.wasm ...
//   npx tsx bench/instructions.ts --scaling [--no-caches] build/bench/ours.wasm build/bench/tlsf.wasm
//
// Mispredicted branches are counted on cachegrind's model of a predictor (--branch-sim), simpler than
// a real processor's: a walk's left/right choice made branch-free took mixed-sizes from 4.0 to 2.8 a
// operation there, and was no faster in time (A/B, 15 runs): read them as a hint, not a figure.
//
// --scaling counts the steady churn of small blocks at 1,000 and at 100,000 live blocks (the bench's
// scaling rows): how much more work an operation does on a bigger heap, apart from what the
// machine's caches make of it (the misses are counted beside, on cachegrind's model of them).
//
// Each build replays each workload inside wasm once and then REPS more times (a fresh heap each
// time); the difference between the two runs, over the operations replayed, leaves out the cost of
// starting Node and compiling. V8 compiles every function with its optimising tier up front
// (--no-liftoff), as the timed bench's functions are once they are hot.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { allWorkloads, smallChurn } from './workloads.js'

const REPS = 5
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    workloads: { type: 'string', default: 'small-churn,mixed-sizes,realloc' },
    'no-caches': { type: 'boolean', default: false },
    scaling: { type: 'boolean', default: false },
  },
})
if (positionals.length === 0) throw new Error('name one or more bench builds (.wasm), e.g. build/bench/ours.wasm')
try { execFileSync('valgrind', ['--version'], { stdio: 'ignore' }) } catch { throw new Error('valgrind is not installed (Debian: apt-get install valgrind)') }
const chosen = allWorkloads().filter((w) => values.workloads.split(',').includes(w.name))
const dir = mkdtempSync(join(tmpdir(), 'wmm-count-'))
const child = new URL('./count-child.mjs', import.meta.url).pathname

interface Counts { instructions: number; d1Misses: number; llMisses: number; mispredicts: number }
function count(file: string, traceFile: string, slots: number, reps: number, range?: string): Counts {
  const out = join(dir, 'cachegrind.out')
  execFileSync('valgrind', ['--tool=cachegrind', '--cache-sim=yes', '--branch-sim=yes', `--cachegrind-out-file=${out}`,
    'node', '--no-liftoff', '--single-threaded', child, file, traceFile, String(slots), String(reps), values['no-caches'] ? '0' : '1', ...(range ? [range] : [])],
  { stdio: 'ignore' }) // the totals are read from the output file, not from valgrind's summary
  return readSummary(out)
}
function readSummary(out: string): Counts {
  const text = execFileSync('cg_annotate', [out], { encoding: 'utf8', maxBuffer: 1 << 26 })
  // The "PROGRAM TOTALS" line: Ir I1mr ILmr Dr D1mr DLmr Dw D1mw DLmw Bc Bcm Bi Bim
  const line = text.split('\n').find((l) => /PROGRAM TOTALS/.test(l))
  if (!line) throw new Error('no totals in cachegrind output')
  const figures = line.trim().split(/\s+/).filter((f) => /^[\d,]+$/.test(f)).map((f) => Number(f.replace(/,/g, '')))
  const [ir, , , , d1mr, dlmr, , d1mw, dlmw, , bcm, , bim] = figures
  return { instructions: ir, d1Misses: d1mr + d1mw, llMisses: dlmr + dlmw, mispredicts: bcm + bim }
}

/** Prints the difference of two counts, per operation. */
function report(label: string, file: string, many: Counts, once: Counts, operations: number): void {
  const per = (key: keyof Counts) => ((many[key] - once[key]) / operations).toFixed(key === 'instructions' ? 1 : 3)
  console.log(`  ${label.padEnd(12)} ${file.padEnd(34)} instructions ${per('instructions').padStart(7)}  D1 misses ${per('d1Misses')}  LL misses ${per('llMisses')}  mispredicted branches ${per('mispredicts')}`)
}
const caches = values['no-caches'] ? ', caches off' : ''
if (values.scaling) {
  const steps = 200_000
  console.log(`per operation of steady small-block churn, in wasm${caches} (valgrind cachegrind; 2 replays)`)
  for (const file of positionals) {
    for (const live of [1_000, 100_000]) {
      const workload = smallChurn(11, steps, live)
      const traceFile = join(dir, `churn-${live}.trace`)
      writeFileSync(traceFile, new Uint8Array(workload.trace.buffer))
      const fillOnly = count(file, traceFile, workload.slots, 2, `${live}:0`)
      const withChurn = count(file, traceFile, workload.slots, 2, `${live}:${2 * steps}`)
      report(`${live.toLocaleString('en-US')} live`, file, withChurn, fillOnly, 2 * 2 * steps)
    }
  }
} else {
  console.log(`per operation, in wasm${caches} (valgrind cachegrind; ${REPS} replays less 1)`)
  for (const workload of chosen) {
    const traceFile = join(dir, `${workload.name}.trace`)
    writeFileSync(traceFile, new Uint8Array(workload.trace.buffer))
    for (const file of positionals) {
      const once = count(file, traceFile, workload.slots, 1)
      const many = count(file, traceFile, workload.slots, 1 + REPS)
      report(workload.name, file, many, once, workload.operations * REPS)
    }
  }
}
rmSync(dir, { recursive: true, force: true })
