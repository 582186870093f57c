// A trap in the wasm module becomes a MemoryError, and the lock the trapped call held is released.
//
// The module checks every pointer, header and link it is given or follows, and answers with an
// error code; it trusts only its control block (the words before the pool: pool start, sentinel,
// limit, see assembly/control.ts), which no check defends (a bounds check on every call cost 4% of
// a small malloc). A stray write there (a raw view written before its block's start, say) can make
// a call read or write past the memory: WebAssembly traps, and the call leaves wasm at once, past
// the place that would release the allocator's lock. Left so, the next call of any thread on that
// heap would wait for the lock forever. So a RuntimeError (a trap, and only a trap: a JavaScript
// error thrown by an import, such as the lock's deadlock refusal, passes unchanged) makes the host
// ask the instance to release the lock its call took (instance_after_trap, assembly/index.ts), and
// throws CORRUPTION instead.
//
// Two ways, for speed: the small operations a program calls in its loops (CALLED_BARE: malloc,
// free, push, pop) call the export itself inside a try in the method (trapped); every other export
// (realloc and calloc among them, whose own work is hundreds of nanoseconds) is reached through a
// wrapper of its own arity (guard: no rest arguments and spread; written out, not generated, which
// a page's Content-Security-Policy may forbid). A function of JavaScript between a method and the
// export, even one that only passed its arguments on, cost about 5 ns of a 36 ns malloc and free
// from JavaScript (bench/peers.ts' API driver), and the wrapped exports sit in a copy made by
// spreading the exports object: one built up property by property made even the bare calls read
// through it slower.

import { MemoryError } from './errors.js'

type Exported = (...args: number[]) => unknown

/** What a call that trapped throws, after the lock it held (if any) is released. */
function afterTrap(error: unknown, release: () => void): unknown {
  if (!(error instanceof WebAssembly.RuntimeError)) return error
  release()
  return new MemoryError(
    'CORRUPTION',
    `the allocator trapped in WebAssembly (${error.message}): its control block, before the pool, was overwritten`,
  )
}

function guard(fn: Exported, release: () => void): Exported {
  switch (fn.length) {
    case 0: return function () { try { return fn() } catch (e) { throw afterTrap(e, release) } }
    case 1: return function (a: number) { try { return fn(a) } catch (e) { throw afterTrap(e, release) } }
    case 2: return function (a: number, b: number) { try { return fn(a, b) } catch (e) { throw afterTrap(e, release) } }
    case 3: return function (a: number, b: number, c: number) { try { return fn(a, b, c) } catch (e) { throw afterTrap(e, release) } }
    case 4: return function (a: number, b: number, c: number, d: number) { try { return fn(a, b, c, d) } catch (e) { throw afterTrap(e, release) } }
    default: return function (...args: number[]) { try { return fn(...args) } catch (e) { throw afterTrap(e, release) } }
  }
}

/** The exports the host's methods call bare (see above), catching a trap themselves (trapped). */
export const CALLED_BARE = new Set(['heap_malloc', 'heap_free', 'stack_push', 'stack_pop', 'unlocked_stack_push', 'unlocked_stack_pop'])

/** For a method that calls an export bare: what to throw for `error` (see afterTrap). */
export function trapped(error: unknown, wasm: { instance_after_trap(): void }): unknown {
  return afterTrap(error, () => wasm.instance_after_trap())
}

/** The instance's exports, each function behind a guard but those CALLED_BARE; the memory as it is. */
export function guardExports<T>(exports: Record<string, unknown>): T {
  const afterTrapExport = exports.instance_after_trap as (() => void) | undefined
  const release = () => afterTrapExport?.() // (a build from before it: bench/ab.ts may load one)
  const guarded = { ...exports }
  for (const [name, value] of Object.entries(exports)) {
    if (typeof value === 'function' && name !== 'instance_after_trap' && !CALLED_BARE.has(name)) guarded[name] = guard(value as Exported, release)
  }
  return guarded as T
}
