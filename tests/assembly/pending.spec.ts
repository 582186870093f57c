import { heapMalloc, heapFree } from "../../assembly/heap";
import { heapFreeBlocks, heapFreeBytes, heapLargestFree } from "../../assembly/queries";
import { heapValidate } from "../../assembly/validate";
import { settle } from "../../assembly/repair";
import { indexCheck } from "../../assembly/freeindex";
import { isPending, pendingBlocks, pendingBytes, pendingFold, inBurst } from "../../assembly/pending";
import { cachedBlocks } from "../../assembly/caches";
import { HEADER_SIZE, blockSize } from "../../assembly/block";
import { HEAP_FREE_ROOT, HEAP_FREE_BLOCKS, HEAP_PENDING, HEAP_FAULT_REASON, POLICY_FIRST_FIT } from "../../assembly/control";
import { FAULT_INDEX_LINK } from "../../assembly/faults";
import { ERR_CORRUPTION, errorResult } from "../../assembly/errors";
import { freshHeap } from "./fixture";

/** `count` blocks of 40 bytes (48-byte blocks) in a row, a guard after them so that they never join the top. */
function row(heap: usize, count: i32): StaticArray<usize> {
  const ptrs = new StaticArray<usize>(count);
  for (let i = 0; i < count; i++) ptrs[i] = heapMalloc(heap, 40);
  heapMalloc(heap, 8);
  return ptrs;
}

