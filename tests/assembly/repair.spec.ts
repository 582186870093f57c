// The index rebuild (repair.ts heapRebuildIndex) at the pool's end: what a stray write left in the
// top's header or the sentinel's flag is put right by the walk from the pool's start, and a live
// last block that looks like a free top is left live.
import { heapMalloc, topBlock } from "../../assembly/heap";
import { heapRebuildIndex } from "../../assembly/repair";
import { heapValidate } from "../../assembly/validate";
import { HEAP_SENTINEL } from "../../assembly/control";
import { HEADER_SIZE, USED, PREV_FREE, blockSize, isUsed, isPrevFree } from "../../assembly/block";
import { FAULT_PREV_FREE_FLAG } from "../../assembly/faults";
import { freshHeap } from "./fixture";

function sentinelOf(heap: usize): usize {
  return <usize>load<u32>(heap + HEAP_SENTINEL);
}

describe("heapRebuildIndex at the pool's end", () => {
  it("a top whose used flag a stray write set is laid anew as the free top", () => {
    const heap = freshHeap(8192);
    heapMalloc(heap, 100);
    const top = topBlock(heap);
    expect<usize>(top).toBeGreaterThan(0);
    const size = blockSize(top);
    store<u32>(top, load<u32>(top) | USED);
    expect<u32>(heapValidate(heap)).toBe(FAULT_PREV_FREE_FLAG, "the sentinel says free, the top says used");
    heapRebuildIndex(heap);
    expect<bool>(isUsed(top)).toBe(false);
    expect<usize>(topBlock(heap)).toBe(top);
    expect<u32>(blockSize(top)).toBe(size);
    expect<u32>(heapValidate(heap)).toBe(0);
    expect<usize>(heapMalloc(heap, 64)).toBe(top + HEADER_SIZE, "carved from it again");
  });

  it("a sentinel whose free-neighbour flag a stray write set after a live block is cleared", () => {
    const heap = freshHeap(8192);
    heapMalloc(heap, 100);
    const last = heapMalloc(heap, <u32>(blockSize(topBlock(heap)) - HEADER_SIZE)) - HEADER_SIZE; // the whole top
    const sentinel = sentinelOf(heap);
    expect<usize>(last + blockSize(last)).toBe(sentinel);
    expect<u32>(load<u32>(sentinel - 4)).toBe(blockSize(last), "its old footer still reads as its size");
    store<u32>(sentinel, load<u32>(sentinel) | PREV_FREE);
    heapRebuildIndex(heap);
    expect<bool>(isPrevFree(sentinel)).toBe(false);
    expect<bool>(isUsed(last)).toBe(true, "the live block stays live");
    expect<u32>(heapValidate(heap)).toBe(0);
  });

  it("a live last block is never taken for the top: its tag keeps its slack and protection", () => {
    const heap = freshHeap(8192);
    heapMalloc(heap, 100);
    const last = heapMalloc(heap, <u32>(blockSize(topBlock(heap)) - HEADER_SIZE) - 3) - HEADER_SIZE; // 3 bytes of slack
    const sentinel = sentinelOf(heap);
    expect<usize>(last + blockSize(last)).toBe(sentinel);
    store<u32>(sentinel, load<u32>(sentinel) | PREV_FREE); // the flag and the old footer both say "free top"
    heapRebuildIndex(heap);
    expect<bool>(isUsed(last)).toBe(true);
    expect<bool>(isPrevFree(sentinel)).toBe(false);
    expect<u32>(heapValidate(heap)).toBe(0);
  });
});
