// Faults: what a check found wrong, recorded in the control block so the host can say which block,
// what was found there and what was expected. Reasons are mirrored by host/faults.ts.
//
// Several threads may record faults on one heap; the record is the last one written, read by the
// host right after the call that returned the error (a later fault may replace it in between).

import { HEAP_FAULT_BLOCK, HEAP_FAULT_FOUND, HEAP_FAULT_EXPECTED, HEAP_FAULT_REASON } from "./control";

export const FAULT_NONE: u32 = 0;
export const FAULT_BAD_MAGIC: u32 = 1;
export const FAULT_BAD_SIZE: u32 = 2;
export const FAULT_PREV_FREE_FLAG: u32 = 3;
export const FAULT_ADJACENT_FREE: u32 = 4;
export const FAULT_BAD_FOOTER: u32 = 5;
export const FAULT_BAD_END: u32 = 6;
export const FAULT_INDEX_LINK: u32 = 7;
export const FAULT_INDEX_COUNT: u32 = 8;
export const FAULT_FREE_BYTES: u32 = 9;
export const FAULT_LIVE_BLOCKS: u32 = 10;
export const FAULT_CURRENT_USAGE: u32 = 11;
export const FAULT_FINGERPRINT: u32 = 12;
export const FAULT_DESTROYED: u32 = 13;
/** checks mode: a byte of the red zone after the requested size was overwritten. */
export const FAULT_CANARY: u32 = 14;
/** checks mode: a byte of freed memory was written after the free. */
export const FAULT_WRITE_AFTER_FREE: u32 = 15;
/** A small-block cache list that does not match the cached blocks (caches.ts). */
export const FAULT_CACHE: u32 = 16;
/** A live block whose slack (usable less requested bytes) exceeds its usable bytes: its size or tag was overwritten. */
export const FAULT_BAD_SLACK: u32 = 17;
/**
 * Not damage: a call the block's protection refuses (found: its protection, expected: the bits the
 * call needs). Recorded so that a PROTECTION error is described by this call's refusal, never by an
 * earlier FAULT_FINGERPRINT of the same block still in the record.
 */
export const FAULT_ACCESS: u32 = 18;
/**
 * checks mode: a free block about to be handed out whose index node (the first 16 bytes of its
 * payload) no longer agrees with the index (found: the figure or link read, expected: what the
 * index implies): a write after free into the node. The index is laid anew (repair.ts settle).
 */
export const FAULT_INDEX_NODE: u32 = 19;
/** checks mode's quarantine list does not hold what it counts (found: blocks on the list, expected: its count). */
export const FAULT_QUARANTINE: u32 = 20;
/**
 * A block marked in use where a free one was expected (found: its used flag, 1): the flag was
 * overwritten, or the flag, footer or link that said a free block is there.
 */
export const FAULT_MARKED_USED: u32 = 21;
/**
 * A condemned block (block.ts): its header was overwritten, reported, and written anew by the index
 * rebuild as a block kept out of use. Every call that takes its pointer reports this.
 */
export const FAULT_CONDEMNED: u32 = 22;

/** Records a fault and returns its reason. */
export function recordFault(heap: usize, reason: u32, block: usize, found: u64, expected: u64): u32 {
  store<u32>(heap + HEAP_FAULT_REASON, reason);
  store<u32>(heap + HEAP_FAULT_BLOCK, <u32>block);
  store<u32>(heap + HEAP_FAULT_FOUND, <u32>found);
  store<u32>(heap + HEAP_FAULT_EXPECTED, <u32>expected);
  return reason;
}
