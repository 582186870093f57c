import { heapInit, heapMalloc, heapFree } from "../../assembly/heap";
import { heapFreeBlocks } from "../../assembly/queries";
import { heapValidate } from "../../assembly/validate";
import { quarantinedBlocks, quarantinedBytes, quarantineFlush, HELD } from "../../assembly/quarantine";
import { HEADER_SIZE, isUsed, isCached, blockSize } from "../../assembly/block";
import { HEAP_CONTROL_SIZE, POLICY_FIRST_FIT, OPTION_CHECKS } from "../../assembly/control";
import { ERR_CORRUPTION, errorResult } from "../../assembly/errors";

/** A checks-mode heap whose quarantine holds `held` bytes of blocks. */
function quarantinedHeap(held: u32): usize {
  const pages = <i32>((<u32>HEAP_CONTROL_SIZE + 8192 + 65536 + 65535) / 65536);
  const base = <usize>memory.grow(pages) * 65536;
  assert(heapInit(base, 65536, 65536, 8, POLICY_FIRST_FIT, OPTION_CHECKS, held) == 0, "heapInit failed");
  return base;
}

describe("checks mode's quarantine", () => {
  it("holds freed blocks, marked as parked, and lets the oldest go first once it is full", () => {
    const heap = quarantinedHeap(3 * 80); // three blocks of 64-byte requests (80 bytes each)
    const blocks: usize[] = [];
    for (let i = 0; i < 5; i++) blocks.push(heapMalloc(heap, 64));
    expect<u32>(blockSize(blocks[0] - HEADER_SIZE)).toBe(80);
    for (let i = 0; i < 3; i++) expect<u32>(heapFree(heap, blocks[i])).toBe(0);
    expect<u32>(quarantinedBlocks(heap)).toBe(3);
    expect<u32>(quarantinedBytes(heap)).toBe(240);
    expect<bool>(isUsed(blocks[0] - HEADER_SIZE) && isCached(blocks[0] - HEADER_SIZE)).toBe(true, "held: its neighbours do not merge with it");
    expect<u32>(heapFree(heap, blocks[3])).toBe(0);
    expect<u32>(quarantinedBlocks(heap)).toBe(3, "one left to make room");
    expect<bool>(isUsed(blocks[0] - HEADER_SIZE)).toBe(false, "the oldest left: free in the pool");
    expect<bool>(isCached(blocks[1] - HEADER_SIZE)).toBe(true, "the next oldest is still held");
    expect<u32>(heapValidate(heap)).toBe(0);
  });

  it("refuses a free that would let a written block leave, changing nothing", () => {
    const heap = quarantinedHeap(80);
    const a = heapMalloc(heap, 64);
    const b = heapMalloc(heap, 64);
    heapMalloc(heap, 8);
    heapFree(heap, a);
    store<u8>(a + 30, 1); // after the free: junk expected
    expect<u32>(heapFree(heap, b)).toBe(errorResult(ERR_CORRUPTION));
    expect<bool>(isCached(a - HEADER_SIZE)).toBe(true, "a is still held");
    expect<bool>(isCached(b - HEADER_SIZE)).toBe(false, "b is still live");
    expect<u32>(heapFree(heap, b)).toBe(0, "reported once: the junk was laid again");
    expect<u32>(heapValidate(heap)).toBe(0);
  });

  it("hands every held block back on a flush, where they coalesce", () => {
    const heap = quarantinedHeap(65536);
    const a = heapMalloc(heap, 64);
    const b = heapMalloc(heap, 64);
    heapFree(heap, a);
    heapFree(heap, b);
    expect<u32>(heapFreeBlocks(heap)).toBe(3, "two held, and the top");
    expect<i32>(quarantineFlush(heap)).toBe(HELD);
    expect<u32>(quarantinedBlocks(heap)).toBe(0);
    expect<u32>(heapFreeBlocks(heap)).toBe(1, "a, b and the top are one block");
    expect<u32>(heapValidate(heap)).toBe(0);
  });
});
