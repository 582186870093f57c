// The index rebuild (repair.ts heapRebuildIndex) at the pool's end: what a stray write left in the
// top's header or the sentinel's flag is put right by the walk from the pool's start, and a live
// last block that looks like a free top is left live. And the blocks whose headers it cannot trust:
// condemned (block.ts), so that the blocks tile and validation passes once it has reported them.
import { heapMalloc, topBlock } from "../../assembly/heap";
import { heapRebuildIndex } from "../../assembly/repair";
import { heapValidate } from "../../assembly/validate";
import { HEAP_SENTINEL, CONTROL_STATS } from "../../assembly/control";
import { HEADER_SIZE, USED, PREV_FREE, SLACK_LIMIT, blockSize, isUsed, isPrevFree, isCondemned } from "../../assembly/block";
import { FAULT_PREV_FREE_FLAG, FAULT_BAD_MAGIC, FAULT_BAD_SIZE, FAULT_BAD_SLACK } from "../../assembly/faults";
import { statRead, STAT_LIVE_BLOCKS } from "../../assembly/stats";
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

describe("heapRebuildIndex: a block whose header it cannot trust is condemned", () => {
  it("a live block whose magic was overwritten: condemned at its own size (its size word leads on), its neighbours kept", () => {
    const heap = freshHeap(8192);
    const before = heapMalloc(heap, 40) - HEADER_SIZE;
    const victim = heapMalloc(heap, 100) - HEADER_SIZE;
    const after = heapMalloc(heap, 40) - HEADER_SIZE;
    const size = blockSize(victim);
    store<u32>(victim, load<u32>(victim, 4) ^ (1 << 20), 4);
    expect<u32>(heapValidate(heap)).toBe(FAULT_BAD_MAGIC, "reported once, then mended");
    expect<bool>(isCondemned(victim)).toBe(true);
    expect<u32>(blockSize(victim)).toBe(size);
    expect<bool>(isCondemned(before) || isCondemned(after)).toBe(false);
    expect<u32>(heapValidate(heap)).toBe(0);
    expect<u64>(statRead(heap + CONTROL_STATS, STAT_LIVE_BLOCKS)).toBe(3, "counted live, kept out of use");
  });

  it("a live block whose size was overwritten: condemned up to the next header that holds", () => {
    const heap = freshHeap(8192);
    heapMalloc(heap, 40);
    const victim = heapMalloc(heap, 100) - HEADER_SIZE;
    const after = heapMalloc(heap, 40) - HEADER_SIZE;
    store<u32>(victim, load<u32>(victim) ^ (1 << 24));
    expect<u32>(heapValidate(heap)).toBe(FAULT_BAD_SIZE);
    expect<bool>(isCondemned(victim)).toBe(true);
    expect<usize>(victim + blockSize(victim)).toBe(after);
    expect<u32>(heapValidate(heap)).toBe(0);
  });

  it("a live block with more slack than any live block has: reported by validation, then condemned", () => {
    const heap = freshHeap(8192);
    const victim = heapMalloc(heap, 400) - HEADER_SIZE;
    heapMalloc(heap, 40);
    store<u32>(victim, (load<u32>(victim, 4) & 0xffff_0007) | (SLACK_LIMIT << 3), 4); // a slack inside the block, but one no live block has
    expect<u32>(heapValidate(heap)).toBe(FAULT_BAD_SLACK);
    expect<bool>(isCondemned(victim)).toBe(true);
    expect<u32>(heapValidate(heap)).toBe(0);
  });

  it("a live block whose size was enlarged to the start of a later block: condemned up to the block it swallowed, which stays live", () => {
    const heap = freshHeap(8192);
    const victim = heapMalloc(heap, 100) - HEADER_SIZE;
    const swallowed = heapMalloc(heap, 100) - HEADER_SIZE;
    heapMalloc(heap, 40);
    store<u32>(victim, load<u32>(victim) + blockSize(swallowed)); // it now ends where the third starts
    heapRebuildIndex(heap);
    expect<bool>(isCondemned(victim)).toBe(true);
    expect<usize>(victim + blockSize(victim)).toBe(swallowed);
    expect<bool>(isCondemned(swallowed)).toBe(false);
    expect<bool>(isUsed(swallowed)).toBe(true);
    expect<u32>(heapValidate(heap)).toBe(0);
  });
});
