// The validation walk: one pass over every block and the free index that checks each invariant of
// block.ts, freeindex.ts and stats.ts. It serves validate(), the tests and the fuzzer.
//
// Cost: O(blocks + free blocks). It never trips over the damage it looks for: every address it
// follows is bounds-checked before it is read, so a corrupted heap yields a fault, never a trap.
//
// Result: 0 when the heap holds, else a FAULT_* reason; the faulty block and what was found
// against what was expected are left in the control block (faultBlock/faultFound/faultExpected).

import {
  blockSize, isUsed, isCached, isCondemned, isPrevFree, hasValidMagic,
  requestedBytes, slackOf, HEADER_SIZE, FOOTER_SIZE, SLACK_LIMIT,
} from "./block";
import { HEAP_POOL_START, HEAP_SENTINEL, HEAP_FREE_BLOCKS, HEAP_FREE_BLOCK_BYTES, CONTROL_STATS } from "./control";
import {
  FAULT_NONE, FAULT_PREV_FREE_FLAG, FAULT_ADJACENT_FREE, FAULT_BAD_FOOTER,
  FAULT_BAD_END, FAULT_INDEX_LINK, FAULT_INDEX_COUNT, FAULT_FREE_BYTES, FAULT_LIVE_BLOCKS,
  FAULT_CURRENT_USAGE, FAULT_FINGERPRINT, FAULT_DESTROYED, FAULT_CANARY, FAULT_WRITE_AFTER_FREE, FAULT_CACHE, FAULT_BAD_SLACK, FAULT_QUARANTINE, recordFault,
} from "./faults";
import { checksOn, canaryIntact, junkIntact, junkStart, junkEnd } from "./checks";
import { quarantineCheck, quarantinedBlocks, quarantinedBytes, heldJunkIntact } from "./quarantine";
import { indexCheck } from "./freeindex";
import { pendingCheck, pendingBlocks, pendingBytes } from "./pending";
import { cacheCheck } from "./caches";
import { STAT_LIVE_BLOCKS, STAT_CURRENT_USAGE, statRead } from "./stats";
import { isReady } from "./heap";
import { heapRebuildIndex } from "./repair";
import { fingerprintChanged, isInternalBlock } from "./protect";
import { headerFault } from "./pointers";

// @ts-ignore: decorator
@inline function fault(heap: usize, reason: u32, block: usize, found: u64, expected: u64): u32 {
  return recordFault(heap, reason, block, found, expected);
}

/**
 * Validates the heap. `deep` adds, in checks mode, the junk of every free block (O(free bytes)):
 * validate() asks for it; the validation on each free does not.
 *
 * Damage is reported once, as a red zone, junk or a fingerprint is laid again after its report: a
 * fault in the blocks' layout, the index or the counters is followed by the index rebuild
 * (repair.ts), which lays the free space anew, condemns a live block whose header it cannot trust
 * (block.ts: kept out of use, its calls refused) and recounts the statistics, so that the next
 * validation finds the heap sound. Without it, checks mode refused every free after a single overwritten header, its
 * validation meeting the same damage each time (in a sweep of one to three stray writes over header
 * words, 15,483 of 17,973 checks-mode heaps refused more than 20 of their next 400 calls; now 66).
 */
export function heapValidate(heap: usize, deep: bool = true): u32 {
  const reason = walkAndCheck(heap, deep);
  if (mendedByRebuild(reason)) heapRebuildIndex(heap);
  return reason;
}

/**
 * A fault the index rebuild mends: any in the blocks' layout, the index, its lists and the counters.
 * Not a changed fingerprint, red zone or junk, each laid again where it was reported.
 */
function mendedByRebuild(reason: u32): bool {
  return reason != FAULT_NONE && reason != FAULT_FINGERPRINT && reason != FAULT_CANARY &&
    reason != FAULT_WRITE_AFTER_FREE && reason != FAULT_DESTROYED;
}

