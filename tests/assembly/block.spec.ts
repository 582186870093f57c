import {
  HEADER_SIZE, MIN_BLOCK_SIZE, USED, PREV_FREE, blockSizeFor, blockSize, isUsed, isPrevFree,
  hasValidMagic, magicFor, writeUsedHeader, writeFreeHeader, requestedBytes, usableBytes,
  protectionOf, PROT_READ_WRITE,
} from "../../assembly/block";
import { heapMalloc } from "../../assembly/heap";
import { freshHeap } from "./fixture";

describe("block layout", () => {
  it("has an 8-byte header before every payload", () => {
    expect<u32>(HEADER_SIZE).toBe(8);
    const heap = freshHeap(4096);
    const p = heapMalloc(heap, 40);
    const block = p - HEADER_SIZE;
    expect<bool>(isUsed(block)).toBe(true);
    expect<u32>(blockSize(block)).toBe(48, "40 bytes + 8 of header");
    expect<u32>(requestedBytes(block)).toBe(40);
    expect<u32>(usableBytes(block)).toBe(40);
  });

  it("rounds block sizes to 8 bytes and to the minimum block", () => {
    expect<u32>(blockSizeFor(0)).toBe(MIN_BLOCK_SIZE);
    expect<u32>(blockSizeFor(1)).toBe(MIN_BLOCK_SIZE);
    expect<u32>(blockSizeFor(16)).toBe(MIN_BLOCK_SIZE);
    expect<u32>(blockSizeFor(17)).toBe(32);
    expect<u32>(blockSizeFor(100)).toBe(112);
    expect<u32>(blockSizeFor(0xffff_ffff)).toBe(0, "unrepresentable requests get no size");
  });

  it("encodes flags in the low bits of the size word", () => {
    const heap = freshHeap(4096);
    const block = heapMalloc(heap, 64) - HEADER_SIZE;
    writeUsedHeader(block, 72, PREV_FREE, 60, PROT_READ_WRITE);
    expect<u32>(load<u32>(block)).toBe(72 | USED | PREV_FREE);
    expect<bool>(isPrevFree(block)).toBe(true);
    expect<u32>(requestedBytes(block)).toBe(60);
    expect<u32>(protectionOf(block)).toBe(PROT_READ_WRITE);
  });

  it("writes a footer equal to the size of a free block", () => {
    const heap = freshHeap(4096);
    const block = heapMalloc(heap, 64) - HEADER_SIZE;
    writeFreeHeader(block, 72);
    expect<u32>(load<u32>(block + 72 - 4)).toBe(72);
    expect<bool>(isUsed(block)).toBe(false);
  });

  it("ties the magic number to the header's address", () => {
    const heap = freshHeap(4096);
    const block = heapMalloc(heap, 64) - HEADER_SIZE;
    expect<bool>(hasValidMagic(block)).toBe(true);
    expect<bool>(magicFor(block) != magicFor(block + 8)).toBe(true, "neighbouring addresses get other magic");
    store<u32>(block + 8, load<u32>(block));
    store<u32>(block + 12, load<u32>(block + 4));
    expect<bool>(hasValidMagic(block + 8)).toBe(false, "a copied header does not validate elsewhere");
  });
});
