// Usage statistics, kept in linear memory so every thread attached to a pool sees the same figures.
// Shared by the heap (heap.ts) and the stack (stack.ts): each control block embeds one record.
//
//    stats + 0   u64 totalAllocated     bytes requested by successful allocations since reset
//    stats + 8   u64 totalFreed         bytes requested by the blocks freed since reset
//    stats + 16  u64 currentUsage       bytes requested by the blocks live now (never reset)
//    stats + 24  u64 peakUsage          highest currentUsage since reset
//    stats + 32  u64 allocationCount    successful allocations since reset
//    stats + 40  u64 freeCount          frees since reset
//    stats + 48  u64 failedAllocations  requests that returned 0 since reset
//    stats + 56  u64 liveBlocks         blocks live now (never reset)
//
// All figures count requested sizes, not block sizes. Callers hold the allocator's lock.
// Invariants without a reset: currentUsage == totalAllocated - totalFreed and
// liveBlocks == allocationCount - freeCount.

export const STAT_TOTAL_ALLOCATED: usize = 0;
export const STAT_TOTAL_FREED: usize = 8;
export const STAT_CURRENT_USAGE: usize = 16;
export const STAT_PEAK_USAGE: usize = 24;
export const STAT_ALLOCATION_COUNT: usize = 32;
export const STAT_FREE_COUNT: usize = 40;
export const STAT_FAILED_ALLOCATIONS: usize = 48;
export const STAT_LIVE_BLOCKS: usize = 56;
export const STATS_SIZE: usize = 64;

// @ts-ignore: decorator
@inline function bump(stats: usize, field: usize, by: u64): void {
  store<u64>(stats + field, load<u64>(stats + field) + by);
}

/** A successful allocation of `requested` bytes. */
export function statsOnAllocate(stats: usize, requested: u32): void {
  bump(stats, STAT_TOTAL_ALLOCATED, requested);
  bump(stats, STAT_ALLOCATION_COUNT, 1);
  bump(stats, STAT_LIVE_BLOCKS, 1);
  const current = load<u64>(stats + STAT_CURRENT_USAGE) + requested;
  store<u64>(stats + STAT_CURRENT_USAGE, current);
  if (current > load<u64>(stats + STAT_PEAK_USAGE)) store<u64>(stats + STAT_PEAK_USAGE, current);
}

/** A free of a block whose requested size was `requested` bytes. */
export function statsOnFree(stats: usize, requested: u32): void {
  bump(stats, STAT_TOTAL_FREED, requested);
  bump(stats, STAT_FREE_COUNT, 1);
  store<u64>(stats + STAT_LIVE_BLOCKS, load<u64>(stats + STAT_LIVE_BLOCKS) - 1);
  store<u64>(stats + STAT_CURRENT_USAGE, load<u64>(stats + STAT_CURRENT_USAGE) - requested);
}

/** A request that returned 0. */
export function statsOnFailure(stats: usize): void {
  bump(stats, STAT_FAILED_ALLOCATIONS, 1);
}

/** Counters and totals to 0, peak to the current usage; current usage and live blocks stay. */
export function statsReset(stats: usize): void {
  store<u64>(stats + STAT_TOTAL_ALLOCATED, 0);
  store<u64>(stats + STAT_TOTAL_FREED, 0);
  store<u64>(stats + STAT_ALLOCATION_COUNT, 0);
  store<u64>(stats + STAT_FREE_COUNT, 0);
  store<u64>(stats + STAT_FAILED_ALLOCATIONS, 0);
  store<u64>(stats + STAT_PEAK_USAGE, load<u64>(stats + STAT_CURRENT_USAGE));
}

export function statsClear(stats: usize): void {
  memory.fill(stats, 0, STATS_SIZE);
}

/** Every live block freed at once (a stack's clear). */
export function statsOnFreeAll(stats: usize): void {
  bump(stats, STAT_TOTAL_FREED, load<u64>(stats + STAT_CURRENT_USAGE));
  bump(stats, STAT_FREE_COUNT, load<u64>(stats + STAT_LIVE_BLOCKS));
  store<u64>(stats + STAT_CURRENT_USAGE, 0);
  store<u64>(stats + STAT_LIVE_BLOCKS, 0);
}
