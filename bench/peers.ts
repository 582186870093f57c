// The allocators the benchmark compares, each behind one small driver: set up a fresh allocator
// (untimed), replay a trace (timed), say how many bytes it reserved. Every driver replays the same
// trace; `run` returns the operations it completed, which must be all of them.

import { readFileSync, existsSync, writeFileSync, mkdtempSync } from 'node:fs'
import { execFileSync } from 'node:child_process'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { WASI } from 'node:wasi'
import { MemPool } from '@thi.ng/malloc'
import { MemoryManager } from '../host/index.js'
import { instantiateOver } from '../host/load.js'
import type { WasmExports } from '../host/wasm-exports.js'
import { MALLOC, FREE, type Workload } from './workloads.js'

export type Mode = 'JS → API' | 'in-wasm loop' | 'native'

export interface Driver {
  peer: string
  mode: Mode
  /** Why this peer cannot run here, when it cannot. */
  missing?: string
  setup(workload: Workload): void
  run(workload: Workload): number
  /** Replays operations [from, from + count) of the trace only (the in-wasm drivers). */
  runRange?(from: number, count: number): number
  /** Bytes the allocator holds from the system after the run (its pool, its linear memory). */
  reserved(): number
}

const BUILD = new URL('../build/bench/', import.meta.url)
const GROWTH_LIMIT = 1 << 30
const START_POOL = 64 * 1024
const PAGE = 65536

function wasmFile(name: string): Uint8Array<ArrayBuffer> | undefined {
  const url = new URL(name, BUILD)
  return existsSync(url) ? (readFileSync(url) as Uint8Array<ArrayBuffer>) : undefined
}

type ReplayJs = (trace: Int32Array, slots: Uint32Array, malloc: (size: number) => number, free: (ptr: number) => void, realloc: (ptr: number, size: number) => number) => number

/**
 * The loop that replays a trace through three JS functions (the JS-driven mode of every peer), a
 * fresh copy for each driver: compiled from source (new Function), each copy has its own type
 * feedback and optimised code, so each allocator's calls are monomorphic, as in a program of its
 * own. One loop shared by all made its calls megamorphic, and an allocator's figure depended on
 * which ran before it (small-churn through this allocator's API read 42.6 and 54.4 ns/op in two
 * runs ten minutes apart, TLSF's 37.7 and 39.6).
 */
function freshReplayJs(): ReplayJs {
  return new Function('trace', 'slots', 'malloc', 'free', 'realloc', `
    const operations = trace.length / 3
    for (let i = 0; i < operations; i++) {
      const op = trace[3 * i]
      const slot = trace[3 * i + 1]
      if (op === ${MALLOC}) {
        const ptr = malloc(trace[3 * i + 2])
        if (ptr === 0) return i
        slots[slot] = ptr
      } else if (op === ${FREE}) {
        free(slots[slot])
      } else {
        const ptr = realloc(slots[slot], trace[3 * i + 2])
        if (ptr === 0) return i
        slots[slot] = ptr
      }
    }
    return operations`) as ReplayJs
}

// ─── This allocator ──────────────────────────────────────────────────────────────────────────────

export function oursThroughApi(options: { checks?: boolean; validateEvery?: number; quarantine?: number; label?: string } = {}): Driver {
  const replayJs = freshReplayJs()
  let mm: MemoryManager
  let slots: Uint32Array
  return {
    peer: options.label ?? 'wasm-memory-manager',
    mode: 'JS → API',
    setup(workload) {
      mm = MemoryManager.createSync({ size: START_POOL, maxSize: GROWTH_LIMIT, checks: options.checks ?? false, validateEvery: options.validateEvery, quarantine: options.quarantine })
      slots = new Uint32Array(workload.slots)
    },
    run(workload) {
      return replayJs(workload.trace, slots, (size) => mm.malloc(size), (ptr) => mm.free(ptr), (ptr, size) => mm.realloc(ptr, size))
    },
    reserved: () => mm.stats().poolSize,
  }
}

/**
 * This allocator's bench build (bench/assembly/ours.ts): the trace sits below the heap, in the same
 * memory. `caches: false` sends every request through the free index (the scaling figures).
 */
