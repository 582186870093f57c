import { heapMalloc, heapFree } from "../../assembly/heap";
import { heapRealloc } from "../../assembly/realloc";
import { heapUsableSize, heapFirstBlock } from "../../assembly/queries";
import { checkLiveBlock } from "../../assembly/pointers";
import { heapProtect } from "../../assembly/protect";
import { heapValidate } from "../../assembly/validate";
import { FAULT_BAD_MAGIC, FAULT_BAD_FOOTER, FAULT_BAD_SLACK } from "../../assembly/faults";
import {
  ERR_INVALID_POINTER, ERR_DOUBLE_FREE, ERR_CORRUPTION, ERR_DESTROYED, ERR_PROTECTION, errorResult,
} from "../../assembly/errors";
import { CONTROL_STATE, ALLOCATOR_DESTROYED, HEAP_FINGERPRINTS, HEAP_FAULT_REASON } from "../../assembly/control";
import { HEADER_SIZE, USED, CACHED, PREV_FREE, PROT_READ, PROT_READ_WRITE, magicFor, blockSize } from "../../assembly/block";
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

// heapFree accepts the common free in one conjunction of checks (releasableAtOnce) and leaves every
// other pointer to checkLiveBlock; the next block's header it checks itself (nextHolds) whenever it
// merges or indexes the block, as it does for all of these (freshHeap's caches are off; a free that
// parks its block reads nothing past it: caches.spec.ts). Each case below forges, inside a live
// block's payload (memory the user owns, so the heap stays sound), a header that passes every part
// of that conjunction but one: the free must still answer what the full check answers, and change nothing.
/** A live-looking header at `at`: `size` bytes, its magic xor `magicFlip`, with `flags` and `prot`. */
function forge(at: usize, size: u32, flags: u32, magicFlip: u32, prot: u32): void {
  store<u32>(at, size | flags);
  store<u32>(at, ((magicFor(at) ^ magicFlip) << 16) | prot, 4);
}
/** A heap with one big live block (its payload where headers are forged) and a block after it. */
function hostBlock(heap: usize): usize {
  const host = heapMalloc(heap, 1024);
  heapMalloc(heap, 64);
  return host;
}
/**
 * Forges, `offset` bytes into a host block's payload, a block as forge() makes it and after it a
 * sound live header (so the next-block checks pass): where a spec's pointer is (its payload).
 */
function forgedBlock(heap: usize, offset: usize, size: u32, flags: u32, magicFlip: u32, prot: u32): usize {
  const at = hostBlock(heap) + offset;
  forge(at, size, flags, magicFlip, prot);
  forge(at + size, 64, USED, 0, PROT_READ_WRITE);
  return at + HEADER_SIZE;
}
function expectRefused(heap: usize, ptr: usize, code: u32, message: string): void {
  expect<u32>(heapFree(heap, ptr)).toBe(errorResult(code), message);
  expect<u32>(heapValidate(heap)).toBe(0, message + ": nothing changed");
}

