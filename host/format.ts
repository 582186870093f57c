// Human-readable renderings: the statistics table of printStats().

import type { MemoryStats } from './api.js'

const ROWS: ReadonlyArray<[keyof MemoryStats, string, 'bytes' | 'count' | 'percent']> = [
  ['totalAllocated', 'Total allocated', 'bytes'],
  ['totalFreed', 'Total freed', 'bytes'],
  ['currentUsage', 'Current usage', 'bytes'],
  ['peakUsage', 'Peak usage', 'bytes'],
  ['allocationCount', 'Allocations', 'count'],
  ['freeCount', 'Frees', 'count'],
  ['failedAllocations', 'Failed allocations', 'count'],
  ['fragmentation', 'Fragmentation', 'percent'],
  ['poolSize', 'Pool size', 'bytes'],
  ['freeBytes', 'Free bytes', 'bytes'],
  ['largestFreeBlock', 'Largest free block', 'bytes'],
  ['liveBlocks', 'Live blocks', 'count'],
  ['freeBlocks', 'Free blocks', 'count'],
  ['heldBytes', 'Held free bytes', 'bytes'],
  ['heldBlocks', 'Held free blocks', 'count'],
]

function formatValue(value: number, unit: 'bytes' | 'count' | 'percent'): string {
  if (unit === 'percent') return `${value.toFixed(2)} %`
  const grouped = value.toLocaleString('en-US')
  return unit === 'bytes' ? `${grouped} B` : grouped
}

/** A two-column table, one statistic a row, under `title`. */
export function formatStatsTable(stats: MemoryStats, title: string, omit: ReadonlyArray<keyof MemoryStats> = []): string {
  const rows = ROWS.filter(([key]) => !omit.includes(key)).map(([key, label, unit]) => [label, formatValue(stats[key], unit)])
  const labelWidth = Math.max(...rows.map(([label]) => label.length))
  const valueWidth = Math.max(...rows.map(([, value]) => value.length))
  const rule = `+${'-'.repeat(labelWidth + 2)}+${'-'.repeat(valueWidth + 2)}+`
  const lines = rows.map(([label, value]) => `| ${label.padEnd(labelWidth)} | ${value.padStart(valueWidth)} |`)
  return [title, rule, ...lines, rule].join('\n')
}
