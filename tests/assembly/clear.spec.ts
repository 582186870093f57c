import { heapInit, heapMalloc, heapFree, poolStartFor } from "../../assembly/heap";
import { heapClear } from "../../assembly/clear";
import { heapFreeBlocks, heapFreeBytes, heapLargestFree, heapPoolSize, heapHeldBlocks } from "../../assembly/queries";
import { heapValidate } from "../../assembly/validate";
import { heapProtect } from "../../assembly/protect";
import { cachedBlocks } from "../../assembly/caches";
import { quarantinedBlocks } from "../../assembly/quarantine";
import { HEADER_SIZE, PROT_READ, PROT_READ_WRITE } from "../../assembly/block";
import {
  HEAP_CONTROL_SIZE, HEAP_FINGERPRINTS, HEAP_FREE_ROOT, HEAP_FAULT_BLOCK, CONTROL_STATS, POLICY_FIRST_FIT, OPTION_CHECKS,
} from "../../assembly/control";
import { statRead, STAT_LIVE_BLOCKS, STAT_CURRENT_USAGE, STAT_FREE_COUNT, STAT_ALLOCATION_COUNT } from "../../assembly/stats";
import { ERR_PROTECTION, ERR_CORRUPTION, ERR_DOUBLE_FREE, errorResult } from "../../assembly/errors";
import { freshHeap } from "./fixture";

function heapWith(options: u32, quarantineBytes: u32 = 0, limit: u32 = 65536): usize {
  const pages = <i32>((<u32>HEAP_CONTROL_SIZE + 8192 + limit + 65535) / 65536);
  const base = <usize>memory.grow(pages) * 65536;
  assert(heapInit(base, 65536, limit, 8, POLICY_FIRST_FIT, options, quarantineBytes) == 0, "heapInit failed");
  return base;
}

/** Live blocks of assorted sizes with every third freed (into the caches, the index, or the quarantine). */
function churn(heap: usize): u32 {
  const blocks: usize[] = [];
  for (let i = 0; i < 60; i++) blocks.push(heapMalloc(heap, <u32>(8 + i * 13)));
  for (let i = 0; i < 60; i += 3) heapFree(heap, blocks[i]);
  return 40;
}

