// The policies as API.md defines them, checked against brute force on fragmented heaps: first-fit
// is the lowest-addressed free block that fits, best-fit the smallest (lowest address among equals).
import { heapMalloc, heapFree, heapAllocate } from "../../assembly/heap";
import { heapFirstBlock, heapNextBlock } from "../../assembly/queries";
import { indexFind, payloadFitting } from "../../assembly/freeindex";
import { heapValidate } from "../../assembly/validate";
import { blockSize, isUsed, blockSizeFor } from "../../assembly/block";
import { POLICY_FIRST_FIT, POLICY_BEST_FIT } from "../../assembly/control";
import { pendingFold } from "../../assembly/pending";
import { freshHeap } from "./fixture";

let seed: u32 = 12345;
function nextRandom(): u32 {
  seed = seed * 1664525 + 1013904223;
  return seed >>> 8;
}

/** A heap of 3,000 blocks of mixed sizes with a random half freed (caches off: all pending, then in the index). */
function fragmented(policy: u32): usize {
  const heap = freshHeap(4 << 20, policy);
  const ptrs = new StaticArray<usize>(3000);
  for (let i = 0; i < 3000; i++) ptrs[i] = heapMalloc(heap, 8 + nextRandom() % 2000);
  for (let i = 0; i < 3000; i++) if (nextRandom() % 2 == 0) heapFree(heap, ptrs[i]);
  return heap;
}

/** Brute force over the blocks in address order. */
function expected(heap: usize, need: u32, alignment: u32, bestFit: bool): usize {
  let best: usize = 0;
  let bestSize: u32 = 0xffff_ffff;
  for (let block = heapFirstBlock(heap); block != 0; block = heapNextBlock(heap, block)) {
    if (isUsed(block)) continue;
    const size = blockSize(block);
    if (size < need || payloadFitting(block, size, need, alignment) == 0) continue;
    if (!bestFit) return block;
    if (size < bestSize) { best = block; bestSize = size; }
  }
  return best;
}

describe("placement policies against brute force", () => {
  it("first-fit finds the lowest-addressed fitting block, at alignment 8 and above", () => {
    const heap = fragmented(POLICY_FIRST_FIT);
    pendingFold(heap); // the index itself under test: the freed blocks in it, as a request would fold them
    for (let request: u32 = 0; request < 6000; request += 37) {
      const need = blockSizeFor(request);
      expect<usize>(indexFind(heap, need, 8)).toBe(expected(heap, need, 8, false));
      expect<usize>(indexFind(heap, need, 256)).toBe(expected(heap, need, 256, false));
    }
  });

  it("best-fit finds the smallest fitting block, lowest address among equals", () => {
    const heap = fragmented(POLICY_BEST_FIT);
    pendingFold(heap);
    for (let request: u32 = 0; request < 6000; request += 37) {
      const need = blockSizeFor(request);
      expect<usize>(indexFind(heap, need, 8)).toBe(expected(heap, need, 8, true));
      expect<usize>(indexFind(heap, need, 256)).toBe(expected(heap, need, 256, true));
    }
  });

  it("allocations place where the brute force says, and the heap holds", () => {
    for (let policy: u32 = 0; policy < 2; policy++) {
      const heap = fragmented(policy);
      for (let i = 0; i < 200; i++) {
        const request = 8 + nextRandom() % 3000;
        const alignment: u32 = nextRandom() % 4 == 0 ? 64 : 8;
        const block = expected(heap, blockSizeFor(request), alignment, policy == POLICY_BEST_FIT);
        const payload: usize = block == 0 ? 0 : payloadFitting(block, blockSize(block), blockSizeFor(request), alignment);
        const ptr = heapAllocate(heap, request, alignment);
        expect<usize>(ptr).toBe(payload, "where the brute force places it (0: nothing fits, and growth is off)");
      }
      expect<u32>(heapValidate(heap)).toBe(0);
    }
  });
});

/** A hole of 400 bytes at the start, used blocks, and a top of `topSize` bytes at the end. */
function holeAndTop(policy: u32, topSize: u32, out: StaticArray<usize>): usize {
  const heap = freshHeap(65536, policy);
  out[0] = heapMalloc(heap, 392); // a 400-byte block
  heapMalloc(heap, 8); // 24 bytes
  out[1] = heapMalloc(heap, 65528 - 400 - 24 - topSize - 8); // leaves the top
  heapFree(heap, out[0]);
  return heap;
}

describe("the top (the free block at the end, kept out of the index)", () => {
  it("first-fit takes an indexed block below it, and it when nothing indexed fits", () => {
    const ptrs = new StaticArray<usize>(2);
    const heap = holeAndTop(POLICY_FIRST_FIT, 1000, ptrs);
    expect<usize>(heapMalloc(heap, 150)).toBe(ptrs[0], "the hole: lower than the top");
    const fromTop = heapMalloc(heap, 500); // the hole's rest (240 bytes) is too small
    expect<usize>(fromTop).toBe(ptrs[1] + blockSize(ptrs[1] - 8), "nothing indexed fits: the top");
    expect<u32>(heapValidate(heap)).toBe(0);
  });

  it("best-fit takes it when it is the smallest that fits", () => {
    const ptrs = new StaticArray<usize>(2);
    const heap = holeAndTop(POLICY_BEST_FIT, 200, ptrs);
    const ptr = heapMalloc(heap, 150);
    expect<usize>(ptr).toBe(ptrs[1] + blockSize(ptrs[1] - 8), "the top (200 bytes) before the hole (400)");
    expect<usize>(heapMalloc(heap, 150)).toBe(ptrs[0], "then the hole");
    expect<u32>(heapValidate(heap)).toBe(0);
  });
});