function walkAndCheck(heap: usize, deep: bool): u32 {
  if (!isReady(heap)) return FAULT_DESTROYED;
  const start: usize = load<u32>(heap + HEAP_POOL_START);
  const sentinel: usize = load<u32>(heap + HEAP_SENTINEL);

  // Walk the blocks in address order.
  let block = start;
  let leftWasFree = false;
  let freeBlocks: u32 = 0;
  let freeBytes: u32 = 0;
  let liveBlocks: u64 = 0;
  let usage: u64 = 0;
  let cachedBlocks: u32 = 0;
  let cachedBytes: u32 = 0;
  let lastFreeSize: u32 = 0;
  const checks = checksOn(heap);
  while (block < sentinel) {
    const badHeader = headerFault(heap, block, sentinel);
    if (badHeader != 0) return badHeader;
    const size = blockSize(block);
    if (isPrevFree(block) != leftWasFree) return fault(heap, FAULT_PREV_FREE_FLAG, block, isPrevFree(block) ? 1 : 0, leftWasFree ? 1 : 0);
    if (isCached(block)) {
      // In checks mode (no caches) a block so marked is held by the quarantine: junk past its link.
      if (checks && deep && !heldJunkIntact(heap, block)) return FAULT_WRITE_AFTER_FREE;
      cachedBlocks++;
      cachedBytes += size;
      leftWasFree = false; // parked, unmerged: its neighbours see a used block
    } else if (isCondemned(block)) {
      // Kept out of use after its damage was reported (block.ts): counted live, at its usable bytes,
      // as the rebuild that condemned it counted it; no slack, fingerprint or red zone to check.
      liveBlocks++;
      usage += size - HEADER_SIZE;
      leftWasFree = false;
    } else if (isUsed(block)) {
      // Before the red zone is read by it; and under SLACK_LIMIT, as no live block has more (block.ts).
      if (slackOf(block) > min(size - HEADER_SIZE, SLACK_LIMIT - 1)) return fault(heap, FAULT_BAD_SLACK, block, slackOf(block), min(size - HEADER_SIZE, SLACK_LIMIT - 1));
      if (fingerprintChanged(heap, block)) return FAULT_FINGERPRINT; // recorded with both fingerprints
      if (checks && !canaryIntact(heap, block)) return FAULT_CANARY;
      if (!isInternalBlock(heap, block)) {
        liveBlocks++;
        usage += requestedBytes(block);
      }
      leftWasFree = false;
    } else {
      if (leftWasFree) return fault(heap, FAULT_ADJACENT_FREE, block, 1, 0);
      const footer = load<u32>(block + size - FOOTER_SIZE);
      if (footer != size) return fault(heap, FAULT_BAD_FOOTER, block, footer, size);
      if (checks && deep && !junkIntact(heap, block, junkStart(block, size, sentinel), junkEnd(block, size))) return FAULT_WRITE_AFTER_FREE;
      freeBlocks++;
      freeBytes += size;
      lastFreeSize = size;
      leftWasFree = true;
    }
    block += size;
  }
  if (block != sentinel || !hasValidMagic(sentinel) || !isUsed(sentinel)) return fault(heap, FAULT_BAD_END, block, block, sentinel);
  if (isPrevFree(sentinel) != leftWasFree) return fault(heap, FAULT_PREV_FREE_FLAG, sentinel, isPrevFree(sentinel) ? 1 : 0, leftWasFree ? 1 : 0);

  // The free index must hold exactly the free blocks the walk found, but the top (the free block
  // that ends at the sentinel, heap.ts). It is derived data: when it does not, it is reported and
  // then laid anew from the blocks (heapValidate), so the heap stays usable.
  if (leftWasFree) {
    freeBlocks--;
    freeBytes -= lastFreeSize;
  }
  // With the pending list (pending.ts): the two hold every such block between them.
  const pendingSeen = pendingCheck(heap);
  if (pendingSeen >= 0) {
    return fault(heap, FAULT_INDEX_LINK, 0, pendingSeen, pendingBlocks(heap));
  }
  const indexed = indexCheck(heap);
  if (indexed < 0 || <u32>indexed + pendingBlocks(heap) != freeBlocks) {
    const reason = indexed < 0 ? FAULT_INDEX_LINK : FAULT_INDEX_COUNT;
    return fault(heap, reason, 0, indexed < 0 ? 0 : indexed + pendingBlocks(heap), freeBlocks);
  }

  // The quarantine and the small-block caches must hold exactly the blocks so marked the walk found.
  const heldFound = quarantineCheck(heap);
  if (heldFound >= 0) {
    return fault(heap, FAULT_QUARANTINE, 0, heldFound, quarantinedBlocks(heap));
  }
  const badList = cacheCheck(heap, cachedBlocks - quarantinedBlocks(heap), cachedBytes - quarantinedBytes(heap));
  if (badList != 0) {
    return fault(heap, FAULT_CACHE, 0, badList, cachedBlocks);
  }

  // The counters must agree with what the walk counted.
  const countedFree = load<u32>(heap + HEAP_FREE_BLOCKS) + pendingBlocks(heap);
  if (countedFree != freeBlocks) return fault(heap, FAULT_INDEX_COUNT, 0, countedFree, freeBlocks);
  const countedBytes = load<u32>(heap + HEAP_FREE_BLOCK_BYTES) + pendingBytes(heap);
  if (countedBytes != freeBytes) return fault(heap, FAULT_FREE_BYTES, 0, countedBytes, freeBytes);
  const countedLive = statRead(heap + CONTROL_STATS, STAT_LIVE_BLOCKS);
  if (countedLive != liveBlocks) return fault(heap, FAULT_LIVE_BLOCKS, 0, countedLive, liveBlocks);
  const countedUsage = statRead(heap + CONTROL_STATS, STAT_CURRENT_USAGE);
  if (countedUsage != usage) return fault(heap, FAULT_CURRENT_USAGE, 0, countedUsage, usage);
  return FAULT_NONE;
}
