import { heapMalloc, heapFree, heapAllocate, topBlock, heapInit } from "../../assembly/heap";
import { heapFreeBlocks, heapFreeBytes } from "../../assembly/queries";
import { ERR_INVALID_POINTER, ERR_CORRUPTION, errorResult } from "../../assembly/errors";
import { heapValidate } from "../../assembly/validate";
import { HEADER_SIZE, PREV_FREE, blockSize, isUsed, MIN_BLOCK_SIZE } from "../../assembly/block";
import { POLICY_BEST_FIT, POLICY_FIRST_FIT, HEAP_SENTINEL, HEAP_FAULT_BLOCK, HEAP_FAULT_REASON } from "../../assembly/control";
import { FAULT_INDEX_LINK } from "../../assembly/faults";
import { freshHeap } from "./fixture";
import { settle } from "../../assembly/repair";

/** Free blocks, the top (the free block at the end, outside the index) included. */
function freeBlocks(heap: usize): u32 {
  return heapFreeBlocks(heap);
}

/** Allocates a, gap1(256), b, gap2(64), c, gap3(128), d, then frees the gaps: holes of 256, 64, 128. */
function holes(heap: usize, out: StaticArray<usize>): void {
  const a = heapMalloc(heap, 16);
  out[0] = heapMalloc(heap, 256);
  const b = heapMalloc(heap, 16);
  out[1] = heapMalloc(heap, 64);
  const c = heapMalloc(heap, 16);
  out[2] = heapMalloc(heap, 128);
  const d = heapMalloc(heap, 16);
  heapFree(heap, out[0]);
  heapFree(heap, out[1]);
  heapFree(heap, out[2]);
  expect<bool>(a != 0 && b != 0 && c != 0 && d != 0).toBe(true);
}

describe("placement", () => {
  it("first-fit takes the lowest-addressed hole that fits", () => {
    const heap = freshHeap(8192, POLICY_FIRST_FIT);
    const gaps = new StaticArray<usize>(3);
    holes(heap, gaps);
    expect<usize>(heapMalloc(heap, 60)).toBe(gaps[0], "the 256 hole comes first");
    expect<u32>(heapValidate(heap)).toBe(0);
  });

  it("best-fit takes the smallest hole that fits", () => {
    const heap = freshHeap(8192, POLICY_BEST_FIT);
    const gaps = new StaticArray<usize>(3);
    holes(heap, gaps);
    expect<usize>(heapMalloc(heap, 60)).toBe(gaps[1], "the 64 hole is the snuggest");
    expect<usize>(heapMalloc(heap, 100)).toBe(gaps[2], "then the 128 hole");
    expect<u32>(heapValidate(heap)).toBe(0);
  });

  it("best-fit prefers the lowest address among equal holes", () => {
    const heap = freshHeap(8192, POLICY_BEST_FIT);
    const x = heapMalloc(heap, 64);
    heapMalloc(heap, 16);
    const y = heapMalloc(heap, 64);
    heapMalloc(heap, 16);
    heapFree(heap, y);
    heapFree(heap, x);
    expect<usize>(heapMalloc(heap, 64)).toBe(x);
  });
});

describe("splitting", () => {
  it("splits a free block when the remainder can hold a block", () => {
    const heap = freshHeap(4096);
    const p = heapMalloc(heap, 100);
    const block = p - HEADER_SIZE;
    expect<u32>(blockSize(block)).toBe(112);
    const rest = block + 112;
    expect<bool>(isUsed(rest)).toBe(false, "the remainder stays free");
    expect<u32>(freeBlocks(heap)).toBe(1);
  });

  it("hands out the whole block when the remainder would be too small", () => {
    const heap = freshHeap(4096);
    const a = heapMalloc(heap, 200);
    heapMalloc(heap, 16);
    heapFree(heap, a);
    const b = heapMalloc(heap, 200 - MIN_BLOCK_SIZE + 8);
    expect<usize>(b).toBe(a);
    expect<u32>(blockSize(b - HEADER_SIZE)).toBe(208, "no sliver split off");
  });
});

