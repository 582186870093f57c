import { heapMalloc } from "../../assembly/heap";
import { heapProtect, heapProtection } from "../../assembly/protect";
import { heapValidate } from "../../assembly/validate";
import { PROT_READ, PROT_READ_WRITE } from "../../assembly/block";
import { ERR_OUT_OF_MEMORY, errorResult } from "../../assembly/errors";
import { HEAP_FINGERPRINTS } from "../../assembly/control";
import { freshHeap } from "./fixture";

describe("protection", () => {
  it("taking Write away when the pool has no room for the fingerprint table: OUT_OF_MEMORY, nothing changed", () => {
    const heap = freshHeap(4096); // a fixed pool
    const first = heapMalloc(heap, 64);
    while (heapMalloc(heap, 64) != 0); // full, but for less than the table's first block (136 bytes)
    expect<u32>(heapProtect(heap, first, 64, PROT_READ)).toBe(errorResult(ERR_OUT_OF_MEMORY));
    expect<u32>(heapProtection(heap, first)).toBe(PROT_READ_WRITE, "the block keeps Write");
    expect<u32>(load<u32>(heap + HEAP_FINGERPRINTS)).toBe(0, "no table");
    expect<u32>(heapValidate(heap)).toBe(0);
  });
});
