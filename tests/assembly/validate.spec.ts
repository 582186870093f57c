import { heapMalloc, heapFree } from "../../assembly/heap";
import { heapValidate } from "../../assembly/validate";
import {
  FAULT_NONE, FAULT_BAD_SIZE, FAULT_PREV_FREE_FLAG, FAULT_ADJACENT_FREE, FAULT_BAD_END,
  FAULT_INDEX_COUNT, FAULT_FREE_BYTES, FAULT_LIVE_BLOCKS, FAULT_CURRENT_USAGE, FAULT_CACHE,
} from "../../assembly/faults";
import { HEAP_SENTINEL, HEAP_FREE_BLOCKS, HEAP_FREE_BLOCK_BYTES, HEAP_FAULT_BLOCK, HEAP_FAULT_FOUND, HEAP_CACHES, CONTROL_STATS, POLICY_FIRST_FIT } from "../../assembly/control";
import { cachedBlocks } from "../../assembly/caches";
import { STAT_TOTAL_ALLOCATED, STAT_ALLOCATION_COUNT } from "../../assembly/stats";
import { HEADER_SIZE, USED, PREV_FREE, blockSize, setFlag, clearFlag } from "../../assembly/block";
import { freshHeap } from "./fixture";

// Each case lays out the same heap, changes one thing a stray write (or a bug) could change, and
// expects validate() to name that fault, and the block where it is when there is one.
//
//    a (used) │ f (free, indexed) │ b (used) │ c (used) │ top (free) │ sentinel

const MIN_SIZE = 0, PREV_FREE_FLAG = 1, ADJACENT_FREE = 2, SENTINEL_MAGIC = 3, SENTINEL_USED = 4,
  SENTINEL_PREV_FREE = 5, FREE_COUNT = 6, FREE_BYTES = 7, LIVE_BLOCKS = 8, USAGE = 9;

/** Applies fault `which` to a fresh heap; the block validate() should name (0: none). */
function injure(heap: usize, which: i32): usize {
  const a = heapMalloc(heap, 64) - HEADER_SIZE;
  const f = heapMalloc(heap, 64) - HEADER_SIZE;
  const b = heapMalloc(heap, 64) - HEADER_SIZE;
  const c = heapMalloc(heap, 64) - HEADER_SIZE;
  heapFree(heap, f + HEADER_SIZE);
  const sentinel: usize = load<u32>(heap + HEAP_SENTINEL);
  const stats = heap + CONTROL_STATS;
  switch (which) {
    case MIN_SIZE: store<u32>(a, 16 | (load<u32>(a) & 7)); return a;
    case PREV_FREE_FLAG: setFlag(c, PREV_FREE); return c; // its left (b) is used
    case ADJACENT_FREE: { // b marked free as a free block is (footer, the flag on its right), next to f
      const size = blockSize(b);
      clearFlag(b, USED);
      store<u32>(b + size - 4, size);
      setFlag(c, PREV_FREE);
      return b;
    }
    case SENTINEL_MAGIC: store<u32>(sentinel + 4, load<u32>(sentinel + 4) ^ 0x1_0000); return sentinel;
    case SENTINEL_USED: clearFlag(sentinel, USED); return sentinel;
    case SENTINEL_PREV_FREE: clearFlag(sentinel, PREV_FREE); return sentinel; // the top is free
    case FREE_COUNT: store<u32>(heap + HEAP_FREE_BLOCKS, load<u32>(heap + HEAP_FREE_BLOCKS) + 1); return 0;
    case FREE_BYTES: store<u32>(heap + HEAP_FREE_BLOCK_BYTES, load<u32>(heap + HEAP_FREE_BLOCK_BYTES) + 8); return 0;
    case LIVE_BLOCKS: store<u64>(stats + STAT_ALLOCATION_COUNT, load<u64>(stats + STAT_ALLOCATION_COUNT) + 1); return 0;
    case USAGE: store<u64>(stats + STAT_TOTAL_ALLOCATED, load<u64>(stats + STAT_TOTAL_ALLOCATED) + 1); return 0;
  }
  return 0;
}

function expected(which: i32): u32 {
  switch (which) {
    case MIN_SIZE: return FAULT_BAD_SIZE;
    case PREV_FREE_FLAG: return FAULT_PREV_FREE_FLAG;
    case ADJACENT_FREE: return FAULT_ADJACENT_FREE;
    case SENTINEL_MAGIC: return FAULT_BAD_END;
    case SENTINEL_USED: return FAULT_BAD_END;
    case SENTINEL_PREV_FREE: return FAULT_PREV_FREE_FLAG;
    case FREE_COUNT: return FAULT_INDEX_COUNT;
    case FREE_BYTES: return FAULT_FREE_BYTES;
    case LIVE_BLOCKS: return FAULT_LIVE_BLOCKS;
    case USAGE: return FAULT_CURRENT_USAGE;
  }
  return FAULT_NONE;
}

describe("validate names each inconsistency", () => {
  it("in the blocks, at the end of the pool and in the counters", () => {
    for (let which = MIN_SIZE; which <= USAGE; which++) {
      const heap = freshHeap(8192);
      const at = injure(heap, which);
      expect<u32>(heapValidate(heap)).toBe(expected(which), "case " + which.toString());
      if (at != 0) {
        expect<usize>(load<u32>(heap + HEAP_FAULT_BLOCK)).toBe(at, "case " + which.toString() + ": the block named");
      }
    }
  });

  it("and nothing in a heap none of these touched", () => {
    expect<u32>(heapValidate(freshHeap(8192))).toBe(FAULT_NONE);
    const heap = freshHeap(8192);
    injure(heap, -1);
    expect<u32>(heapValidate(heap)).toBe(FAULT_NONE, "the layout itself is sound");
  });

  it("in the small-block caches: a list longer than its count (named by its block size), totals that disagree", () => {
    // The caches' layout (caches.ts): heads, then a count per block size, then the two totals.
    const COUNTS = HEAP_CACHES + 508, TOTAL_BLOCKS = HEAP_CACHES + 1016, TOTAL_BYTES = HEAP_CACHES + 1020;
    for (let which = 0; which < 3; which++) {
      const heap = freshHeap(8192, POLICY_FIRST_FIT, 8, 0, 0); // caches on
      const small = heapMalloc(heap, 16); // a 32-byte block (the smallest)
      heapMalloc(heap, 8);
      const large = heapMalloc(heap, 64); // a 72-byte block
      heapMalloc(heap, 8);
      heapFree(heap, small);
      heapFree(heap, large);
      expect<u32>(cachedBlocks(heap)).toBe(2, "both parked");
      const count32 = heap + COUNTS, count72 = heap + COUNTS + ((72 - 32) >> 3 << 2);
      if (which == 0) { // one block moved from the 32-byte list's count to the 72-byte one's: the totals agree
        store<u32>(count32, 0);
        store<u32>(count72, 2);
      } else if (which == 1) {
        store<u32>(heap + TOTAL_BLOCKS, 3);
      } else {
        store<u32>(heap + TOTAL_BYTES, 32 + 72 + 8);
      }
      expect<u32>(heapValidate(heap)).toBe(FAULT_CACHE, "case " + which.toString());
      if (which == 0) expect<u32>(load<u32>(heap + HEAP_FAULT_FOUND)).toBe(32, "the list that runs past its count");
      expect<u32>(heapValidate(heap)).toBe(FAULT_NONE, "the caches folded back into the free space");
    }
  });
});