describe("coalescing", () => {
  it("merges a freed block with a free right neighbour", () => {
    const heap = freshHeap(4096);
    const a = heapMalloc(heap, 64);
    const b = heapMalloc(heap, 64);
    heapFree(heap, b);
    expect<u32>(freeBlocks(heap)).toBe(1, "b merged into the tail");
    heapFree(heap, a);
    expect<u32>(freeBlocks(heap)).toBe(1);
    expect<u32>(heapValidate(heap)).toBe(0);
  });

  it("merges with both neighbours at once", () => {
    const heap = freshHeap(4096);
    const a = heapMalloc(heap, 64);
    const b = heapMalloc(heap, 64);
    const c = heapMalloc(heap, 64);
    heapMalloc(heap, 64);
    heapFree(heap, a);
    heapFree(heap, c);
    expect<u32>(freeBlocks(heap)).toBe(3);
    heapFree(heap, b);
    expect<u32>(freeBlocks(heap)).toBe(2, "a, b and c are one block now");
    expect<u32>(blockSize(a - HEADER_SIZE)).toBe(3 * 72);
    expect<u32>(heapValidate(heap)).toBe(0);
  });
});

describe("alignment", () => {
  it("a request the size of the whole top takes it, and one byte more does not fit", () => {
    for (let policy: u32 = 0; policy < 2; policy++) {
      const heap = freshHeap(8192, policy); // no growth: the pool is all there is
      const first = heapMalloc(heap, 16);
      const top = first - HEADER_SIZE + blockSize(first - HEADER_SIZE);
      const whole = blockSize(top) - HEADER_SIZE; // the top's payload, to the sentinel
      expect<usize>(heapMalloc(heap, whole + 1)).toBe(0, "a byte more than the top holds");
      expect<usize>(heapMalloc(heap, whole)).toBe(top + HEADER_SIZE, "exactly the top: taken whole");
      expect<u32>(freeBlocks(heap)).toBe(0);
      expect<u32>(heapValidate(heap)).toBe(0);
    }
  });

  it("aligns every payload to the heap's alignment", () => {
    const heap = freshHeap(65536, POLICY_FIRST_FIT, 64);
    for (let i: u32 = 0; i < 20; i++) {
      const p = heapMalloc(heap, i * 13 + 1);
      expect<usize>(p & 63).toBe(0);
    }
    expect<u32>(heapValidate(heap)).toBe(0);
  });

  it("aligns a request to a larger alignment and keeps the gap free", () => {
    const heap = freshHeap(65536 * 2);
    heapMalloc(heap, 24);
    const p = heapAllocate(heap, 100, 4096);
    expect<usize>(p & 4095).toBe(0);
    expect<u32>(freeBlocks(heap)).toBe(2, "the gap before it and the rest after it");
    const q = heapAllocate(heap, 8, 65536);
    expect<usize>(q & 65535).toBe(0);
    expect<u32>(heapValidate(heap)).toBe(0);
  });
});

describe("the top (the free block at the end of the pool, found by its footer)", () => {
  it("a top whose footer is misaligned or below the smallest block is no top (statistics do not read through it)", () => {
    for (let fault = 0; fault < 2; fault++) {
      const heap = freshHeap(8192);
      heapMalloc(heap, 64);
      const sentinel: usize = load<u32>(heap + HEAP_SENTINEL);
      const top = topBlock(heap);
      expect<usize>(top).toBeGreaterThan(0, "the rest of the pool");
      const footer = load<u32>(sentinel - 4);
      const freeBytes = heapFreeBytes(heap);
      store<u32>(sentinel - 4, fault == 0 ? footer - 4 : 16); // misaligned; a size below 24
      expect<usize>(topBlock(heap)).toBe(0, "fault " + fault.toString());
      expect<u32>(heapFreeBytes(heap)).toBe(freeBytes - (blockSize(top) - HEADER_SIZE), "the top left out of the free bytes");
      store<u32>(sentinel - 4, footer);
      expect<usize>(topBlock(heap)).toBe(top);
    }
  });
});