describe("clear", () => {
  it("frees every block: the pool is one free block from its start, the statistics count each free", () => {
    const heap = freshHeap(65536);
    const first = heapMalloc(heap, 100);
    const live = churn(heap) + 1;
    const pool = heapPoolSize(heap);
    expect<u32>(heapClear(heap)).toBe(0);
    expect<u32>(heapFreeBlocks(heap)).toBe(1);
    expect<u32>(heapLargestFree(heap)).toBe(heapFreeBytes(heap));
    expect<u32>(heapPoolSize(heap)).toBe(pool);
    expect<u32>(load<u32>(heap + HEAP_FREE_ROOT)).toBe(0, "the index is empty: the whole pool is the top");
    const stats = heap + CONTROL_STATS;
    expect<u64>(statRead(stats, STAT_LIVE_BLOCKS)).toBe(0);
    expect<u64>(statRead(stats, STAT_CURRENT_USAGE)).toBe(0);
    expect<u64>(statRead(stats, STAT_FREE_COUNT)).toBe(statRead(stats, STAT_ALLOCATION_COUNT));
    expect<u64>(statRead(stats, STAT_FREE_COUNT)).toBeGreaterThanOrEqual(<u64>live);
    expect<usize>(heapMalloc(heap, 100)).toBe(first, "first-fit starts again at the pool's start");
    expect<u32>(heapValidate(heap)).toBe(0);
  });

  it("leaves every old header reading as free: a pointer kept from before is refused, as after a free", () => {
    const heap = freshHeap(65536, POLICY_FIRST_FIT, 8, 0, 0);
    heapMalloc(heap, 100); // its header becomes the free block's: the one below is the test
    const kept = heapMalloc(heap, 100);
    const parked = heapMalloc(heap, 40);
    heapMalloc(heap, 8);
    heapFree(heap, parked); // into a small-block cache
    expect<u32>(heapClear(heap)).toBe(0);
    expect<u32>(heapFree(heap, kept)).toBe(errorResult(ERR_DOUBLE_FREE), "its header, inside the free block now, reads as free");
    expect<u32>(heapFree(heap, parked)).toBe(errorResult(ERR_DOUBLE_FREE));
    expect<u32>(heapValidate(heap)).toBe(0);
    expect<u32>(heapFreeBlocks(heap)).toBe(1);
  });

  it("forgets the blocks the small-block caches held", () => {
    const heap = freshHeap(65536, POLICY_FIRST_FIT, 8, 0, 0);
    churn(heap);
    expect<u32>(cachedBlocks(heap)).toBeGreaterThan(0);
    expect<u32>(heapClear(heap)).toBe(0);
    expect<u32>(cachedBlocks(heap)).toBe(0);
    expect<u32>(heapHeldBlocks(heap)).toBe(0);
    expect<u32>(heapValidate(heap)).toBe(0);
  });

  it("in checks mode: forgets the quarantine, and the pool is junk again (a malloc after it finds no write after free)", () => {
    const heap = heapWith(OPTION_CHECKS, 4096);
    churn(heap);
    expect<u32>(quarantinedBlocks(heap)).toBeGreaterThan(0);
    expect<u32>(heapClear(heap)).toBe(0);
    expect<u32>(quarantinedBlocks(heap)).toBe(0);
    expect<u32>(heapValidate(heap)).toBe(0);
    for (let i = 0; i < 50; i++) expect<bool>(heapMalloc(heap, 500) > 0).toBe(true);
    expect<u32>(heapValidate(heap)).toBe(0);
  });

  it("in checks mode: a damaged heap is reported first, and nothing is freed", () => {
    const heap = heapWith(OPTION_CHECKS);
    const a = heapMalloc(heap, 24);
    heapMalloc(heap, 24);
    store<u8>(a + 24, 0x41); // the red zone right after a's 24 bytes
    expect<u32>(heapClear(heap)).toBe(errorResult(ERR_CORRUPTION));
    expect<u64>(statRead(heap + CONTROL_STATS, STAT_LIVE_BLOCKS)).toBe(2);
  });

  it("is refused while a block lacks Write, naming it, and changes nothing; goes once it is writable", () => {
    const heap = freshHeap(65536);
    heapMalloc(heap, 40);
    const locked = heapMalloc(heap, 64);
    expect<u32>(heapProtect(heap, locked, 1, PROT_READ)).toBe(0);
    const table = load<u32>(heap + HEAP_FINGERPRINTS);
    expect<u32>(table).toBeGreaterThan(0);
    expect<u32>(heapClear(heap)).toBe(errorResult(ERR_PROTECTION));
    expect<u32>(load<u32>(heap + HEAP_FAULT_BLOCK)).toBe(<u32>(locked - HEADER_SIZE));
    expect<u64>(statRead(heap + CONTROL_STATS, STAT_LIVE_BLOCKS)).toBe(2);
    expect<u32>(heapValidate(heap)).toBe(0);
    expect<u32>(heapProtect(heap, locked, 1, PROT_READ_WRITE)).toBe(0);
    expect<u32>(heapClear(heap)).toBe(0);
    expect<u32>(load<u32>(heap + HEAP_FINGERPRINTS)).toBe(0, "the table's internal block went with the pool");
    expect<u32>(heapFreeBlocks(heap)).toBe(1);
  });

  it("walks the heap for an unwritable block when the fingerprint table is damaged", () => {
    const heap = freshHeap(65536);
    const locked = heapMalloc(heap, 64);
    heapProtect(heap, locked, 1, PROT_READ);
    const table = <usize>load<u32>(heap + HEAP_FINGERPRINTS);
    store<u32>(table, 3); // its capacity: no power of two, so the table is not trusted
    expect<u32>(heapClear(heap)).toBe(errorResult(ERR_PROTECTION));
    expect<u32>(load<u32>(heap + HEAP_FAULT_BLOCK)).toBe(<u32>(locked - HEADER_SIZE));
  });

  it("keeps a grown pool at its size, starting where it started", () => {
    const heap = heapWith(0, 0, 4 * 65536);
    const big = heapMalloc(heap, 150000);
    expect<bool>(big > 0).toBe(true);
    const pool = heapPoolSize(heap);
    expect<u32>(heapClear(heap)).toBe(0);
    expect<u32>(heapPoolSize(heap)).toBe(pool);
    expect<u32>(heapLargestFree(heap)).toBe(pool - 8 - HEADER_SIZE, "one block up to the sentinel");
    expect<usize>(heapMalloc(heap, 150000)).toBe(poolStartFor(heap, 8) + HEADER_SIZE);
  });
});