describe("the free's fast acceptance refuses what the full check refuses", () => {
  it("a consistent forged header is the one thing magic cannot tell (the control case)", () => {
    const heap = freshHeap(8192);
    expect<u32>(checkLiveBlock(heap, forgedBlock(heap, 64, 64, USED, 0, PROT_READ_WRITE))).toBe(0, "every check passes");
  });

  it("a misaligned pointer", () => {
    const heap = freshHeap(8192);
    const ptr = forgedBlock(heap, 68, 64, USED, 0, PROT_READ_WRITE); // 4 past an 8-aligned address
    expectRefused(heap, ptr, ERR_INVALID_POINTER, "misaligned");
  });

  it("a pointer to the pool's start (its header would be in the control block)", () => {
    const heap = freshHeap(8192);
    const start = heapFirstBlock(heap);
    hostBlock(heap);
    const savedWord = load<u32>(start - HEADER_SIZE);
    const savedTag = load<u32>(start - HEADER_SIZE, 4);
    forge(start - HEADER_SIZE, HEADER_SIZE + blockSize(start), USED, 0, PROT_READ_WRITE); // ends at the second block
    const result = heapFree(heap, start);
    store<u32>(start - HEADER_SIZE, savedWord);
    store<u32>(start - HEADER_SIZE, savedTag, 4);
    expect<u32>(result).toBe(errorResult(ERR_INVALID_POINTER));
    expect<u32>(heapValidate(heap)).toBe(0);
  });

  it("a header whose magic does not match its address", () => {
    const heap = freshHeap(8192);
    expectRefused(heap, forgedBlock(heap, 64, 64, USED, 1, PROT_READ_WRITE), ERR_INVALID_POINTER, "magic");
  });

  it("a size below the smallest block", () => {
    const heap = freshHeap(8192);
    expectRefused(heap, forgedBlock(heap, 64, 16, USED, 0, PROT_READ_WRITE), ERR_CORRUPTION, "size 16");
  });

  it("a size past the sentinel", () => {
    const heap = freshHeap(8192);
    const at = hostBlock(heap) + 64;
    forge(at, 0x10_0000, USED, 0, PROT_READ_WRITE);
    expectRefused(heap, at + HEADER_SIZE, ERR_CORRUPTION, "size past the pool");
  });

  it("a block that is free, or parked in a cache", () => {
    const heap = freshHeap(8192);
    const ptr = forgedBlock(heap, 64, 64, 0, 0, PROT_READ_WRITE);
    expectRefused(heap, ptr, ERR_DOUBLE_FREE, "free");
    forge(ptr - HEADER_SIZE, 64, USED | CACHED, 0, PROT_READ_WRITE);
    expectRefused(heap, ptr, ERR_DOUBLE_FREE, "cached");
  });

  it("a next block whose magic does not match, or that says its left is free", () => {
    const heap = freshHeap(8192);
    const ptr = forgedBlock(heap, 64, 64, USED, 0, PROT_READ_WRITE);
    const next = ptr - HEADER_SIZE + 64;
    forge(next, 64, USED, 1, PROT_READ_WRITE);
    expectRefused(heap, ptr, ERR_CORRUPTION, "next magic");
    forge(next, 64, USED | PREV_FREE, 0, PROT_READ_WRITE);
    expectRefused(heap, ptr, ERR_CORRUPTION, "next PREV_FREE");
  });

  it("a slack above the block's usable bytes (its requested size would wrap below it)", () => {
    const heap = freshHeap(8192);
    const ptr = forgedBlock(heap, 64, 64, USED, 0, PROT_READ_WRITE);
    store<u32>(ptr - HEADER_SIZE, load<u32>(ptr - HEADER_SIZE, 4) | (57 << 3), 4); // 57 > 56 usable
    expectRefused(heap, ptr, ERR_CORRUPTION, "slack 57");
    expect<u32>(load<u32>(heap + HEAP_FAULT_REASON)).toBe(FAULT_BAD_SLACK);
  });

  it("a block without Write", () => {
    const heap = freshHeap(8192);
    expect<u32>(heapFree(heap, forgedBlock(heap, 64, 64, USED, 0, PROT_READ))).toBe(errorResult(ERR_PROTECTION));
  });

  it("the allocator's own fingerprint table", () => {
    const heap = freshHeap(8192);
    const p = heapMalloc(heap, 256);
    heapMalloc(heap, 64);
    expect<u32>(heapProtect(heap, p, 256, PROT_READ)).toBe(0);
    const table: usize = load<u32>(heap + HEAP_FINGERPRINTS);
    expect<usize>(table).toBeGreaterThan(0, "protect made the table");
    expectRefused(heap, table, ERR_INVALID_POINTER, "internal block");
  });
});

// A free merges with a left neighbour its header says is free (PREV_FREE), found through the footer
// (the last word of that neighbour, user memory when it is in fact live). An overflow that sets the
// flag and writes that word must not make the free merge with a block that is not the free block
// ending here: each case passes every test of freeBlockHolds but one.
/** `ptr`'s block claims a free left neighbour starting `distance` bytes before it; the free must refuse. */
function expectMergeRefused(heap: usize, ptr: usize, distance: u32, message: string): void {
  const block = ptr - HEADER_SIZE;
  const word = load<u32>(block - 4);
  const header = load<u32>(block);
  store<u32>(block - 4, distance);
  store<u32>(block, header | PREV_FREE);
  expect<u32>(heapFree(heap, ptr)).toBe(errorResult(ERR_CORRUPTION), message);
  store<u32>(block - 4, word);
  store<u32>(block, header);
  expect<u32>(heapValidate(heap)).toBe(0, message + ": nothing changed");
  expect<u32>(checkLiveBlock(heap, ptr)).toBe(0, message + ": the block is still live");
}

describe("a free's merge refuses a left neighbour that is not the free block it claims to be", () => {
  it("a live left neighbour (the flag and its own size forged)", () => {
    const heap = freshHeap(8192);
    const left = heapMalloc(heap, 1024);
    const ptr = heapMalloc(heap, 64);
    heapMalloc(heap, 64);
    expectMergeRefused(heap, ptr, blockSize(left - HEADER_SIZE), "used");
    expect<u32>(checkLiveBlock(heap, left)).toBe(0, "and the left one too");
  });

  it("a free block that does not end where this one starts", () => {
    const heap = freshHeap(8192);
    const far = heapMalloc(heap, 200);
    heapMalloc(heap, 64);
    heapMalloc(heap, 1024);
    const ptr = heapMalloc(heap, 64);
    heapMalloc(heap, 64);
    expect<u32>(heapFree(heap, far)).toBe(0, "a real free block, footer and all");
    expectMergeRefused(heap, ptr, <u32>(ptr - far), "does not end here");
  });
});
