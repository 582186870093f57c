// npm run bench: every workload of bench/workloads.ts through every peer of bench/peers.ts, in one
// process; then the stack allocator, fingerprinting, checks mode, threads and the .wasm size.
// Prints the tables, and writes them to bench/RESULTS.md (and the figures to bench/results.json).
//
//   npm run bench                  5 timed runs of each trace (the median is what counts)
//   npm run bench -- --runs 9      more runs
//   npm run bench -- --quick       shorter traces, 3 runs: a smoke test of the harness

import { parseArgs } from 'node:util'
import { writeFileSync, statSync } from 'node:fs'
import { cpus, totalmem } from 'node:os'
import { Bench } from 'tinybench'
import { allWorkloads, smallChurn, mixedSizes, reallocGrowShrink, lifo, drain, workingSetChurn, type Workload } from './workloads.js'
import { oursThroughApi, oursInWasm, tlsf, dlmalloc, thingMalloc, glibcAvailable, runGlibc, cannotRun, type Driver, type Mode } from './peers.js'
import { stackRows, clearRows, fingerprintRows, threadRows } from './extras.js'
import { seededRandom } from '../fuzz/random.js'

const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' }, quick: { type: 'boolean', default: false } } })
const runs = values.quick ? 3 : Math.max(5, Number(values.runs))

export interface Row {
  workload: string
  peer: string
  mode: Mode | string
  median: number
  min: number
  max: number
  /** reserved / peak live, when measured. */
  memory?: number
  note?: string
}

/** Times `runs` replays of the workload, each on a fresh allocator; ns/op statistics. */
export async function timeDriver(driver: Driver, workload: Workload, count = runs): Promise<{ median: number; min: number; max: number; reserved: number }> {
  let reserved = 0
  let done = 0
  const bench = new Bench({ iterations: count, time: 0, warmupIterations: 1, warmupTime: 0, throws: true, retainSamples: true })
  bench.add(`${driver.peer} ${driver.mode}`, () => {
    done = driver.run(workload)
  }, {
    beforeEach: () => driver.setup(workload),
    afterEach: () => {
      if (done !== workload.operations) throw new Error(`${driver.peer} (${driver.mode}) stopped after ${done} of ${workload.operations} operations`)
      reserved = driver.reserved()
    },
  })
  await bench.run()
  const latency = (bench.tasks[0].result as unknown as { latency: { p50?: number; min: number; max: number } }).latency
  const perOp = (ms: number) => (ms * 1e6) / workload.operations
  return { median: perOp(latency.p50!), min: perOp(latency.min), max: perOp(latency.max), reserved }
}

interface Spread { median: number; min: number; max: number }

/**
 * Round-robin runs: one warm-up run of each case, then `runs` rounds in which each case runs once
 * (`once` returns its ns/op). The machine is shared and its speed drifts by tens of percent over
 * seconds; interleaved, the drift falls on every case alike, so the ratios the targets are read
 * from hold better than with one case's runs after another's. Each round takes the cases in an
 * order of its own (seeded): a case that always ran right after the same one carried what that one
 * left behind (this allocator in a wasm loop, right after @thi.ng/malloc's 15-second run of
 * small-churn: a median of 22.0 ns over five rounds, 20.2 run after TLSF and dlmalloc instead).
 */
function takeTurns<T>(cases: T[], once: (c: T) => number): Spread[] {
  const perOp = cases.map(() => [] as number[])
  const random = seededRandom(runs)
  const order = cases.map((_, i) => i)
  for (let round = -1; round < runs; round++) {
    for (const i of order) {
      const nsPerOp = once(cases[i])
      if (round >= 0) perOp[i].push(nsPerOp) // round -1 warms up
    }
    for (let k = order.length - 1; k > 0; k--) { // Fisher-Yates: the next round's order
      const j = Math.floor(random() * (k + 1))
      ;[order[k], order[j]] = [order[j], order[k]]
    }
  }
  return perOp.map((samples) => {
    samples.sort((a, b) => a - b)
    return { median: samples[samples.length >> 1], min: samples[0], max: samples[samples.length - 1] }
  })
}

