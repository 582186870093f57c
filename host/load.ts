// Loading the packaged .wasm, in Node and in browsers, and instantiating it over a memory.
//
// Two builds ship: one importing a shared memory (threads) and one importing an unshared memory,
// for pages that are not cross-origin isolated (a shared memory cannot be posted there, and a
// module declaring a shared import cannot link to an unshared memory). Both are compiled once per
// process and cached; a compiled module is what a handle carries to other threads.

import { instantiateSync } from '@assemblyscript/loader'
import type { WasmExports } from './wasm-exports.js'
import { guardExports } from './trap-guard.js'
import { MemoryError } from './errors.js'

const WASM_PAGE = 65536

/**
 * The URL of a packaged build, next to this file's folder: works from host/ and from dist/, and the
 * literal `new URL('...', import.meta.url)` form is what bundlers (Vite, webpack) recognise as an
 * asset to ship, so no configuration is needed there either.
 */
function wasmUrl(shared: boolean): URL {
  return shared
    ? new URL('../build/wasm-memory-manager.wasm', import.meta.url)
    : new URL('../build/wasm-memory-manager.unshared.wasm', import.meta.url)
}

/** True where a shared WebAssembly.Memory can be made and posted to workers. */
export function sharedMemoryAvailable(): boolean {
  if (typeof SharedArrayBuffer === 'undefined') return false
  const isolated = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated
  return isolated === undefined || isolated === true
}

interface NodeFs {
  readFileSync(path: URL): Uint8Array<ArrayBuffer>
  promises: { readFile(path: URL): Promise<Uint8Array<ArrayBuffer>> }
}

function nodeFs(): NodeFs | undefined {
  const proc = (globalThis as { process?: { getBuiltinModule?: (name: string) => unknown } }).process
  return proc?.getBuiltinModule?.('node:fs') as NodeFs | undefined
}

const compiled = new Map<boolean, WebAssembly.Module>()

/** The compiled module, when it is already there (after loadModule, or in Node always). */
export function moduleSync(shared: boolean): WebAssembly.Module {
  const cached = compiled.get(shared)
  if (cached) return cached
  const fs = nodeFs()
  if (!fs) {
    throw new Error(
      'wasm-memory-manager: the .wasm is not loaded yet in this environment; ' +
        'use `await MemoryManager.create()` or call `await loadMemoryManager()` once before the synchronous API',
    )
  }
  const module = new WebAssembly.Module(fs.readFileSync(wasmUrl(shared)))
  compiled.set(shared, module)
  return module
}

/** Compiles (streaming where the browser can) and caches the module. */
export async function loadModule(shared: boolean): Promise<WebAssembly.Module> {
  const cached = compiled.get(shared)
  if (cached) return cached
  const fs = nodeFs()
  let module: WebAssembly.Module
  if (fs) {
    module = await WebAssembly.compile(await fs.promises.readFile(wasmUrl(shared)))
  } else if (typeof WebAssembly.compileStreaming === 'function') {
    module = await WebAssembly.compileStreaming(fetch(wasmUrl(shared)))
  } else {
    module = await WebAssembly.compile(await (await fetch(wasmUrl(shared))).arrayBuffer())
  }
  compiled.set(shared, module)
  return module
}

/** Loads both builds, so that every synchronous constructor works afterwards (browsers). */
export async function loadMemoryManager(): Promise<void> {
  await loadModule(false)
  if (sharedMemoryAvailable()) await loadModule(true)
}

/** The lock words this thread holds through Allocator.locked (exclusive() among others), by memory. */
const heldLockWords = new WeakMap<WebAssembly.Memory, Set<number>>()

/** Notes that this thread took (`held`) or released the allocator lock at `word` of `memory`. */
export function noteLockHeld(memory: WebAssembly.Memory, word: number, held: boolean): void {
  let words = heldLockWords.get(memory)
  if (!words) heldLockWords.set(memory, (words = new Set()))
  if (held) words.add(word)
  else words.delete(word)
}

/**
 * How long one acquisition of the lock may wait before this thread says so on the console. The
 * lock is held for microseconds (a call) or for as long as an `exclusive()` runs; a lock still
 * taken after seconds is most likely held by a thread that was stopped inside a call
 * (`worker.terminate()`), which never lets go: without the message, that is a silent hang.
 */
const LOCK_STALL_MS = 5000

