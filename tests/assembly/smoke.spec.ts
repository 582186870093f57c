import { heapMalloc, heapFree } from "../../assembly/heap";
import { freshHeap } from "./fixture";
import { heapValidate } from "../../assembly/validate";

describe("smoke", () => {
  it("allocates and frees", () => {
    const heap = freshHeap(4096);
    const p = heapMalloc(heap, 100);
    expect<usize>(p).toBeGreaterThan(heap);
    expect<u32>(heapFree(heap, p)).toBe(0);
    expect<u32>(heapValidate(heap)).toBe(0);
  });
});