/** Every driver's runs of one workload, taking turns, each on a fresh allocator; with what each reserved. */
function interleaved(drivers: Driver[], workload: Workload): (Spread & { reserved: number })[] {
  const reserved = drivers.map(() => 0)
  const spreads = takeTurns(drivers.map((driver, i) => ({ driver, i })), ({ driver, i }) => {
    driver.setup(workload)
    const start = performance.now()
    const done = driver.run(workload)
    const elapsed = performance.now() - start
    if (done !== workload.operations) throw new Error(`${driver.peer} (${driver.mode}) stopped after ${done} of ${workload.operations} operations`)
    reserved[i] = driver.reserved()
    return (elapsed * 1e6) / workload.operations
  })
  return spreads.map((spread, i) => ({ ...spread, reserved: reserved[i] }))
}

function quickWorkloads(): Workload[] {
  return [smallChurn(1, 20_000), mixedSizes(2, 10_000), reallocGrowShrink(3, 10_000), lifo(4, 20), drain(5, 3)]
}

const fmt = (n: number, digits = 1) => n.toFixed(digits)

async function heapRows(workloads: Workload[]): Promise<Row[]> {
  const rows: Row[] = []
  const drivers: Driver[] = [
    oursThroughApi(), tlsf('JS → API'), dlmalloc('JS → API'), thingMalloc(),
    oursInWasm(), oursInWasm({ locked: true, label: 'wasm-memory-manager, shared' }), tlsf('in-wasm loop'), dlmalloc('in-wasm loop'),
  ]
  for (const workload of workloads) {
    console.log(`\n${workload.name}: ${workload.description}; ${workload.operations.toLocaleString('en-US')} operations, trace ${workload.checksum}, peak live ${workload.peakLive.toLocaleString('en-US')} B`)
    const runnable: Driver[] = []
    for (const driver of drivers) {
      const skip = driver.missing ?? cannotRun(driver, workload)
      if (skip) {
        rows.push({ workload: workload.name, peer: driver.peer, mode: driver.mode, median: NaN, min: NaN, max: NaN, note: skip })
        console.log(`  ${driver.peer} (${driver.mode}): skipped: ${skip}`)
      } else runnable.push(driver)
    }
    for (const [i, result] of interleaved(runnable, workload).entries()) {
      const driver = runnable[i]
      const memory = result.reserved / workload.peakLive
      rows.push({ workload: workload.name, peer: driver.peer, mode: driver.mode, median: result.median, min: result.min, max: result.max, memory })
      console.log(`  ${driver.peer.padEnd(22)} ${driver.mode.padEnd(13)} ${fmt(result.median).padStart(8)} ns/op (${fmt(result.min)}..${fmt(result.max)})  reserved/peak ${fmt(memory, 2)}`)
    }
    const missing = glibcAvailable()
    if (missing) {
      rows.push({ workload: workload.name, peer: 'glibc malloc', mode: 'native', median: NaN, min: NaN, max: NaN, note: missing })
    } else {
      const native = runGlibc(workload, runs)
      const sorted = [...native.nsPerOp].sort((a, b) => a - b)
      const memory = native.reserved / workload.peakLive
      rows.push({ workload: workload.name, peer: 'glibc malloc', mode: 'native', median: sorted[Math.floor(sorted.length / 2)], min: sorted[0], max: sorted[sorted.length - 1], memory })
      console.log(`  ${'glibc malloc'.padEnd(22)} ${'native'.padEnd(13)} ${fmt(sorted[Math.floor(sorted.length / 2)]).padStart(8)} ns/op  reserved/peak ${fmt(memory, 2)}`)
    }
  }
  return rows
}

