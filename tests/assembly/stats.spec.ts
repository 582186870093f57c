import { heapMalloc, heapFree, heapCalloc } from "../../assembly/heap";
import { heapRealloc } from "../../assembly/realloc";
import { heapFreeBytes, heapLargestFree, heapPoolSize } from "../../assembly/queries";
import { heapValidate } from "../../assembly/validate";
import { CONTROL_STATS } from "../../assembly/control";
import {
  STAT_TOTAL_ALLOCATED, STAT_TOTAL_FREED, STAT_CURRENT_USAGE, STAT_PEAK_USAGE, STAT_ALLOCATION_COUNT,
  STAT_FREE_COUNT, STAT_FAILED_ALLOCATIONS, STAT_LIVE_BLOCKS, statsReset, statRead,
} from "../../assembly/stats";
import { freshHeap } from "./fixture";

function stat(heap: usize, field: usize): u64 {
  return statRead(heap + CONTROL_STATS, field);
}

describe("statistics", () => {
  it("count requested bytes, allocations, frees and peaks", () => {
    const heap = freshHeap(8192);
    const a = heapMalloc(heap, 100);
    const b = heapMalloc(heap, 50);
    heapFree(heap, a);
    expect<u64>(stat(heap, STAT_TOTAL_ALLOCATED)).toBe(150);
    expect<u64>(stat(heap, STAT_TOTAL_FREED)).toBe(100);
    expect<u64>(stat(heap, STAT_CURRENT_USAGE)).toBe(50);
    expect<u64>(stat(heap, STAT_PEAK_USAGE)).toBe(150);
    expect<u64>(stat(heap, STAT_ALLOCATION_COUNT)).toBe(2);
    expect<u64>(stat(heap, STAT_FREE_COUNT)).toBe(1);
    expect<u64>(stat(heap, STAT_LIVE_BLOCKS)).toBe(1);
    expect<usize>(b).toBeGreaterThan(0);
  });

  it("count a realloc as one free of the old size and one allocation of the new", () => {
    const heap = freshHeap(8192);
    const a = heapMalloc(heap, 100);
    heapMalloc(heap, 8);
    const moved = heapRealloc(heap, a, 1000);
    expect<bool>(moved != a).toBe(true, "it had to move");
    expect<u64>(stat(heap, STAT_CURRENT_USAGE)).toBe(1008);
    expect<u64>(stat(heap, STAT_ALLOCATION_COUNT)).toBe(3);
    expect<u64>(stat(heap, STAT_FREE_COUNT)).toBe(1);
    expect<u64>(stat(heap, STAT_PEAK_USAGE)).toBe(1008, "the moment both exist is not a peak");
  });

  it("count failures, calloc overflow included", () => {
    const heap = freshHeap(4096);
    expect<usize>(heapMalloc(heap, 5000)).toBe(0);
    expect<usize>(heapCalloc(heap, 0x10000, 0x10000)).toBe(0);
    expect<u64>(stat(heap, STAT_FAILED_ALLOCATIONS)).toBe(2);
    expect<u64>(stat(heap, STAT_ALLOCATION_COUNT)).toBe(0);
  });

  it("reset zeroes counters and sets the peak to the current usage", () => {
    const heap = freshHeap(4096);
    const a = heapMalloc(heap, 300);
    heapMalloc(heap, 200);
    heapFree(heap, a);
    statsReset(heap + CONTROL_STATS);
    expect<u64>(stat(heap, STAT_TOTAL_ALLOCATED)).toBe(0);
    expect<u64>(stat(heap, STAT_ALLOCATION_COUNT)).toBe(0);
    expect<u64>(stat(heap, STAT_CURRENT_USAGE)).toBe(200);
    expect<u64>(stat(heap, STAT_PEAK_USAGE)).toBe(200);
    expect<u64>(stat(heap, STAT_LIVE_BLOCKS)).toBe(1);
  });

  it("after a reset, derive current usage and live blocks from what the reset left and what followed", () => {
    const heap = freshHeap(8192);
    const a = heapMalloc(heap, 300);
    const b = heapMalloc(heap, 200);
    statsReset(heap + CONTROL_STATS);
    heapFree(heap, a); // allocated before the reset, freed after it
    const c = heapMalloc(heap, 40);
    expect<u64>(stat(heap, STAT_TOTAL_FREED)).toBe(300);
    expect<u64>(stat(heap, STAT_TOTAL_ALLOCATED)).toBe(40);
    expect<u64>(stat(heap, STAT_CURRENT_USAGE)).toBe(240);
    expect<u64>(stat(heap, STAT_LIVE_BLOCKS)).toBe(2);
    expect<u64>(stat(heap, STAT_PEAK_USAGE)).toBe(500, "the usage at the reset is the peak until it is passed");
    statsReset(heap + CONTROL_STATS);
    heapFree(heap, b);
    heapFree(heap, c);
    expect<u64>(stat(heap, STAT_CURRENT_USAGE)).toBe(0);
    expect<u64>(stat(heap, STAT_LIVE_BLOCKS)).toBe(0);
    expect<u64>(stat(heap, STAT_FREE_COUNT)).toBe(2);
    expect<u64>(stat(heap, STAT_PEAK_USAGE)).toBe(240);
    expect<u32>(heapValidate(heap)).toBe(0, "validate agrees with the derived figures");
  });

  it("track free bytes and the largest free block for fragmentation", () => {
    const heap = freshHeap(4096);
    expect<u32>(heapPoolSize(heap)).toBe(4096);
    expect<u32>(heapFreeBytes(heap)).toBe(4096 - 16, "one header and the sentinel");
    const a = heapMalloc(heap, 64);
    heapMalloc(heap, 64);
    heapFree(heap, a);
    expect<u32>(heapLargestFree(heap)).toBe(4096 - 16 - 144);
    expect<u32>(heapFreeBytes(heap)).toBe(4096 - 16 - 144 + 64, "the tail and the 64 usable bytes of a");
    expect<u32>(heapValidate(heap)).toBe(0);
  });
});
