import { heapMalloc, heapFree, heapRealloc, heapUsableSize, checkLiveBlock } from "../../assembly/heap";
import { heapValidate } from "../../assembly/validate";
import { FAULT_BAD_MAGIC, FAULT_BAD_FOOTER } from "../../assembly/faults";
import {
  ERR_INVALID_POINTER, ERR_DOUBLE_FREE, ERR_CORRUPTION, ERR_DESTROYED, errorResult,
} from "../../assembly/errors";
import { CONTROL_STATE, ALLOCATOR_DESTROYED } from "../../assembly/control";
import { HEADER_SIZE } from "../../assembly/block";
import { freshHeap } from "./fixture";

describe("bad pointers are codes, never traps", () => {
  it("misaligned", () => {
    const heap = freshHeap(4096);
    const p = heapMalloc(heap, 64);
    expect<u32>(heapFree(heap, p + 3)).toBe(errorResult(ERR_INVALID_POINTER));
  });

  it("interior", () => {
    const heap = freshHeap(4096);
    const p = heapMalloc(heap, 64);
    expect<u32>(heapFree(heap, p + 16)).toBe(errorResult(ERR_INVALID_POINTER));
    expect<u32>(heapUsableSize(heap, p + 8)).toBe(errorResult(ERR_INVALID_POINTER));
  });

  it("out of range, below and above the pool", () => {
    const heap = freshHeap(4096);
    expect<u32>(heapFree(heap, 8)).toBe(errorResult(ERR_INVALID_POINTER));
    expect<u32>(heapFree(heap, heap + 1 << 20)).toBe(errorResult(ERR_INVALID_POINTER));
    expect<u32>(heapFree(heap, 0xffff_fff8)).toBe(errorResult(ERR_INVALID_POINTER));
  });

  it("already free", () => {
    const heap = freshHeap(4096);
    const p = heapMalloc(heap, 64);
    const q = heapMalloc(heap, 64);
    expect<u32>(heapFree(heap, p)).toBe(0);
    expect<u32>(heapFree(heap, p)).toBe(errorResult(ERR_DOUBLE_FREE));
    expect<u32>(heapFree(heap, q)).toBe(0);
    expect<u32>(heapFree(heap, q)).toBe(errorResult(ERR_DOUBLE_FREE), "a block merged into its neighbour is still caught");
    expect<usize>(heapRealloc(heap, q, 10)).toBe(errorResult(ERR_DOUBLE_FREE));
    expect<u32>(heapValidate(heap)).toBe(0, "nothing changed");
  });

  it("a header with a clobbered size is corruption", () => {
    const heap = freshHeap(4096);
    const p = heapMalloc(heap, 64);
    heapMalloc(heap, 64);
    store<u32>(p - HEADER_SIZE, 0xfff0 | 1);
    expect<u32>(checkLiveBlock(heap, p)).toBe(ERR_CORRUPTION);
    expect<u32>(heapFree(heap, p)).toBe(errorResult(ERR_CORRUPTION));
  });

  it("validation names overwritten headers and footers", () => {
    const heap = freshHeap(4096);
    const p = heapMalloc(heap, 64);
    const q = heapMalloc(heap, 64);
    heapMalloc(heap, 64);
    store<u32>(q - HEADER_SIZE + 4, 0);
    expect<u32>(heapValidate(heap)).toBe(FAULT_BAD_MAGIC);
    const heap2 = freshHeap(4096);
    const a = heapMalloc(heap2, 64);
    heapMalloc(heap2, 64);
    heapFree(heap2, a);
    store<u32>(a - HEADER_SIZE + 72 - 4, 12345);
    expect<u32>(heapValidate(heap2)).toBe(FAULT_BAD_FOOTER);
    expect<usize>(p).toBeGreaterThan(0);
  });

  it("a destroyed heap answers DESTROYED", () => {
    const heap = freshHeap(4096);
    const p = heapMalloc(heap, 64);
    store<u32>(heap + CONTROL_STATE, ALLOCATOR_DESTROYED);
    expect<usize>(heapMalloc(heap, 8)).toBe(errorResult(ERR_DESTROYED));
    expect<u32>(heapFree(heap, p)).toBe(errorResult(ERR_DESTROYED));
  });
});