export function oursInWasm(options: { caches?: boolean; label?: string; file?: string; locked?: boolean } = {}): Driver {
  const bytes = wasmFile(options.file ?? 'ours.wasm')
  const module = bytes && new WebAssembly.Module(bytes)
  let wasm: WasmExports & { replay_heap(heap: number, trace: number, operations: number, slots: number): number }
  let heap = 0
  let traceAt = 0
  let slotsAt = 0
  return {
    peer: options.label ?? 'wasm-memory-manager',
    mode: 'in-wasm loop',
    missing: module ? undefined : 'build/bench/ours.wasm not built (bench/build-peers.sh)',
    setup(workload) {
      const memory = new WebAssembly.Memory({ initial: 1, maximum: GROWTH_LIMIT / PAGE, shared: true })
      wasm = instantiateOver(module!, memory) as typeof wasm
      // As MemoryManager.create sets it: one thread alone, until a handle is read (assembly/index.ts).
      // `locked: true` is a heap shared with other threads: every operation takes the lock.
      if (!options.locked) wasm.instance_set_sole_thread?.(1) // optional: bench/ab.ts may load a build from before it
      traceAt = wasm.region_start() >>> 0
      slotsAt = traceAt + workload.trace.byteLength
      heap = Math.ceil((slotsAt + workload.slots * 4) / 64) * 64
      const need = wasm.heap_pool_start_for(heap, 8) + START_POOL
      memory.grow(Math.ceil(need / PAGE) - memory.buffer.byteLength / PAGE)
      new Int32Array(memory.buffer, traceAt, workload.trace.length).set(workload.trace)
      const options2 = options.caches === false ? 2 /* OPTION_NO_CACHES */ : 0
      if (wasm.heap_init(heap, START_POOL, GROWTH_LIMIT - need - PAGE, 8, 0, options2, 0) !== 0) throw new Error('heap_init failed')
    },
    run: (workload) => wasm.replay_heap(heap, traceAt, workload.operations, slotsAt) >>> 0,
    runRange: (from, count) => wasm.replay_heap(heap, traceAt + from * 12, count, slotsAt) >>> 0,
    reserved: () => wasm.heap_pool_size(heap) >>> 0,
  }
}

// ─── Peers compiled to wasm with their own memory: TLSF and dlmalloc ─────────────────────────────

/** What a peer module exports, under its own names for malloc, free and realloc. */
interface PeerExports {
  memory: WebAssembly.Memory
  malloc(size: number): number
  free(ptr: number): void
  realloc(ptr: number, size: number): number
  heap_base(): number
  replay_heap(trace: number, operations: number, slots: number): number
}

/**
 * A peer module that allocates in its own linear memory. In-wasm mode, the trace and the slot table
 * are allocated from the peer's own heap first (and left out of what it reserved).
 */
function wasmPeer(peer: string, file: string, missing: string, mode: 'JS → API' | 'in-wasm loop', instantiate: (module: WebAssembly.Module) => PeerExports): Driver {
  const bytes = wasmFile(file)
  const module = bytes && new WebAssembly.Module(bytes)
  const replayJs = freshReplayJs()
  let wasm: PeerExports
  let slots: Uint32Array
  let traceAt = 0
  let slotsAt = 0
  let ownBytes = 0
  return {
    peer,
    mode,
    missing: module ? undefined : missing,
    setup(workload) {
      wasm = instantiate(module!)
      slots = new Uint32Array(workload.slots)
      ownBytes = 0
      if (mode === 'in-wasm loop') {
        traceAt = wasm.malloc(workload.trace.byteLength) >>> 0
        slotsAt = wasm.malloc(workload.slots * 4) >>> 0
        new Int32Array(wasm.memory.buffer, traceAt, workload.trace.length).set(workload.trace)
        ownBytes = workload.trace.byteLength + workload.slots * 4
      }
    },
    run(workload) {
      if (mode === 'in-wasm loop') return wasm.replay_heap(traceAt, workload.operations, slotsAt) >>> 0
      return replayJs(workload.trace, slots, (size) => wasm.malloc(size) >>> 0, (ptr) => wasm.free(ptr), (ptr, size) => wasm.realloc(ptr, size) >>> 0)
    },
    runRange: mode === 'in-wasm loop' ? (from, count) => wasm.replay_heap(traceAt + from * 12, count, slotsAt) >>> 0 : undefined,
    reserved: () => wasm.memory.buffer.byteLength - (wasm.heap_base() >>> 0) - ownBytes,
  }
}

