import { heapMalloc, heapFree } from "../../assembly/heap";
import { heapRealloc } from "../../assembly/realloc";
import { heapValidate } from "../../assembly/validate";
import { HEADER_SIZE, blockSize } from "../../assembly/block";
import { freshHeap } from "./fixture";

function fill(ptr: usize, n: u32, seed: u8): void {
  for (let i: u32 = 0; i < n; i++) store<u8>(ptr + i, <u8>(seed + i));
}
function holds(ptr: usize, n: u32, seed: u8): bool {
  for (let i: u32 = 0; i < n; i++) if (load<u8>(ptr + i) != <u8>(seed + i)) return false;
  return true;
}

describe("realloc", () => {
  it("shrinks in place and frees the tail", () => {
    const heap = freshHeap(4096);
    const p = heapMalloc(heap, 400);
    fill(p, 400, 7);
    expect<usize>(heapRealloc(heap, p, 100)).toBe(p);
    expect<u32>(blockSize(p - HEADER_SIZE)).toBe(112);
    expect<bool>(holds(p, 100, 7)).toBe(true);
    expect<u32>(heapValidate(heap)).toBe(0);
  });

  it("grows in place into a free right neighbour", () => {
    const heap = freshHeap(4096);
    const p = heapMalloc(heap, 100);
    fill(p, 100, 3);
    expect<usize>(heapRealloc(heap, p, 1000)).toBe(p);
    expect<bool>(holds(p, 100, 3)).toBe(true);
    expect<u32>(heapValidate(heap)).toBe(0);
  });

  it("moves, copies and frees when the neighbour is taken", () => {
    const heap = freshHeap(4096);
    const p = heapMalloc(heap, 100);
    heapMalloc(heap, 8);
    fill(p, 100, 9);
    const q = heapRealloc(heap, p, 500);
    expect<bool>(q != p && q != 0).toBe(true);
    expect<bool>(holds(q, 100, 9)).toBe(true);
    expect<u32>(heapValidate(heap)).toBe(0);
  });

  it("keeps the block when it cannot grow", () => {
    const heap = freshHeap(4096);
    const p = heapMalloc(heap, 100);
    fill(p, 100, 1);
    expect<usize>(heapRealloc(heap, p, 100000)).toBe(0);
    expect<bool>(holds(p, 100, 1)).toBe(true);
    expect<u32>(heapFree(heap, p)).toBe(0, "still valid");
  });

  it("realloc(0, n) allocates and realloc(p, 0) frees", () => {
    const heap = freshHeap(4096);
    const p = heapRealloc(heap, 0, 50);
    expect<usize>(p).toBeGreaterThan(0);
    expect<usize>(heapRealloc(heap, p, 0)).toBe(0);
    expect<u32>(heapValidate(heap)).toBe(0);
  });
});