describe("pending free blocks", () => {
  it("a free with no free neighbour leaves the index alone; frees beside it merge in the list", () => {
    const heap = freshHeap(65536);
    const ptrs = row(heap, 9);
    heapFree(heap, ptrs[1]);
    heapFree(heap, ptrs[3]);
    expect<u32>(load<u32>(heap + HEAP_FREE_ROOT)).toBe(0, "no walk of the index");
    expect<u32>(pendingBlocks(heap)).toBe(2);
    heapFree(heap, ptrs[2]); // between the two: all three merge
    expect<u32>(pendingBlocks(heap)).toBe(1);
    expect<u32>(blockSize(ptrs[1] - HEADER_SIZE)).toBe(3 * 48);
    expect<bool>(isPending(ptrs[1] - HEADER_SIZE)).toBe(true);
    heapFree(heap, ptrs[0]); // on the left of the merged block: takes its place
    expect<u32>(pendingBlocks(heap)).toBe(1);
    expect<u32>(pendingBytes(heap)).toBe(4 * 48);
    expect<u32>(load<u32>(heap + HEAP_FREE_ROOT)).toBe(0);
    expect<u32>(heapFreeBlocks(heap)).toBe(2, "the merged block and the top");
    expect<u32>(heapLargestFree(heap)).toBeGreaterThan(4 * 48, "the top is larger");
    expect<u32>(heapValidate(heap)).toBe(0);
  });

  it("a request a pending block may fit folds the list into the index first: placement stays exact", () => {
    const heap = freshHeap(65536);
    const ptrs = row(heap, 9);
    heapFree(heap, ptrs[6]);
    heapFree(heap, ptrs[2]);
    expect<usize>(heapMalloc(heap, 40)).toBe(ptrs[2], "the lowest-addressed fitting block, pending until now");
    expect<u32>(pendingBlocks(heap)).toBe(0);
    expect<u32>(load<u32>(heap + HEAP_FREE_BLOCKS)).toBe(1, "the other one, in the index");
    expect<i32>(indexCheck(heap)).toBe(1);
    expect<u32>(heapValidate(heap)).toBe(0);
  });

  it("a request larger than every pending block does not fold: the list stays as it was", () => {
    const heap = freshHeap(65536);
    const ptrs = row(heap, 5);
    heapFree(heap, ptrs[1]);
    heapFree(heap, ptrs[3]);
    expect<bool>(heapMalloc(heap, 500) > ptrs[4]).toBe(true, "from the top");
    expect<u32>(pendingBlocks(heap)).toBe(2);
    expect<u32>(heapValidate(heap)).toBe(0);
  });

  it("a heap emptied by frees in any order is one free block again, with no index work", () => {
    const heap = freshHeap(1 << 20);
    const ptrs = new StaticArray<usize>(2000);
    for (let i = 0; i < 2000; i++) ptrs[i] = heapMalloc(heap, <u32>(8 + (i * 37) % 300));
    for (let i = 0; i < 2000; i++) heapFree(heap, ptrs[(i * 769) % 2000]); // 769 is prime to 2000: each once
    expect<u32>(pendingBlocks(heap)).toBe(0);
    expect<u32>(load<u32>(heap + HEAP_FREE_ROOT)).toBe(0);
    expect<u32>(heapFreeBlocks(heap)).toBe(1);
    expect<u32>(heapLargestFree(heap)).toBe(heapFreeBytes(heap));
    expect<u32>(heapValidate(heap)).toBe(0);
  });

  it("a burst of frees pauses the small-block caches; the request after it flushes them, and the heap is one block again", () => {
    const heap = freshHeap(1 << 20, POLICY_FIRST_FIT, 8, 0, 0); // caches on
    const ptrs = new StaticArray<usize>(600);
    for (let i = 0; i < 600; i++) ptrs[i] = heapMalloc(heap, 40);
    for (let i = 0; i < 600; i += 2) heapFree(heap, ptrs[i]); // every other one: a new free block each
    expect<u32>(cachedBlocks(heap)).toBeGreaterThan(0, "parked until the burst began");
    expect<u32>(cachedBlocks(heap)).toBeLessThan(300);
    expect<bool>(inBurst(heap)).toBe(true);
    const parked = cachedBlocks(heap);
    for (let i = 1; i < 600; i += 2) heapFree(heap, ptrs[i]); // the rest: each merges, nothing parks
    expect<u32>(cachedBlocks(heap)).toBe(parked, "paused");
    const again = heapMalloc(heap, 40); // served by the policy: a fold, after the caches went back
    expect<bool>(inBurst(heap)).toBe(false);
    expect<u32>(cachedBlocks(heap)).toBe(0);
    expect<usize>(again).toBe(ptrs[0], "the pool's first block: everything had merged");
    heapFree(heap, again);
    expect<u32>(heapFreeBlocks(heap)).toBe(1);
    expect<u32>(heapValidate(heap)).toBe(0);
  });

  it("a next link written over is found by the fold: CORRUPTION, never followed out of the pool, the index laid anew", () => {
    const heap = freshHeap(65536);
    const ptrs = row(heap, 9);
    for (let i = 1; i < 9; i += 2) heapFree(heap, ptrs[i]);
    store<u32>(ptrs[7] - HEADER_SIZE + 12, 0xffff_fff8); // the head (pushed last): its next link, far past the memory
    expect<usize>(settle(heap, heapMalloc(heap, 40))).toBe(errorResult(ERR_CORRUPTION));
    expect<u32>(heapValidate(heap)).toBe(0, "laid anew from the blocks");
    expect<u32>(heapFreeBlocks(heap)).toBe(5, "four holes and the top, nothing lost");
    expect<usize>(heapMalloc(heap, 40)).toBe(ptrs[1]);
  });

  it("a previous link written over is found when its block leaves the list: nothing written through it, the list laid anew", () => {
    const heap = freshHeap(65536);
    const ptrs = row(heap, 9);
    heapFree(heap, ptrs[1]);
    heapFree(heap, ptrs[5]); // the head now; ptrs[1]'s previous link is ptrs[5]
    store<u32>(ptrs[1] - HEADER_SIZE + 8, 0x7fff_fff8);
    // The merge unlinks ptrs[1], on its right: the free is done, the damage repaired (heap.ts released).
    expect<usize>(heapFree(heap, ptrs[0])).toBe(0, "the merge unlinks ptrs[1], on its right");
    expect<u32>(load<u32>(heap + HEAP_FAULT_REASON)).toBe(FAULT_INDEX_LINK, "the damage recorded");
    expect<u32>(heapValidate(heap)).toBe(0);
    expect<u32>(blockSize(ptrs[0] - HEADER_SIZE)).toBe(2 * 48, "the free itself went through");
  });

  it("validate() finds a list that does not hold what it counts, and lays it anew", () => {
    const heap = freshHeap(65536);
    const ptrs = row(heap, 9);
    heapFree(heap, ptrs[2]);
    heapFree(heap, ptrs[4]);
    store<u32>(heap + HEAP_PENDING + 4, 3); // the count says three
    expect<u32>(heapValidate(heap)).toBeGreaterThan(0);
    expect<u32>(heapValidate(heap)).toBe(0, "laid anew");
    expect<u32>(pendingBlocks(heap)).toBe(0, "into the index");
    expect<u32>(load<u32>(heap + HEAP_FREE_BLOCKS)).toBe(2);
    pendingFold(heap); // an empty list folds to nothing
    expect<u32>(heapValidate(heap)).toBe(0);
  });
});
