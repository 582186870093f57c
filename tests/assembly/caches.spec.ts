import { heapMalloc, heapFree } from "../../assembly/heap";
import { heapFreeBlocks, heapFreeBytes, heapLargestFree, heapUsableSize } from "../../assembly/queries";
import { settle } from "../../assembly/repair";
import { checkLiveBlock } from "../../assembly/pointers";
import { heapValidate } from "../../assembly/validate";
import { cachedBlocks, cachedBytes, cacheFlush, CACHE_REQUEST_LIMIT } from "../../assembly/caches";
import { HEADER_SIZE, USED, CACHED, isUsed, isCached, blockSize, magicFor } from "../../assembly/block";
import { POLICY_FIRST_FIT, HEAP_FREE_BLOCKS, CONTROL_STATS } from "../../assembly/control";
import { statRead, STAT_LIVE_BLOCKS, STAT_ALLOCATION_COUNT } from "../../assembly/stats";
import { ERR_DOUBLE_FREE, ERR_CORRUPTION, ERR_INVALID_POINTER, errorResult } from "../../assembly/errors";
import { pendingBlocks } from "../../assembly/pending";
import { freshHeap } from "./fixture";

function cachingHeap(bytes: u32): usize {
  return freshHeap(bytes, POLICY_FIRST_FIT, 8, 0, 0);
}

/** Allocates `count` blocks of sizeOf(i) bytes, each kept from merging by a guard after it, then frees them in order. */
function freeGuarded(heap: usize, count: i32, sizeOf: (i: i32) => u32): void {
  const ptrs = new StaticArray<usize>(count);
  for (let i = 0; i < count; i++) {
    ptrs[i] = heapMalloc(heap, sizeOf(i));
    heapMalloc(heap, 8);
  }
  for (let i = 0; i < count; i++) heapFree(heap, ptrs[i]);
}

