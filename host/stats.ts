// Reading a statistics record (assembly/stats.ts) out of wasm memory. Call with the allocator locked.

import type { WasmExports } from './wasm-exports.js'

/** Field offsets of the record, in assembly/stats.ts order. */
const FIELDS = {
  totalAllocated: 0,
  totalFreed: 8,
  currentUsage: 16,
  peakUsage: 24,
  allocationCount: 32,
  freeCount: 40,
  failedAllocations: 48,
  liveBlocks: 56,
} as const

export type StatsRecord = { -readonly [K in keyof typeof FIELDS]: number }

export function readStatsRecord(wasm: WasmExports, address: number): StatsRecord {
  const record = {} as StatsRecord
  for (const [name, offset] of Object.entries(FIELDS) as [keyof StatsRecord, number][]) {
    record[name] = wasm.stat_read(address, offset)
  }
  return record
}

/** 100 * (1 - largest / free), 0 when nothing is free. */
export function fragmentationPercent(largestFreeBlock: number, freeBytes: number): number {
  return freeBytes === 0 ? 0 : 100 * (1 - largestFreeBlock / freeBytes)
}