/** AssemblyScript's TLSF, built with --runtime minimal (bench/assembly/tlsf.ts). */
export function tlsf(mode: 'JS → API' | 'in-wasm loop'): Driver {
  return wasmPeer('AssemblyScript TLSF', 'tlsf.wasm', 'build/bench/tlsf.wasm not built (bench/build-peers.sh)', mode, (module) => {
    const exports = new WebAssembly.Instance(module, { env: { abort: () => { throw new Error('TLSF aborted') } } }).exports as Record<string, unknown>
    return { ...exports, malloc: exports.alloc } as unknown as PeerExports
  })
}

/** wasi-libc's dlmalloc, built with Debian's clang (bench/c/dlmalloc.c). */
export function dlmalloc(mode: 'JS → API' | 'in-wasm loop'): Driver {
  return wasmPeer('dlmalloc (wasi-libc)', 'dlmalloc.wasm', 'not built: needs Debian clang, lld, wasi-libc, libclang-rt-14-dev-wasm32 (bench/build-peers.sh)', mode, (module) => {
    const wasi = new WASI({ version: 'preview1', returnOnExit: true })
    const instance = new WebAssembly.Instance(module, wasi.getImportObject() as WebAssembly.Imports)
    wasi.start(instance) // runs main (which returns at once) so libc is initialised
    const exports = instance.exports as Record<string, unknown>
    return { ...exports, malloc: exports.bench_malloc, free: exports.bench_free, realloc: exports.bench_realloc } as unknown as PeerExports
  })
}

// ─── @thi.ng/malloc ──────────────────────────────────────────────────────────────────────────────

export function thingMalloc(): Driver {
  const replayJs = freshReplayJs()
  let pool: MemPool
  let slots: Uint32Array
  let top = 0
  return {
    peer: '@thi.ng/malloc',
    mode: 'JS → API',
    setup(workload) {
      pool = new MemPool({ size: 256 * 1024 * 1024 })
      slots = new Uint32Array(workload.slots)
      top = 0
    },
    run(workload) {
      // Its top moves down again when the last block is freed: sample the high-water mark as it runs.
      let calls = 0
      const malloc = (size: number) => {
        const ptr = pool.malloc(size)
        if ((++calls & 1023) === 0) top = Math.max(top, pool.stats().top)
        return ptr
      }
      const done = replayJs(workload.trace, slots, malloc, (ptr) => { pool.free(ptr) }, (ptr, size) => pool.realloc(ptr, size))
      top = Math.max(top, pool.stats().top)
      return done
    },
    reserved: () => top,
  }
}

/** Peers that cannot run a workload, and why (the table says so). */
export function cannotRun(driver: Driver, workload: Workload): string | undefined {
  if (driver.peer === '@thi.ng/malloc' && workload.name === 'realloc') {
    return 'not run: its realloc leaks the old block whenever it moves, and its free walks the used list, so the run slows to minutes'
  }
  if (driver.peer === '@thi.ng/malloc' && workload.name === 'drain') {
    return 'not run: its free walks the used list (about 34 µs a free at 10,000 live on small-churn): minutes a run'
  }
  return undefined
}

// ─── glibc malloc, natively ──────────────────────────────────────────────────────────────────────

export interface NativeResult {
  nsPerOp: number[]
  reserved: number
}

export function glibcAvailable(): string | undefined {
  return existsSync(new URL('glibc-bench', BUILD)) ? undefined : 'not built: needs gcc (bench/build-peers.sh)'
}

/** Runs the native replay `runs` times in its own process. */
export function runGlibc(workload: Workload, runs: number): NativeResult {
  const dir = mkdtempSync(join(tmpdir(), 'wmm-bench-'))
  const file = join(dir, `${workload.name}.trace`)
  writeFileSync(file, new Uint8Array(workload.trace.buffer, workload.trace.byteOffset, workload.trace.byteLength))
  const out = execFileSync(new URL('glibc-bench', BUILD).pathname, [file, String(runs), String(workload.slots)], { encoding: 'utf8' })
  const parsed = JSON.parse(out) as { ns: number[]; reserved: number }
  return { nsPerOp: parsed.ns, reserved: parsed.reserved }
}
