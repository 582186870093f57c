// Test helpers: a seeded PRNG (so failures replay) and byte patterns that tell blocks apart.

export { seededRandom } from '../../fuzz/random.js'

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