/**
 * The wasm lock sleeps through this import (see assembly/lock.ts for why not in wasm). Where this
 * thread may not wait (a browser's main thread, an unshared memory), it returns true at once and
 * the wasm side spins, pausing between tries. A wait for a lock this very thread holds would never
 * end (no other thread can release it): that throws instead, before the call has changed anything
 * (the lock is its first step). `tries` counts the waits of one acquisition (0: its first), so a
 * wait that has lasted LOCK_STALL_MS is reported once, and the wait goes on; one that has lasted
 * `lockTimeout` ms (the allocator's option; Infinity by default) throws LOCK_TIMEOUT, again before
 * the call has changed anything.
 */
function lockWaitFor(memory: WebAssembly.Memory, lockTimeout: number): (address: number, expected: number, tries: number) => boolean {
  let words: Int32Array | undefined
  let mayWait = true
  let waitingSince = 0
  let reported = false
  return (address, expected, tries) => {
    if (heldLockWords.get(memory)?.has(address)) {
      throw new Error(`deadlock refused: this thread already holds the allocator's lock (word ${address}), so waiting for it would never end`)
    }
    const now = performance.now()
    if (tries === 0) {
      waitingSince = now
      reported = false
    } else if (now - waitingSince >= lockTimeout) {
      throw new MemoryError('LOCK_TIMEOUT', `waited ${Math.round(now - waitingSince)} ms for the lock of the allocator at ${address}, its lockTimeout: another thread holds it (one stopped inside a call never lets go); this call did nothing`)
    } else if (!reported && now - waitingSince >= LOCK_STALL_MS) {
      reported = true
      reportStall(address, now - waitingSince)
    }
    if (!mayWait) return true
    const buffer = memory.buffer
    if (!words || words.buffer !== buffer) words = new Int32Array(buffer)
    // Until the lock's release wakes this thread, or until the stall report or the timeout is due.
    const due = Math.min(reported ? Infinity : waitingSince + LOCK_STALL_MS, waitingSince + lockTimeout) - now
    try {
      Atomics.wait(words, address >>> 2, expected, due === Infinity ? undefined : Math.max(0, due))
      return false
    } catch {
      mayWait = false
      return true
    }
  }
}

function reportStall(lockWord: number, waitedMs: number): void {
  console.warn(
    `wasm-memory-manager: this thread has waited ${(waitedMs / 1000).toFixed(1)} s for the lock of the allocator at ${lockWord}, ` +
      'and waits on. Another thread holds it: one inside a long exclusive(), or one that was stopped inside a call ' +
      '(worker.terminate()), which never lets go. See README, Threads.',
  )
}

/**
 * An instance of the module over `memory`, through the loader (which supplies the runtime's own
 * imports). Its exports are the instance's own functions behind trap guards of their own arity
 * (trap-guard.ts), not the loader's demangled copies: those wrap each one in a
 * `(...args) => fn(...args)` closure for optional arguments, which this module does not have, and
 * the rest array and spread cost a third of a small malloc called from JavaScript.
 */
export function instantiateOver(module: WebAssembly.Module, memory: WebAssembly.Memory, lockTimeout = Infinity): WasmExports {
  const env = { memory, lockWait: lockWaitFor(memory, lockTimeout) }
  const { instance } = instantiateSync<Record<string, unknown>>(module, { env } as Parameters<typeof instantiateSync>[1])
  const exports = guardExports<WasmExports>(instance.exports as Record<string, unknown>)
  exports.instance_set_face?.(faceName()) // (optional: bench/ab.ts may load a build from before it)
  return exports
}

/**
 * A name for a new instance (a face, in one thread): the lock's holder word names the face that
 * holds it, so that another thread can take the lock over from a face whose thread ended inside a
 * call (Allocator.recoverLock). Random, nonzero: two faces share one with odds of 2^-32.
 */
function faceName(): number {
  const name = new Uint32Array(1)
  do globalThis.crypto.getRandomValues(name)
  while (name[0] === 0)
  return name[0]
}

const probes = new Map<WebAssembly.Module, WasmExports>()

/** An instance over a scratch memory, to ask the module about its layout before sizing a memory. */
export function probe(module: WebAssembly.Module, shared: boolean): WasmExports {
  let exports = probes.get(module)
  if (!exports) {
    exports = instantiateOver(module, new WebAssembly.Memory({ initial: 1, maximum: 1, shared }))
    probes.set(module, exports)
  }
  return exports
}

export function pagesFor(bytes: number): number {
  return Math.ceil(bytes / WASM_PAGE)
}

/** A memory that starts at `initialBytes` and may grow to `maximumBytes`. */
export function createMemory(initialBytes: number, maximumBytes: number, shared: boolean): WebAssembly.Memory {
  const initial = Math.max(1, pagesFor(initialBytes))
  const maximum = Math.max(initial, pagesFor(maximumBytes))
  return new WebAssembly.Memory({ initial, maximum, shared })
}
