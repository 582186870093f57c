// V8's listing of the machine code it compiled for a wasm module (node --print-wasm-code), read
// against the module's text (the .wat that bench/build-peers.sh writes beside a bench build), so
// that a machine address can be named: which wasm function, which instruction. bench/functions.ts
// (instructions counted by valgrind) and bench/samples.ts (time sampled by perf) both read it.

/** Function names in index order (imported functions first), from the build's text. */
export function functionNames(wat: string): string[] {
  const imported = [...wat.matchAll(/^ \(import "[^"]*" "[^"]*" \(func \$(\S+)/gm)].map((m) => m[1])
  const defined = [...wat.matchAll(/^ \(func \$(\S+)/gm)].map((m) => m[1])
  return [...imported, ...defined]
}

/** Each machine instruction of V8's --print-wasm-code listing, with the wasm function it belongs to. */
export function* listedInstructions(listing: string, names: string[]): Generator<{ name: string; address: number; text: string }> {
  let name: string | undefined
  for (const line of listing.split('\n')) {
    const header = /^name: wasm-function\[(\d+)\]/.exec(line)
    if (header) {
      name = names[Number(header[1])] ?? `wasm-function[${header[1]}]`
      continue
    }
    if (line.startsWith('--- End code')) name = undefined
    const instruction = /^0x([0-9a-f]+)\s+[0-9a-f]+\s+(\S+\s+(.*))?/.exec(line)
    if (name !== undefined && instruction) yield { name, address: parseInt(instruction[1], 16), text: instruction[3] ?? '' }
  }
}

export interface CodeRange { start: number; end: number; name: string }
/** Each compiled function's machine code addresses. */
export function codeRanges(listing: string, names: string[]): CodeRange[] {
  const byName = new Map<string, CodeRange>()
  for (const { name, address } of listedInstructions(listing, names)) {
    const range = byName.get(name) ?? { start: Infinity, end: 0, name }
    byName.set(name, range)
    range.start = Math.min(range.start, address)
    range.end = Math.max(range.end, address + 16) // (the safepoint table lists addresses too)
  }
  return [...byName.values()].sort((a, b) => a.start - b.start)
}

/** The function whose code holds `address` (ranges sorted by start), or undefined outside them. */
export function functionAt(ranges: CodeRange[], address: number): string | undefined {
  const at = lastAtOrBefore(ranges.length, (i) => ranges[i].start, address)
  return at >= 0 && address < ranges[at].end ? ranges[at].name : undefined
}

/** Of `count` items sorted by `startOf`, the index of the last that starts at or before `address`, or -1. */
export function lastAtOrBefore(count: number, startOf: (index: number) => number, address: number): number {
  let low = 0
  let high = count - 1
  let found = -1
  while (low <= high) {
    const mid = (low + high) >> 1
    if (startOf(mid) <= address) { found = mid; low = mid + 1 } else high = mid - 1
  }
  return found
}

/**
 * Prints the listed instructions of the functions whose names contain `pattern`, under each
 * function's name, each after its `figure` (a column `width` wide, blank for '').
 */
export function printAnnotated(instructions: Iterable<{ name: string; address: number; text: string }>, pattern: string, figure: (address: number) => string, width: number): void {
  let current = ''
  for (const { name, address, text } of instructions) {
    if (!name.includes(pattern)) continue
    if (name !== current) console.log(`\n${(current = name)}`)
    console.log(`${figure(address).padStart(width)}  ${text}`)
  }
}
