// clear: every block of a heap freed at once, as an arena is reset (mimalloc's mi_heap_destroy, a
// game's per-frame heap). The pool, at the size it has grown to, is laid out anew as one free
// block, as heapInit laid it out; the caches, the quarantine and the free index forget the blocks
// they held; the statistics count every live block freed (currentUsage 0, liveBlocks 0).
//
// One pass over the block headers (each marked free, so that a pointer kept from before is refused
// as after a free: see below), far less than a free of each block; in checks mode the whole heap is
// validated first, the junk of free blocks too (a fault found is reported before the clear wipes
// its evidence), and junk-filled after. A block without Write makes the whole call a PROTECTION
// refusal naming it (recorded as FAULT_ACCESS), as its free would be, and nothing changes. The
// caller holds the lock.

import { HEAP_POOL_START, HEAP_SENTINEL, HEAP_FINGERPRINTS, CONTROL_STATS } from "./control";
import { isReady, layPool, validationResult } from "./heap";
import { checksOn } from "./checks";
import { heapValidate } from "./validate";
import { someBlockUnwritable } from "./protect";
import { cacheForget } from "./caches";
import { quarantineForget } from "./quarantine";
import { pendingForget } from "./pending";
import { indexClear } from "./freeindex";
import { statsOnFreeAll } from "./stats";
import { ERR_DESTROYED, ERR_PROTECTION, errorResult } from "./errors";
import { FAULT_ACCESS, recordFault } from "./faults";
import { PROT_WRITE, protectionOf, retireHeader } from "./block";
import { heapFirstBlock, heapNextBlock } from "./queries";

export function heapClear(heap: usize): u32 {
  if (!isReady(heap)) return errorResult(ERR_DESTROYED);
  if (checksOn(heap)) {
    const fault = validationResult(heapValidate(heap));
    if (fault != 0) return fault;
  }
  const unwritable = someBlockUnwritable(heap);
  if (unwritable != 0) {
    recordFault(heap, FAULT_ACCESS, unwritable, protectionOf(unwritable), PROT_WRITE);
    return errorResult(ERR_PROTECTION);
  }
  statsOnFreeAll(heap + CONTROL_STATS);
  cacheForget(heap);
  quarantineForget(heap);
  pendingForget(heap);
  indexClear(heap);
  store<u32>(heap + HEAP_FINGERPRINTS, 0); // its internal block is gone with the others
  // Every old header is retired, as a merge leaves one (block.ts retireHeader), so that a pointer
  // kept from before the clear is refused (DOUBLE_FREE, INVALID_POINTER) rather than taken for a live
  // block, and a walk that a later stray write sends into the free block finds no chain of old blocks
  // to follow: one pass over the headers, the whole cost of a clear. (checks mode's junk lays over
  // them all anyway.)
  for (let block = heapFirstBlock(heap); block != 0; ) {
    const next = heapNextBlock(heap, block);
    retireHeader(block);
    block = next;
  }
  layPool(heap, <usize>load<u32>(heap + HEAP_POOL_START), <usize>load<u32>(heap + HEAP_SENTINEL));
  return 0;
}
