// Test helpers: a seeded PRNG (so failures replay), byte patterns that tell blocks apart, and a
// worker that runs a scenario which could hang.

import { Worker } from 'node:worker_threads'
import { MemoryError } from '../../host/index.js'
export { seededRandom } from '../../fuzz/random.js'

/** The MemoryError `call` throws; anything else it throws passes through, and no error fails the test. */
export function thrown(call: () => unknown): MemoryError {
  try {
    call()
  } catch (error) {
    if (error instanceof MemoryError) return error
    throw error
  }
  throw new Error('expected a MemoryError')
}

export function randomInt(random: () => number, low: number, high: number): number {
  return low + Math.floor(random() * (high - low + 1))
}

/** The byte at `index` of a block filled with pattern `tag`. */
export function patternByte(tag: number, index: number): number {
  return (tag * 31 + index * 7) & 0xff
}

export function fillPattern(view: Uint8Array, tag: number, length = view.length): void {
  for (let i = 0; i < length; i++) view[i] = patternByte(tag, i)
}

/** Index of the first byte that differs from the pattern, or -1. */
export function patternMismatch(view: Uint8Array, tag: number, length = view.length): number {
  for (let i = 0; i < length; i++) if (view[i] !== patternByte(tag, i)) return i
  return -1
}

/**
 * Runs a scenario that could hang (a wait for a lock nobody will release) in a worker, so that a
 * broken guard fails the test by `timeoutMs` instead of hanging the suite: the worker's one
 * message, or `{ error }` (the timeout's `hang` text, or what the worker threw). The worker ends.
 */
export function outcomeOfWorker<T extends object>(script: URL, hang: string, workerData?: unknown, timeoutMs = 15_000): Promise<T & { error?: string }> {
  return new Promise((resolve) => {
    const worker = new Worker(script, { workerData })
    const timer = setTimeout(() => {
      void worker.terminate()
      resolve({ error: `timed out: ${hang}` } as T & { error?: string })
    }, timeoutMs)
    worker.once('message', (message) => { clearTimeout(timer); void worker.terminate(); resolve(message) })
    worker.once('error', (error) => { clearTimeout(timer); resolve({ error: String(error) } as T & { error?: string }) })
  })
}