/**
 * Cost per operation with 1,000 and with 100,000 live blocks (small-churn sizes): as configured by
 * default, and with the caches off so that every request goes through the free index; the peers on
 * the same traces (what a growing working set costs any allocator on this machine). Then the same
 * with 1,000 of the 100,000 churned (workingSetChurn): the trace touches as much memory at either
 * size, so the ratio is the allocator's own (with all 100,000 churned, each free reaches a block the
 * processor's caches no longer hold, for every allocator alike). The runs take turns (takeTurns),
 * as the workloads' do, so that the machine's drift falls on the two sizes of heap alike instead of
 * on the ratio.
 */
async function scalingRows(quick: boolean): Promise<Row[]> {
  const steps = 200_000
  const sizes = quick ? [1_000, 10_000] : [1_000, 100_000]
  interface Case { driver: Driver; workload: Workload; live: number; label: string; caches?: boolean; ours?: boolean }
  const cases: Case[] = []
  for (const caches of [true, false]) {
    for (const live of sizes) {
      const label = `${live.toLocaleString('en-US')} live blocks, caches ${caches ? 'on' : 'off'}`
      cases.push({ driver: oursInWasm({ caches, label }), workload: smallChurn(11, steps, live), live, label, caches })
    }
  }
  for (const driver of [tlsf('in-wasm loop'), dlmalloc('in-wasm loop')]) {
    if (driver.missing) continue
    for (const live of sizes) cases.push({ driver, workload: smallChurn(11, steps, live), live, label: `${driver.peer}, ${live.toLocaleString('en-US')} live blocks` })
  }
  // The same with the working set held at sizes[0] blocks: what the allocator itself costs as the heap grows.
  const workingSetPeers = [
    ['wasm-memory-manager', () => oursInWasm()],
    ['wasm-memory-manager, caches off', () => oursInWasm({ caches: false })],
    ['AssemblyScript TLSF', () => tlsf('in-wasm loop')],
    ['dlmalloc (wasi-libc)', () => dlmalloc('in-wasm loop')],
  ] as const
  for (const [peer, make] of workingSetPeers) {
    for (const live of sizes) {
      const driver = make()
      if (driver.missing) continue
      const label = `${peer}, ${live.toLocaleString('en-US')} live blocks, ${sizes[0].toLocaleString('en-US')} of them churned`
      cases.push({ driver, workload: workingSetChurn(12, steps, live, sizes[0]), live, label, ours: peer.startsWith('wasm-memory-manager') })
    }
  }
  const spreads = takeTurns(cases, (c) => steadyChurnOnce(c.driver, c.workload, c.live, 2 * steps))
  const rows: Row[] = []
  let first = 0
  for (const [i, c] of cases.entries()) {
    const { median, min, max } = spreads[i]
    if (c.live === sizes[0]) first = median
    const ratio = c.live === sizes[0] ? undefined : `${fmt(median / first, 2)}x the cost at 1,000 live`
    let note: string
    if (c.caches === undefined) note = ratio ? (c.ours ? `${ratio} (target <= 1.5x)` : ratio) : 'for comparison'
    else {
      const whole = await timeDriver(oursInWasm({ caches: c.caches, label: c.label }), c.workload)
      const what = ratio ? `${ratio} (target <= 1.5x)` : c.caches ? 'the default configuration' : 'every request through the treap'
      note = `${what}; the whole trace, with filling and emptying the heap: ${fmt(whole.median)} ns/op`
    }
    rows.push({ workload: 'ns/op', peer: c.label, mode: 'in-wasm loop', median, min, max, note })
  }
  return rows
}

/**
 * ns/op of one run of the churn alone, at `live` blocks: the trace's first `live` operations fill
 * the heap and its last `live` empty it, untimed (at 100,000 live they are half the trace, and most
 * of them run at other sizes of heap than the one measured).
 */