describe("a free into the top (a block between a used one and the top joins it)", () => {
  it("joins the top in place; a top whose header a stray write changed is reported, nothing freed, and laid anew", () => {
    // [word of the top's header (0: the size word, 4: the tag), what the stray write XORs in]:
    // the magic, the size (no longer its footer's), the flag that says its left neighbour is free.
    const breaks: u32[][] = [[4, 1 << 16], [0, 8], [0, PREV_FREE]];
    for (let i = 0; i <= breaks.length; i++) {
      const heap = freshHeap(8192);
      heapMalloc(heap, 64);
      const ptr = heapMalloc(heap, 100);
      const block = ptr - HEADER_SIZE;
      const top = topBlock(heap);
      expect<usize>(top).toBe(block + blockSize(block), "the block ends where the top starts");
      const topSize = blockSize(top);
      const freeBytes = heapFreeBytes(heap);
      if (i == breaks.length) {
        expect<u32>(heapFree(heap, ptr)).toBe(0, "the control case");
        expect<usize>(topBlock(heap)).toBe(block, "the top starts at the freed block");
        const joined = blockSize(block);
        expect<u32>(joined).toBe(<u32>(load<u32>(heap + HEAP_SENTINEL) - block), "it reaches the sentinel");
        expect<u32>(heapFreeBytes(heap)).toBe(freeBytes + joined - topSize, "the block's bytes are free");
        expect<u32>(freeBlocks(heap)).toBe(1, "one free block, the top, outside the index");
        expect<u32>(heapValidate(heap)).toBe(0);
        continue;
      }
      const at = top + <usize>breaks[i][0];
      store<u32>(at, load<u32>(at) ^ breaks[i][1]);
      expect<u32>(settle(heap, heapFree(heap, ptr))).toBe(errorResult(ERR_CORRUPTION), "break " + i.toString());
      expect<u32>(load<u32>(heap + HEAP_FAULT_BLOCK)).toBe(<u32>top, "the fault names the top");
      expect<bool>(isUsed(block)).toBe(true, "the block is still live at break " + i.toString());
      // The rebuild that followed laid the top anew (its bytes were free): the next try goes through.
      expect<usize>(topBlock(heap)).toBe(top, "the top is where it was");
      expect<u32>(heapValidate(heap)).toBe(0, "sound again at break " + i.toString());
      expect<u32>(heapFree(heap, ptr)).toBe(0, "the free goes through at break " + i.toString());
      expect<usize>(topBlock(heap)).toBe(block);
      expect<u32>(heapValidate(heap)).toBe(0);
    }
  });
});

describe("a malloc from the top when nothing else is free", () => {
  it("hands out none of a top whose header a stray write changed: CORRUPTION naming it, and the top laid anew", () => {
    // [word of the top's header, what the stray write XORs in]: the magic, the size (the rebuild's
    // walk from the pool's start stops at either, where the top's footer says it starts), the used flag.
    const breaks: u32[][] = [[4, 1 << 16], [0, 8], [0, 1]];
    for (let i = 0; i < breaks.length; i++) {
      const heap = freshHeap(8192);
      const first = heapMalloc(heap, 64);
      const top = topBlock(heap);
      expect<usize>(top).toBe(first - HEADER_SIZE + blockSize(first - HEADER_SIZE), "the rest of the pool is the top");
      expect<u32>(freeBlocks(heap)).toBe(1, "nothing free but the top");
      const at = top + <usize>breaks[i][0];
      store<u32>(at, load<u32>(at) ^ breaks[i][1]);
      expect<usize>(settle(heap, heapMalloc(heap, 32))).toBe(errorResult(ERR_CORRUPTION), "break " + i.toString());
      expect<u32>(load<u32>(heap + HEAP_FAULT_BLOCK)).toBe(<u32>top, "the fault names the top, not an index link");
      expect<u32>(load<u32>(heap + HEAP_FAULT_REASON)).not.toBe(FAULT_INDEX_LINK);
      expect<bool>(isUsed(first - HEADER_SIZE)).toBe(true, "the live block is untouched");
      // A header marked used stays used: a block that may hold live data is never laid anew as free.
      if (i == 2) continue;
      // The rebuild laid the top anew (its bytes were free): the heap goes on.
      expect<usize>(topBlock(heap)).toBe(top, "the top is where it was");
      expect<u32>(heapValidate(heap)).toBe(0, "sound again at break " + i.toString());
      expect<usize>(heapMalloc(heap, 32)).toBe(top + HEADER_SIZE, "the next malloc takes the top");
      expect<u32>(heapFree(heap, first)).toBe(0, "the block beside it can be freed");
    }
  });
});

describe("heapInit", () => {
  it("refuses an alignment above 4096, a pool too small for one block, a limit past the wasm32 addresses", () => {
    const base = <usize>memory.grow(1) * 65536;
    expect<u32>(heapInit(base, 8192, 8192, 8192, POLICY_FIRST_FIT, 0)).toBe(errorResult(ERR_INVALID_POINTER), "alignment 8192");
    expect<u32>(heapInit(base, 24, 24, 8, POLICY_FIRST_FIT, 0)).toBe(errorResult(ERR_INVALID_POINTER), "a 24-byte pool: no room for a block and the sentinel");
    expect<u32>(heapInit(base, 8192, 0xffff_fff0, 8, POLICY_FIRST_FIT, 0)).toBe(errorResult(ERR_INVALID_POINTER), "a limit past the address space");
    expect<u32>(heapInit(base, 8192, 8192, 4096, POLICY_FIRST_FIT, 0)).toBe(0, "and the control case");
  });
});
