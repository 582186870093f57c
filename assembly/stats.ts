// Usage statistics, kept in linear memory so every thread attached to a pool sees the same figures.
// Shared by the heap (heap.ts) and the stack (stack.ts): each control block embeds one record.
//
//    stats + 0   u64 totalAllocated     bytes requested by successful allocations since reset
//    stats + 8   u64 totalFreed         bytes requested by the blocks freed since reset
//    stats + 16  u64 usageAtReset       currentUsage when the record was last reset
//    stats + 24  u64 peakUsage          highest currentUsage since reset
//    stats + 32  u64 allocationCount    successful allocations since reset
//    stats + 40  u64 freeCount          frees since reset
//    stats + 48  u64 failedAllocations  requests that returned 0 since reset
//    stats + 56  u64 liveAtReset        liveBlocks when the record was last reset
//
// The figures a reader asks for are named by these offsets (statRead): two of them are derived,
// so that an allocation or a free updates two counters instead of four (the record is written on
// every operation: all of it costs about 4 ns of a 33 ns small-block operation, and this took 1 off):
//    currentUsage (STAT_CURRENT_USAGE) = usageAtReset + totalAllocated - totalFreed  (never reset)
//    liveBlocks   (STAT_LIVE_BLOCKS)   = liveAtReset + allocationCount - freeCount   (never reset)
//
// All figures count requested sizes, not block sizes. Callers hold the allocator's lock.

export const STAT_TOTAL_ALLOCATED: usize = 0;
export const STAT_TOTAL_FREED: usize = 8;
export const STAT_CURRENT_USAGE: usize = 16;
export const STAT_PEAK_USAGE: usize = 24;
export const STAT_ALLOCATION_COUNT: usize = 32;
export const STAT_FREE_COUNT: usize = 40;
export const STAT_FAILED_ALLOCATIONS: usize = 48;
export const STAT_LIVE_BLOCKS: usize = 56;
export const STATS_SIZE: usize = 64;

// Where the two derived figures keep their value at the last reset.
const USAGE_AT_RESET: usize = 16;
const LIVE_AT_RESET: usize = 56;

// @ts-ignore: decorator
@inline function bump(stats: usize, field: usize, by: u64): void {
  store<u64>(stats + field, load<u64>(stats + field) + by);
}

// @ts-ignore: decorator
@inline function currentUsage(stats: usize): u64 {
  return load<u64>(stats + USAGE_AT_RESET) + load<u64>(stats + STAT_TOTAL_ALLOCATED) - load<u64>(stats + STAT_TOTAL_FREED);
}

// @ts-ignore: decorator
@inline function liveBlocks(stats: usize): u64 {
  return load<u64>(stats + LIVE_AT_RESET) + load<u64>(stats + STAT_ALLOCATION_COUNT) - load<u64>(stats + STAT_FREE_COUNT);
}

/** The figure named by `field` (a STAT_* offset), derived ones included. */
export function statRead(stats: usize, field: usize): u64 {
  if (field == STAT_CURRENT_USAGE) return currentUsage(stats);
  if (field == STAT_LIVE_BLOCKS) return liveBlocks(stats);
  return load<u64>(stats + field);
}

/** A successful allocation of `requested` bytes: inlined where malloc is served from a cache and into the stack's push; statsOnAllocate is the called form. */
// @ts-ignore: decorator
@inline export function countAllocation(stats: usize, requested: u32): void {
  bump(stats, STAT_TOTAL_ALLOCATED, requested);
  bump(stats, STAT_ALLOCATION_COUNT, 1);
  const current = currentUsage(stats);
  if (current > load<u64>(stats + STAT_PEAK_USAGE)) store<u64>(stats + STAT_PEAK_USAGE, current);
}

/** A free of a block whose requested size was `requested` bytes: inlined into free and the stack's pop; statsOnFree is the called form. */
// @ts-ignore: decorator
@inline export function countFree(stats: usize, requested: u32): void {
  bump(stats, STAT_TOTAL_FREED, requested);
  bump(stats, STAT_FREE_COUNT, 1);
}

export function statsOnAllocate(stats: usize, requested: u32): void {
  countAllocation(stats, requested);
}

export function statsOnFree(stats: usize, requested: u32): void {
  countFree(stats, requested);
}

/** A request that returned 0. */
export function statsOnFailure(stats: usize): void {
  bump(stats, STAT_FAILED_ALLOCATIONS, 1);
}

/** Counters and totals to 0, peak to the current usage; current usage and live blocks stay. */
export function statsReset(stats: usize): void {
  const usage = currentUsage(stats);
  const live = liveBlocks(stats);
  memory.fill(stats, 0, STATS_SIZE);
  store<u64>(stats + USAGE_AT_RESET, usage);
  store<u64>(stats + LIVE_AT_RESET, live);
  store<u64>(stats + STAT_PEAK_USAGE, usage);
}

export function statsClear(stats: usize): void {
  memory.fill(stats, 0, STATS_SIZE);
}

/**
 * The record made to agree with the blocks there are: `live` blocks of `usage` requested bytes (a
 * lock taken over from a thread that stopped inside a call, which may have changed the blocks and
 * not yet counted it, or counted and not yet changed them). The two derived figures are set through
 * their values at the last reset; totals and counts stay; the peak is raised to the usage if below.
 */
export function statsRecount(stats: usize, live: u64, usage: u64): void {
  store<u64>(stats + LIVE_AT_RESET, live - load<u64>(stats + STAT_ALLOCATION_COUNT) + load<u64>(stats + STAT_FREE_COUNT));
  store<u64>(stats + USAGE_AT_RESET, usage - load<u64>(stats + STAT_TOTAL_ALLOCATED) + load<u64>(stats + STAT_TOTAL_FREED));
  if (usage > load<u64>(stats + STAT_PEAK_USAGE)) store<u64>(stats + STAT_PEAK_USAGE, usage);
}

/** Every live block freed at once (a stack's clear). */
export function statsOnFreeAll(stats: usize): void {
  const usage = currentUsage(stats);
  const live = liveBlocks(stats);
  bump(stats, STAT_TOTAL_FREED, usage);
  bump(stats, STAT_FREE_COUNT, live);
}