function steadyChurnOnce(driver: Driver, workload: Workload, live: number, churnOperations: number): number {
  driver.setup(workload)
  let done = driver.runRange!(0, live)
  const start = performance.now()
  done += driver.runRange!(live, churnOperations)
  const perOp = ((performance.now() - start) * 1e6) / churnOperations
  done += driver.runRange!(live + churnOperations, workload.operations - live - churnOperations)
  if (done !== workload.operations) throw new Error(`${driver.peer} stopped after ${done} of ${workload.operations} operations`)
  return perOp
}

/** Checks mode's frees between whole-heap validations in the second and third rows of each workload. */
const SPARSE_VALIDATION = 1000
/** Checks mode's quarantine in the third row. */
const QUARANTINE = 1 << 20

/**
 * checks: true against checks: false on shorter runs of workloads 1 and 2: validating the whole heap
 * on every free (O(blocks)), on every SPARSE_VALIDATION-th (validateEvery), and that with a quarantine.
 */
async function checksRows(quick: boolean): Promise<Row[]> {
  const rows: Row[] = []
  for (const workload of [smallChurn(1, quick ? 2_000 : 20_000), mixedSizes(2, quick ? 2_000 : 20_000)]) {
    const off = await timeDriver(oursThroughApi(), workload)
    const variants = [{ validateEvery: 1 }, { validateEvery: SPARSE_VALIDATION }, { validateEvery: SPARSE_VALIDATION, quarantine: QUARANTINE }]
    for (const variant of variants) {
      const on = await timeDriver(oursThroughApi({ checks: true, ...variant, label: 'wasm-memory-manager checks' }), workload)
      const settings = Object.entries(variant).filter(([name, value]) => !(name === 'validateEvery' && value === 1)).map(([name, value]) => `, ${name}: ${value}`).join('')
      const peer = `checks: true${settings} / checks: false`
      rows.push({ workload: workload.name, peer, mode: 'JS → API', median: on.median / off.median, min: on.min / off.max, max: on.max / off.min, note: `${fmt(on.median)} vs ${fmt(off.median)} ns/op` })
    }
  }
  return rows
}

function ratio(rows: Row[], workload: string, peer: string, mode: string, against: string, againstMode: string): string {
  const mine = rows.find((r) => r.workload === workload && r.peer === peer && r.mode === mode)
  const theirs = rows.find((r) => r.workload === workload && r.peer === against && r.mode === againstMode)
  if (!mine || !theirs || Number.isNaN(mine.median) || Number.isNaN(theirs.median)) return 'n/a (peer missing)'
  return `${fmt(mine.median / theirs.median, 2)}x`
}

