// The free-block index: which free blocks exist, and which one a request should take.
//
// This version is a doubly-linked list kept in address order, so first-fit can stop at the first
// block that fits and best-fit scans for the smallest. Finding and inserting cost O(free blocks);
// it sits behind this small interface so that a structure with logarithmic cost can replace it
// without touching heap.ts.
//
// Links live in the free block's payload, right after its header:
//
//    block + 0   header (block.ts)
//    block + 8   u32 next free block (higher address), 0 at the end
//    block + 12  u32 previous free block (lower address), 0 at the head
//    ...
//    block + size - 4   footer (block.ts)
//
// The list head is the control block's freeRoot. The index also keeps the free-block count and
// byte total (control.ts), because it is the one place every free block passes through.

import { blockSize, HEADER_SIZE, alignUp, MIN_BLOCK_SIZE } from "./block";
import { HEAP_FREE_ROOT, HEAP_FREE_BLOCKS, HEAP_FREE_BLOCK_BYTES, HEAP_POLICY, POLICY_BEST_FIT } from "./control";

const LINK_NEXT: usize = 8;
const LINK_PREV: usize = 12;

// @ts-ignore: decorator
@inline function nextFree(block: usize): usize { return load<u32>(block, LINK_NEXT); }
// @ts-ignore: decorator
@inline function prevFree(block: usize): usize { return load<u32>(block, LINK_PREV); }
// @ts-ignore: decorator
@inline function setNextFree(block: usize, next: usize): void { store<u32>(block, <u32>next, LINK_NEXT); }
// @ts-ignore: decorator
@inline function setPrevFree(block: usize, prev: usize): void { store<u32>(block, <u32>prev, LINK_PREV); }

export function indexClear(heap: usize): void {
  store<u32>(heap + HEAP_FREE_ROOT, 0);
  store<u32>(heap + HEAP_FREE_BLOCKS, 0);
  store<u32>(heap + HEAP_FREE_BLOCK_BYTES, 0);
}

/** Adds a free block whose header and footer are already written. */
export function indexInsert(heap: usize, block: usize): void {
  let prev: usize = 0;
  let next: usize = load<u32>(heap + HEAP_FREE_ROOT);
  while (next != 0 && next < block) {
    prev = next;
    next = nextFree(next);
  }
  setNextFree(block, next);
  setPrevFree(block, prev);
  if (next != 0) setPrevFree(next, block);
  if (prev != 0) setNextFree(prev, block);
  else store<u32>(heap + HEAP_FREE_ROOT, <u32>block);
  store<u32>(heap + HEAP_FREE_BLOCKS, load<u32>(heap + HEAP_FREE_BLOCKS) + 1);
  store<u32>(heap + HEAP_FREE_BLOCK_BYTES, load<u32>(heap + HEAP_FREE_BLOCK_BYTES) + blockSize(block));
}

/** Takes a block out of the index; its header must still hold the size it was inserted with. */
export function indexRemove(heap: usize, block: usize): void {
  const next = nextFree(block);
  const prev = prevFree(block);
  if (next != 0) setPrevFree(next, prev);
  if (prev != 0) setNextFree(prev, next);
  else store<u32>(heap + HEAP_FREE_ROOT, <u32>next);
  store<u32>(heap + HEAP_FREE_BLOCKS, load<u32>(heap + HEAP_FREE_BLOCKS) - 1);
  store<u32>(heap + HEAP_FREE_BLOCK_BYTES, load<u32>(heap + HEAP_FREE_BLOCK_BYTES) - blockSize(block));
}

/**
 * Where a block of `need` bytes (header included) with its payload aligned to `alignment` would
 * start inside the free block [block, block + size): the payload address, or 0 when it does not fit.
 * A gap left before the payload must be 0 or able to hold a free block of its own.
 */
export function payloadFitting(block: usize, size: u32, need: u32, alignment: u32): usize {
  let payload = <u64>alignUp(block + HEADER_SIZE, alignment);
  const gap = payload - HEADER_SIZE - <u64>block;
  if (gap != 0 && gap < <u64>MIN_BLOCK_SIZE) payload += alignUp(MIN_BLOCK_SIZE - <u32>gap, alignment);
  if (payload - HEADER_SIZE + <u64>need > <u64>block + <u64>size) return 0;
  return <usize>payload;
}

/** The free block the heap's policy picks for `need` bytes at `alignment`, or 0 when none fits. */
export function indexFind(heap: usize, need: u32, alignment: u32): usize {
  const bestFit = load<u32>(heap + HEAP_POLICY) == POLICY_BEST_FIT;
  let best: usize = 0;
  let bestSize: u32 = 0xffff_ffff;
  let block: usize = load<u32>(heap + HEAP_FREE_ROOT);
  while (block != 0) {
    const size = blockSize(block);
    if (size >= need && payloadFitting(block, size, need, alignment) != 0) {
      if (!bestFit) return block;
      if (size < bestSize) { best = block; bestSize = size; }
    }
    block = nextFree(block);
  }
  return best;
}

/** Size of the largest free block, headers included; 0 when nothing is free. */
export function indexLargest(heap: usize): u32 {
  let largest: u32 = 0;
  let block: usize = load<u32>(heap + HEAP_FREE_ROOT);
  while (block != 0) {
    const size = blockSize(block);
    if (size > largest) largest = size;
    block = nextFree(block);
  }
  return largest;
}

/** Iteration for validation: the first indexed block, then each next one (0 at the end). */
export function indexFirst(heap: usize): usize {
  return load<u32>(heap + HEAP_FREE_ROOT);
}
export function indexNext(heap: usize, block: usize): usize {
  return nextFree(block);
}