describe("small-block caches", () => {
  it("park a freed small block unmerged and hand it back for the same size", () => {
    const heap = cachingHeap(65536);
    const a = heapMalloc(heap, 40);
    const b = heapMalloc(heap, 40);
    heapMalloc(heap, 8);
    heapFree(heap, a);
    heapFree(heap, b);
    expect<u32>(cachedBlocks(heap)).toBe(2);
    expect<bool>(isUsed(a - HEADER_SIZE) && isCached(a - HEADER_SIZE)).toBe(true, "still marked used: nothing merges with it");
    expect<u32>(load<u32>(heap + HEAP_FREE_BLOCKS)).toBe(0, "the free index holds nothing: the tail is the top, outside it");
    expect<usize>(heapMalloc(heap, 33)).toBe(b, "same block size (48), newest first");
    expect<usize>(heapMalloc(heap, 40)).toBe(a);
    expect<u32>(heapValidate(heap)).toBe(0);
  });

  it("hand a block up to 24 bytes larger to a request whose own size has none", () => {
    const heap = cachingHeap(65536);
    const a = heapMalloc(heap, 64); // a 72-byte block
    const far = heapMalloc(heap, 80); // an 88-byte block: 40 bytes too big for a 40-byte request
    heapMalloc(heap, 8);
    heapFree(heap, a);
    heapFree(heap, far);
    const b = heapMalloc(heap, 40); // a 48-byte block wanted: none cached, the 72-byte one is taken
    expect<usize>(b).toBe(a);
    expect<u32>(blockSize(b - HEADER_SIZE)).toBe(72);
    expect<u32>(heapUsableSize(heap, b)).toBe(64, "the extra bytes are the caller's");
    expect<u32>(cachedBlocks(heap)).toBe(1);
    const c = heapMalloc(heap, 40); // the 88-byte block is too far: the policy places it
    expect<bool>(c != far).toBe(true);
    expect<u32>(cachedBlocks(heap)).toBe(1);
    expect<u32>(heapValidate(heap)).toBe(0);
  });

  it("merge a freed block at once when its left neighbour is free; park it beside a free right one", () => {
    const heap = cachingHeap(65536);
    const x = heapMalloc(heap, 40);
    const big = heapMalloc(heap, 2000); // too big for the caches
    const y = heapMalloc(heap, 40);
    const z = heapMalloc(heap, 40);
    heapMalloc(heap, 8);
    heapFree(heap, z);
    expect<u32>(cachedBlocks(heap)).toBe(1, "both neighbours in use: parked");
    heapFree(heap, big); // into the index
    heapFree(heap, y); // its left neighbour is free: merged
    expect<u32>(cachedBlocks(heap)).toBe(1, "y was not parked");
    expect<u32>(blockSize(big - HEADER_SIZE)).toBe(y + 48 - big, "big and y are one free block");
    heapFree(heap, x); // its right neighbour is free, but a parking free does not read that header
    expect<u32>(cachedBlocks(heap)).toBe(2, "x was parked");
    expect<u32>(heapValidate(heap)).toBe(0, "a parked block beside a free one is sound");
    cacheFlush(heap); // as trim() and a request that would fail: x and z merge with their free neighbours
    expect<u32>(cachedBlocks(heap)).toBe(0);
    expect<bool>(isUsed(x - HEADER_SIZE)).toBe(false);
    expect<u32>(blockSize(x - HEADER_SIZE)).toBe(z + 48 - x, "x, big, y and z are one free block");
    expect<u32>(heapValidate(heap)).toBe(0);
  });

  it("merge a freed block that ends where the top starts into the top (a heap used as a stack shrinks)", () => {
    const heap = cachingHeap(65536);
    const a = heapMalloc(heap, 40);
    const b = heapMalloc(heap, 40);
    const c = heapMalloc(heap, 40);
    const top = c + 48 - HEADER_SIZE;
    const topSize = blockSize(top);
    heapFree(heap, c); // newest first, as a stack frees
    heapFree(heap, b);
    expect<u32>(cachedBlocks(heap)).toBe(0, "neither was parked");
    expect<u32>(blockSize(b - HEADER_SIZE)).toBe(topSize + 96, "b and c joined the top");
    expect<u32>(load<u32>(heap + HEAP_FREE_BLOCKS)).toBe(0, "the top stays out of the index");
    expect<usize>(heapMalloc(heap, 40)).toBe(b, "the top is carved again from its start");
    expect<bool>(isUsed(a - HEADER_SIZE)).toBe(true);
    expect<u32>(heapValidate(heap)).toBe(0);
  });

  it("park a block whose right neighbour's header is damaged: found by the neighbour's next check, not by this free", () => {
    const heap = cachingHeap(65536);
    const a = heapMalloc(heap, 40);
    const b = heapMalloc(heap, 40);
    heapMalloc(heap, 8);
    const bHeader = b - HEADER_SIZE;
    const savedTag = load<u32>(bHeader, 4);
    store<u32>(bHeader, savedTag ^ 0x10000, 4); // a's overflow flips a bit of b's magic
    expect<u32>(heapFree(heap, a)).toBe(0, "the parking free reads only a's own header");
    expect<u32>(cachedBlocks(heap)).toBe(1);
    expect<u32>(heapFree(heap, b)).toBe(errorResult(ERR_INVALID_POINTER), "b's own header no longer names it");
    expect<u32>(heapValidate(heap)).not.toBe(0, "validate finds the damage");
    store<u32>(bHeader, savedTag, 4);
    expect<u32>(heapValidate(heap)).toBe(0);
  });

  it("count cached blocks as free in the statistics", () => {
    const heap = cachingHeap(65536);
    const a = heapMalloc(heap, 100);
    heapMalloc(heap, 8);
    const before = heapFreeBytes(heap);
    heapFree(heap, a);
    expect<u32>(heapFreeBlocks(heap)).toBe(2);
    expect<u32>(heapFreeBytes(heap)).toBe(before + 104);
    expect<u32>(cachedBytes(heap)).toBe(112);
    expect<u32>(heapLargestFree(heap)).toBeGreaterThan(104);
  });

  it("a cached block freed again is a double free", () => {
    const heap = cachingHeap(65536);
    const a = heapMalloc(heap, 24);
    heapFree(heap, a);
    expect<u32>(checkLiveBlock(heap, a)).toBe(ERR_DOUBLE_FREE);
  });

  it("leave larger requests to the policy", () => {
    const heap = cachingHeap(65536);
    const big = heapMalloc(heap, CACHE_REQUEST_LIMIT + 1);
    heapMalloc(heap, 8);
    heapFree(heap, big);
    expect<u32>(cachedBlocks(heap)).toBe(0);
  });

  it("are bounded: at most 64 blocks of a size", () => {
    const heap = cachingHeap(1 << 20);
    const ptrs = new StaticArray<usize>(100);
    for (let i = 0; i < 100; i++) ptrs[i] = heapMalloc(heap, 16);
    for (let i = 0; i < 100; i++) heapFree(heap, ptrs[i]);
    expect<u32>(cachedBlocks(heap)).toBe(64);
    expect<u32>(heapValidate(heap)).toBe(0);
  });

  it("are bounded: at most an eighth of the pool in all", () => {
    const heap = cachingHeap(1 << 19); // the pool: 512 KiB, so at most 65,536 bytes parked (16,384 of a size)
    freeGuarded(heap, 66, (i: i32): u32 => 1000 - 8 * (i >> 4)); // 16 blocks each of 1,008, 1,000, 992 and 984 bytes, then 976
    // 16 x (1,008 + 1,000 + 992 + 984) + 976 = 64,720 bytes; a second 976 would pass 65,536.
    expect<u32>(cachedBlocks(heap)).toBe(65);
    expect<u32>(cachedBytes(heap)).toBe(64720);
    expect<u32>(load<u32>(heap + HEAP_FREE_BLOCKS) + pendingBlocks(heap)).toBe(1, "the last freed for real (pending, on its way to the index)");
    expect<u32>(heapValidate(heap)).toBe(0);
  });

  it("are bounded by 32 KiB in a pool whose eighth is less, so that a small heap's churn stays in them", () => {
    const heap = cachingHeap(65536); // an eighth would be 8,192 bytes
    freeGuarded(heap, 40, (i: i32): u32 => 1000 - 8 * i); // a size each
    // 1,008 + 1,000 + ... + 712 (38 blocks) = 32,680 bytes; the 39th (704) would pass 32,768.
    expect<u32>(cachedBlocks(heap)).toBe(38);
    expect<u32>(cachedBytes(heap)).toBe(32680);
    expect<u32>(load<u32>(heap + HEAP_FREE_BLOCKS) + pendingBlocks(heap)).toBe(2, "the rest freed for real");
    expect<u32>(heapValidate(heap)).toBe(0);
  });

  it("are bounded: at most a quarter of that in one size, so that a size nobody asks for cannot fill them", () => {
    const heap = cachingHeap(1 << 19); // at most 65,536 bytes parked, at most 16,384 of one size
    freeGuarded(heap, 20, (i: i32): u32 => 1000); // blocks of 1,008 bytes
    expect<u32>(cachedBlocks(heap)).toBe(16, "16 x 1,008 = 16,128 bytes; a 17th would pass 16,384");
    expect<u32>(load<u32>(heap + HEAP_FREE_BLOCKS) + pendingBlocks(heap)).toBe(4, "the rest freed for real (pending, on their way to the index)");
    const other = heapMalloc(heap, 100);
    heapMalloc(heap, 8);
    expect<u32>(heapFree(heap, other)).toBe(0);
    expect<u32>(cachedBlocks(heap)).toBe(17, "another size still parks");
    expect<u32>(heapValidate(heap)).toBe(0);
  });

  it("are flushed back to coalesce before a request fails", () => {
    const heap = cachingHeap(16384);
    const ptrs = new StaticArray<usize>(60);
    for (let i = 0; i < 60; i++) ptrs[i] = heapMalloc(heap, 200);
    for (let i = 0; i < 60; i++) heapFree(heap, ptrs[i]);
    expect<u32>(cachedBlocks(heap)).toBeGreaterThan(0);
    // 16,208 bytes: more than is free outside the caches (the pool's 16,376 less a 208-byte block
    // parked at the bottom), so it fits only once the cached blocks rejoin the rest.
    const big = heapMalloc(heap, 16200);
    expect<usize>(big).toBeGreaterThan(0, "the cached blocks merged into room for it");
    expect<u32>(cachedBlocks(heap)).toBe(0);
    expect<u32>(blockSize(big - HEADER_SIZE)).toBeGreaterThanOrEqual(16208);
    expect<u32>(heapValidate(heap)).toBe(0);
  });

  it("hand out a cached block only where its list leads to a sound block of the list's size", () => {
    // A use after free rewrites a parked block's link to lead to a header forged inside a live
    // block's payload that is right but for one thing: each must be refused on its own.
    const MISALIGNED = 0, BAD_MAGIC = 1, NOT_CACHED = 2, OTHER_SIZE = 3;
    for (let fault = 0; fault < 4; fault++) {
      const heap = cachingHeap(65536);
      const older = heapMalloc(heap, 64); // 72-byte blocks, each kept from merging by a guard
      heapMalloc(heap, 8);
      const parked = heapMalloc(heap, 64);
      heapMalloc(heap, 8);
      const live = heapMalloc(heap, 200);
      heapMalloc(heap, 8);
      const hole = heapMalloc(heap, 2000); // too big to park: freed into the index, where the request fits
      heapMalloc(heap, 8);
      heapFree(heap, hole);
      heapFree(heap, older);
      heapFree(heap, parked); // the list: parked, then older
      const forged = live + 16 + (fault == MISALIGNED ? 4 : 0);
      const size: u32 = fault == OTHER_SIZE ? 48 : 72;
      const flags: u32 = fault == NOT_CACHED ? USED : USED | CACHED;
      store<u32>(forged, size | flags);
      store<u32>(forged, (magicFor(forged) ^ (fault == BAD_MAGIC ? 1 : 0)) << 16, 4);
      store<u32>(parked, <u32>forged); // its link to the next cached block of 72 bytes
      expect<usize>(heapMalloc(heap, 64)).toBe(parked, "the parked block itself: its link becomes the list's head");
      const liveBefore = statRead(heap + CONTROL_STATS, STAT_LIVE_BLOCKS);
      const countBefore = statRead(heap + CONTROL_STATS, STAT_ALLOCATION_COUNT);
      expect<usize>(settle(heap, heapMalloc(heap, 64))).toBe(errorResult(ERR_CORRUPTION), "the forged block is not handed out: fault " + fault.toString());
      expect<u64>(statRead(heap + CONTROL_STATS, STAT_LIVE_BLOCKS)).toBe(liveBefore, "and no other block was allocated instead");
      expect<u64>(statRead(heap + CONTROL_STATS, STAT_ALLOCATION_COUNT)).toBe(countBefore);
      expect<u32>(heapValidate(heap)).toBe(0, "the caches were folded back and the heap goes on");
      expect<usize>(heapMalloc(heap, 64)).toBeGreaterThan(0);
    }
  });
});