function markdown(heap: Row[], checks: Row[], extras: Row[], wasmBytes: number, workloads: Workload[]): string {
  const when = new Date().toISOString().slice(0, 10)
  const machine = `${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.versions.node}`
  const lines = [
    `# Benchmark results`,
    '',
    `Measured ${when} on ${machine}. ${runs} timed runs of each trace on a fresh allocator, the allocators taking turns (after a warm-up run each, in rounds that each take them in a shuffled order); ns/op is the median (min..max).`,
    'Memory is bytes reserved (pool, or linear memory, at the end) / peak bytes live. Regenerate with `npm run bench`.',
    '',
  ]
  for (const workload of workloads) {
    lines.push(`## ${workload.name}: ${workload.description}`, '', `${workload.operations.toLocaleString('en-US')} operations, trace checksum \`${workload.checksum}\`, peak live ${workload.peakLive.toLocaleString('en-US')} B.`, '')
    lines.push('| allocator | driven | ns/op median | min..max | reserved / peak live | note |', '|---|---|---:|---:|---:|---|')
    for (const row of heap.filter((r) => r.workload === workload.name)) {
      const time = Number.isNaN(row.median) ? 'missing' : fmt(row.median)
      const range = Number.isNaN(row.median) ? '' : `${fmt(row.min)}..${fmt(row.max)}`
      lines.push(`| ${row.peer} | ${row.mode} | ${time} | ${range} | ${row.memory === undefined ? '' : fmt(row.memory, 2)} | ${row.note ?? ''} |`)
    }
    lines.push('')
  }
  lines.push('## Targets (ratios in the same run)', '', '| target | small-churn | mixed-sizes |', '|---|---:|---:|')
  const target = (label: string, f: (w: string) => string) => lines.push(`| ${label} | ${f('small-churn')} | ${f('mixed-sizes')} |`)
  target('in-wasm loop vs TLSF in-wasm (<= 0.80)', (w) => ratio(heap, w, 'wasm-memory-manager', 'in-wasm loop', 'AssemblyScript TLSF', 'in-wasm loop'))
  target('in-wasm loop vs dlmalloc in-wasm (<= 1.00)', (w) => ratio(heap, w, 'wasm-memory-manager', 'in-wasm loop', 'dlmalloc (wasi-libc)', 'in-wasm loop'))
  target('public API vs TLSF driven from JS (<= 0.80)', (w) => ratio(heap, w, 'wasm-memory-manager', 'JS → API', 'AssemblyScript TLSF', 'JS → API'))
  target('reserved / peak live (<= 1.10)', (w) => {
    const row = heap.find((r) => r.workload === w && r.peer === 'wasm-memory-manager' && r.mode === 'in-wasm loop')
    return row?.memory === undefined ? 'n/a' : fmt(row.memory, 2)
  })
  lines.push(`| release .wasm with every feature (<= 8192 B) | ${wasmBytes} B | |`, '')
  lines.push('## Checks mode', '', `The same workloads with 20,000 steps: the whole heap validated on every free, on every ${SPARSE_VALIDATION.toLocaleString('en-US')}th (\`validateEvery\`), and that with a quarantine of ${QUARANTINE.toLocaleString('en-US')} bytes.`, '', '| workload | compared | ratio | note |', '|---|---|---:|---|')
  for (const row of checks) lines.push(`| ${row.workload} | ${row.peer} | ${fmt(row.median, 2)}x | ${row.note} |`)
  lines.push('')
  lines.push('## Stack allocator, fingerprints and threads', '', '| what | figure | note |', '|---|---:|---|')
  for (const row of extras) lines.push(`| ${row.peer} (${row.mode}) | ${fmt(row.median, 2)} ${row.workload} | ${row.note ?? ''} |`)
  lines.push('')
  return lines.join('\n')
}

const workloads = values.quick ? quickWorkloads() : allWorkloads()
console.log(`wasm-memory-manager benchmark: ${runs} runs a trace`)
const heap = await heapRows(workloads)
console.log('\nchecks mode:')
const checks = await checksRows(values.quick)
for (const row of checks) console.log(`  ${row.workload}: ${row.peer} = ${fmt(row.median, 2)}x (${row.note})`)
console.log('\nstack, fingerprints, threads:')
const extras = [...(await scalingRows(values.quick)), ...(await stackRows(workloads.find((w) => w.name === 'lifo')!, runs)), ...(await clearRows(runs)), ...(await fingerprintRows(runs)), ...(await threadRows(values.quick))]
for (const row of extras) console.log(`  ${row.peer} (${row.mode}): ${fmt(row.median, 2)} ${row.workload} ${row.note ?? ''}`)
const wasmBytes = statSync(new URL('../build/wasm-memory-manager.wasm', import.meta.url)).size
console.log(`\nrelease .wasm: ${wasmBytes} bytes`)
const report = markdown(heap, checks, extras, wasmBytes, workloads)
if (!values.quick) {
  writeFileSync(new URL('./RESULTS.md', import.meta.url), report)
  writeFileSync(new URL('./results.json', import.meta.url), JSON.stringify({ date: new Date().toISOString(), runs, heap, checks, extras, wasmBytes }, null, 2))
  console.log('\nwritten: bench/RESULTS.md, bench/results.json')
}
console.log('\n' + report.split('## Targets')[1]?.split('## Checks')[0]?.trim())
