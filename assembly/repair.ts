// Repair: the free index is derived data (freeindex.ts), so a link a stray write damaged is not a
// lost heap. An operation whose walk met such a link stops short of following it and notes the
// damage (indexDamaged); once the operation is over, settle records the fault (faults.ts), lays the
// index anew from the blocks themselves (heapRebuildIndex, O(blocks)) and reports CORRUPTION, so
// the next call works on a sound heap.

import { MIN_BLOCK_SIZE, FOOTER_SIZE, PREV_FREE, blockSize, isLive, isPrevFree, hasValidMagic, writeFreeHeader, setFlag, clearFlag, requestedBytes, freePriority } from "./block";
import { mayBeFingerprinted } from "./protect";
import { HEAP_POOL_START, HEAP_SENTINEL, CONTROL_STATS } from "./control";
import { statsRecount } from "./stats";
import { indexClear, indexInsert, indexDamaged, indexDamageRecorded } from "./freeindex";
import { cacheForget } from "./caches";
import { quarantineForget } from "./quarantine";
import { pendingForget } from "./pending";
import { checksOn, junkFill, junkStart, junkEnd } from "./checks";
import { FAULT_INDEX_LINK, recordFault } from "./faults";
import { ERR_CORRUPTION, errorResult } from "./errors";
import { topBlock } from "./heap";

/**
 * Lays the free index anew from the blocks, walking from the pool start for as long as headers
 * hold. The index is derived data: after a stray write damaged it, this makes the heap usable again.
 * (Free blocks past a header that does not hold are left out: their bytes are lost, the heap goes
 * on; but for the top, found from the pool's end.) The live blocks it passes are counted, with
 * their requested bytes, for heapAfterTakeOver (rebuiltLive, rebuiltUsage).
 */
let rebuiltLive: u64 = 0;
let rebuiltUsage: u64 = 0;

export function heapRebuildIndex(heap: usize): void {
  indexClear(heap);
  cacheForget(heap); // cached and held blocks are folded back below, with every other free run
  quarantineForget(heap);
  pendingForget(heap); // pending blocks are free runs like any other: folded back below
  const sentinel: usize = load<u32>(heap + HEAP_SENTINEL);
  let block: usize = load<u32>(heap + HEAP_POOL_START);
  let run: usize = 0; // start of the run of free (or cached) blocks being merged
  rebuiltLive = 0;
  rebuiltUsage = 0;
  while (block < sentinel && hasValidMagic(block)) {
    const size = blockSize(block);
    if (size < MIN_BLOCK_SIZE || <u64>block + size > <u64>sentinel) break;
    if (isLive(block) && !isTopMarkedUsed(heap, block, size, sentinel)) {
      rebuiltLive++;
      rebuiltUsage += requestedBytes(block);
      clearFlag(block, PREV_FREE);
      if (run != 0) closeRun(heap, run, block); // sets it again when a free run ends here
      run = 0;
    } else if (run == 0) {
      run = block;
    }
    block += size;
  }
  // The walk stopped at a header that does not hold where the top's footer (and the sentinel's
  // flag) say the top starts: the top's header was written over. Its bytes were free, so it is laid
  // anew (with the free run before it). Left as it was, every malloc that needed the top, and every
  // free of the block before it, met it again and reported CORRUPTION, for ever.
  if (block < sentinel && block == topBlock(heap)) {
    if (run == 0) run = block;
    block = sentinel;
  }
  if (run != 0 && block == sentinel) {
    writeFreeHeader(run, <u32>(sentinel - run)); // the top: out of the index
    junkRun(heap, run, <u32>(sentinel - run), sentinel);
    setFlag(sentinel, PREV_FREE);
  } else if (block == sentinel) {
    // The walk reached the sentinel past a live block: there is no top, whatever a stray write made
    // the sentinel's flag say (as every live block's flag is mended above). Left set, every malloc
    // that needed the top, and every free of the last block, reported CORRUPTION for ever.
    clearFlag(sentinel, PREV_FREE);
  }
}

/**
 * The top, its header's used flag set by a stray write: a block the walk would count as live. It
 * ends at the sentinel, whose flag says a free block ends there; its footer agrees; and its tag is a
 * free block's, 0 below the magic where a live block keeps its slack and protection. A live block
 * with both 0 lacks Write, so it has a fingerprint (protect.ts), which this one may not have. The
 * footer alone proves nothing: a block handed out whole keeps the footer it had while free.
 */
function isTopMarkedUsed(heap: usize, block: usize, size: u32, sentinel: usize): bool {
  return block + size == sentinel && isPrevFree(sentinel) && load<u32>(sentinel - FOOTER_SIZE) == size &&
    freePriority(block) == 0 && !mayBeFingerprinted(heap, block);
}

/** The blocks from `run` to `end` become one free block in the index. */
function closeRun(heap: usize, run: usize, end: usize): void {
  writeFreeHeader(run, <u32>(end - run));
  indexInsert(heap, run);
  junkRun(heap, run, <u32>(end - run), <usize>load<u32>(heap + HEAP_SENTINEL));
  setFlag(end, PREV_FREE);
}

/**
 * checks mode: a run folded from several blocks (blocks held by the quarantine beside free ones)
 * holds their old headers and links where junk is expected; it is junk again, so that a hand-out
 * does not report them as writes after free.
 */
function junkRun(heap: usize, run: usize, size: u32, sentinel: usize): void {
  if (checksOn(heap)) junkFill(junkStart(run, size, sentinel), junkEnd(run, size));
}

/**
 * What an operation returns once it is over: its own result, or CORRUPTION when the free index met
 * a link it would not follow (the index is then rebuilt, so the next call works on a sound heap).
 */
export function settle(heap: usize, result: usize): usize {
  if (!indexDamaged()) return result;
  if (!indexDamageRecorded()) recordFault(heap, FAULT_INDEX_LINK, 0, 0, 0); // else the block a check named, in the record
  heapRebuildIndex(heap);
  return errorResult(ERR_CORRUPTION);
}

/**
 * After a lock was taken over from a thread that stopped inside a call (index.ts
 * allocator_take_over): the free index laid anew from the blocks (with the caches, the pending list
 * and the quarantine folded back), and the statistics made to agree with the live blocks, the two
 * things such a call may have left half done. Headers it left half written are not mended: the
 * validation that follows reports them, as it reports a stray write.
 */
export function heapAfterTakeOver(heap: usize): void {
  heapRebuildIndex(heap);
  statsRecount(heap + CONTROL_STATS, rebuiltLive, rebuiltUsage); // the live blocks its walk passed
}
