// Repair: the free index is derived data (freeindex.ts), so a link a stray write damaged is not a
// lost heap. An operation whose walk met such a link stops short of following it and notes the
// damage (indexDamaged); once the operation is over, settle records the fault (faults.ts), lays the
// index anew from the blocks themselves (heapRebuildIndex: O(pool bytes / 8), as the bytes of each
// block are looked through for a header inside it) and reports CORRUPTION, so the next call works
// on a sound heap (a free or realloc whose change was made returns as if nothing had been wrong:
// heap.ts released, realloc.ts reallocDone). Validation that finds a block's header or the
// statistics damaged runs the same rebuild once it has reported it (validate.ts), so that damage
// is reported once: a block whose header cannot be trusted is then condemned (block.ts).

import {
  MIN_BLOCK_SIZE, HEADER_SIZE, FOOTER_SIZE, GRANULE, USED, CACHED, PREV_FREE, SLACK_LIMIT, blockSize, isLive, isUsed, isPrevFree,
  hasValidMagic, writeFreeHeader, setFlag, clearFlag, requestedBytes, freePriority, retireHeader, slackOf, isCondemned, condemn, sizeInWord,
} from "./block";
import { mayBeFingerprinted, isInternalBlock } from "./protect";
import { HEAP_POOL_START, HEAP_SENTINEL, CONTROL_STATS } from "./control";
import { statsRecount } from "./stats";
import { indexClear, indexInsert, indexDamaged, indexDamageRecorded } from "./freeindex";
import { cacheForget, MAX_CACHED_BLOCK, PARKED_MARK } from "./caches";
import { quarantineForget, HELD_PREFIX } from "./quarantine";
import { pendingForget } from "./pending";
import { checksOn, junkFill, junkHolds, junkStart, junkEnd } from "./checks";
import { FAULT_INDEX_LINK, FAULT_CONDEMNED, recordFault } from "./faults";
import { ERR_CORRUPTION, errorResult } from "./errors";
import { topBlock } from "./heap";
import { headerHolds, headerOrSentinelHolds } from "./pointers";

/** The first block the last rebuild condemned, 0 when none: what a take-over reports (heapAfterTakeOver). */
let firstCondemned: usize = 0;

/**
 * Lays the free index anew from the blocks, walking from the pool start. The index is derived data:
 * after a stray write damaged it, this makes the heap usable again.
 *
 * A block ends where its size says unless a block starts inside that extent (blockEnd: a header that
 * holds, whose blocks lead one by one to where the size ends; merges retire the headers they
 * swallow, so only block starts hold), or, when its own header does not hold, at the first header
 * past it that holds (resumeAfter). A block is folded into the free space only when it surely was free: its footer and
 * the next header's flag agree, or it carries the mark a cache leaves on a block it parks. Any other
 * block is not free: a live block whose header holds (liveHeaderHolds) stays the user's, and any
 * other is condemned (block.ts): its header is written anew as a block kept out of use, reaching the
 * next header that holds, so that the blocks tile again. A block marked free that was not is marked
 * used, and one marked parked that parking did not mark is made live: no neighbour merges with
 * either. A walk that trusted a damaged size folded live blocks into free space, and one that
 * stopped at a damaged header left the free blocks past it marked free but out of the index, which
 * later merges with them corrupted: either way blocks were handed out over live ones. A damaged block
 * left as it was made validation report it for ever (checks mode then refused every free), and its
 * neighbours' merges with it be refused. The statistics are recounted from the live blocks the walk
 * passes (a condemned block at its usable bytes), so that they agree with the blocks whatever the
 * damage changed.
 */
export function heapRebuildIndex(heap: usize): void {
  firstCondemned = 0;
  indexClear(heap);
  cacheForget(heap); // cached and held blocks are folded back below, with every other free run
  quarantineForget(heap);
  pendingForget(heap); // pending blocks are free runs like any other: folded back below
  const sentinel: usize = load<u32>(heap + HEAP_SENTINEL);
  let block: usize = load<u32>(heap + HEAP_POOL_START);
  let run: usize = 0; // start of the run of free (or cached) blocks being merged
  let rebuiltLive: u64 = 0; // the live blocks the walk passes, and their requested bytes
  let rebuiltUsage: u64 = 0;
  const top = topBlock(heap); // where the sentinel's flag and the top's footer say the top starts
  while (block < sentinel) {
    const holds = headerHolds(block, sentinel);
    let next = holds ? blockEnd(block, sentinel) : resumeAfter(block, sentinel, sentinel);
    const extent = <u32>(next - block);
    const word = load<u32>(block);
    const footerAgrees = load<u32>(next - FOOTER_SIZE) == extent;
    let free = false;
    if (!holds) {
      // Its first word, the flags with the size, is not to be trusted: a free block is told by its
      // footer, a word elsewhere that agrees with the extent found, and by the header after it; the
      // top also by the sentinel's flag and its footer, which located it before the walk.
      free = (block == top && next == sentinel) || (hasValidMagic(block) && (word & USED) == 0 && footerAgrees && nextSaysFree(next, sentinel));
    } else if ((word & USED) == 0) {
      free = nextSaysFree(next, sentinel) && (footerAgrees || (landingAgrees(block, next, sentinel) && footerLostOnly(heap, block, extent, sentinel)));
    } else if ((word & CACHED) != 0) {
      free = parkedBlockHolds(heap, block, extent, sentinel);
    } else {
      free = block == top && next == sentinel && isTopMarkedUsed(heap, block);
    }
    if (free) {
      if (run == 0) run = block; // its header is written anew when the run ends
      else retireHeader(block); // inside the run's block from now on
    } else {
      // Not free: a live block, or one whose state cannot be told. Every place the walk stands is a
      // block start (the pool's start, a header that holds, or the end of a block whose size was
      // trusted: a free block's footer or the header there agreed, a live block's led to a block's
      // start), so it may be written. A live block whose header holds keeps it; any other is condemned
      // (block.ts): its header written anew up to the next header that holds, so that the blocks tile
      // and validation passes once the damage was reported, and kept out of use (every call that takes
      // it is refused; its bytes are lost). Left as it was, checks mode's validation refused every free
      // after it, and its neighbours were refused their merges with it.
      if (holds && (word & (USED | CACHED)) == (USED | CACHED) && blockSize(block) == extent && !checksOn(heap) && freePriority(block) != PARKED_MARK) {
        // A block marked parked that parking did not mark, whose size holds, is a live block whose
        // cached flag a stray write set: it is the user's again (with its flag set, it was refused to
        // its free and reported by validate() for ever).
        clearFlag(block, CACHED);
      }
      // Marked free but not free (its footer, or the header after it, says otherwise): a live block
      // whose used flag a stray write cleared, the user's again, or a header past knowing (condemned
      // below when its tag does not hold either).
      if ((word & USED) == 0) setFlag(block, USED);
      if (!liveHeaderHolds(block, holds, extent, sentinel)) {
        next = resumeAfter(block, sentinel, sentinel);
        condemn(block, <u32>(next - block));
        if (firstCondemned == 0) firstCondemned = block;
      }
      if (!isInternalBlock(heap, block)) {
        rebuiltLive++;
        rebuiltUsage += isCondemned(block) ? blockSize(block) - HEADER_SIZE : requestedBytes(block);
      }
      clearFlag(block, PREV_FREE);
      if (run != 0) closeRun(heap, run, block); // sets it again when a free run ends here
      run = 0;
    }
    block = next;
  }
  if (run != 0) {
    writeFreeHeader(run, <u32>(sentinel - run)); // the top: out of the index
    junkRun(heap, run, <u32>(sentinel - run), sentinel);
    setFlag(sentinel, PREV_FREE);
  } else {
    // The walk reached the sentinel past a block that is not free: there is no top, whatever a
    // stray write made the sentinel's flag say (as every such block's flag is mended above). Left
    // set, every malloc that needed the top, and every free of the last block, reported CORRUPTION
    // for ever.
    clearFlag(sentinel, PREV_FREE);
  }
  // The statistics agree with the blocks the walk found live (a condemned block at its usable bytes):
  // a slack a stray write changed, or a block condemned, would otherwise leave them off for ever,
  // and validation reporting it on every call.
  statsRecount(heap + CONTROL_STATS, rebuiltLive, rebuiltUsage);
}

/**
 * Where the block at `block`, whose header holds, ends: at the first block that starts inside the
 * extent its size claims (which a stray write enlarged, then), else where its size says. Asked of
 * every block, so that the rebuild reads each block's bytes, 8 at a time (O(pool bytes / 8)): a size
 * enlarged to the start of a later block, whose header holds and agrees, passes every other test.
 * (A free block's size so enlarged, to where a later free block ended, had its run folded over the
 * live blocks between: its footer is not asked when the header it leads to agrees.) A header inside
 * counts only when the blocks from it lead, header by header, to where the size ends: one forged in
 * a payload, or a word of data that passes for one, leads elsewhere. A header where the size leads
 * that does not hold, with no block starting before it, is the next block's damage: the walk meets it
 * next.
 */
function blockEnd(block: usize, sentinel: usize): usize {
  const size = blockSize(block);
  const end = block + size;
  let inside = resumeAfter(block, end, sentinel);
  while (inside < end && !(blocksLeadTo(inside, end, sentinel) && !restOfCarve(block, inside, end))) inside = resumeAfter(inside, end, sentinel);
  return inside; // `end` when no block starts before it
}

/**
 * The free block at `inside`, within the free block `block` and ending where it ends, is the rest of
 * a carve that damage stopped half done: the index wrote the rest's header (and its footer, over
 * the block's), the block it would have taken was never handed out, and its header still says the
 * whole. The whole is the free block.
 */
function restOfCarve(block: usize, inside: usize, end: usize): bool {
  return !isUsed(block) && !isUsed(inside) && inside + blockSize(inside) == end;
}

/** The blocks from `from` (whose header holds), each by its size, end exactly at `end`, every header holding. */
function blocksLeadTo(from: usize, end: usize, sentinel: usize): bool {
  let at = from;
  while (at < end) {
    if (!headerHolds(at, sentinel)) return false;
    at += blockSize(at);
  }
  return at == end;
}

/**
 * The block at `block` (marked used, `extent` bytes by the walk) is a live block whose header may be
 * trusted: it holds (`holds`, as the walk found it), its size is the extent (no block starts inside it: blockEnd) and leads to a
 * block's start, and its slack is one a live block can have (block.ts CONDEMNED_MARK: under
 * SLACK_LIMIT); or it was condemned, and its size still leads there. A block marked free that was not
 * (a free block whose next header's flag a stray write cleared) has its rank in the free index where
 * a live block keeps its slack: at most one in a hundred passes. A size that a stray write enlarged
 * to the start of a later block, whose header holds and agrees, is told by that later block inside:
 * trusted, it made the blocks between part of this one, to be handed out over them once it was freed.
 */
function liveHeaderHolds(block: usize, holds: bool, extent: u32, sentinel: usize): bool {
  if (!holds || blockSize(block) != extent || !startsBlock(block + extent, sentinel)) return false;
  return isCondemned(block) || (isLive(block) && slackOf(block) < SLACK_LIMIT && slackOf(block) <= extent - HEADER_SIZE);
}

/**
 * `at`, where a block ends, is the start of the next one (or the sentinel): its magic holds, or, its
 * tag overwritten, its size leads to the first header past it that holds. (A size that a stray write
 * made smaller ends inside the block, where neither holds but by a chance of about one in a million.)
 */
function startsBlock(at: usize, sentinel: usize): bool {
  if (hasValidMagic(at)) return true;
  const size = blockSize(at);
  if (size < MIN_BLOCK_SIZE || <u64>at + size > <u64>sentinel) return false;
  return headerOrSentinelHolds(at + size, sentinel) && resumeAfter(at, at + size, sentinel) == at + size;
}

/** The header at `next`, where the block at `block` ends, holds and its flag agrees with the block's used flag. */
function landingAgrees(block: usize, next: usize, sentinel: usize): bool {
  return headerOrSentinelHolds(next, sentinel) && isPrevFree(next) == !isUsed(block);
}

/**
 * The header at `next` says the block before it is free, or says nothing (neither its magic nor its
 * size holds): a live block whose used flag alone a stray write cleared is told by the header after
 * it. A header whose magic alone was overwritten still says it, its size leading on (startsBlock).
 */
function nextSaysFree(next: usize, sentinel: usize): bool {
  if (next != sentinel && !headerHolds(next, sentinel) && !startsBlock(next, sentinel)) return true;
  return isPrevFree(next);
}

/**
 * A block marked free whose size leads to a header that agrees, but whose footer does not: a free
 * block whose footer a stray write changed, unless it is a live block whose used flag was cleared and
 * the next header's free-neighbour flag set (two writes: folded, it was handed out over the user's
 * bytes). The top is told by the sentinel. In checks mode, where every free block but the top is in
 * the index, by its tag (its rank in the index, where a live block keeps a slack under SLACK_LIMIT
 * and its protection: below 0x200; one rank in 128 is that low, and its block then loses its bytes)
 * and its junk. Elsewhere nothing tells them apart (a pending block's rank is 0): it is folded.
 */
function footerLostOnly(heap: usize, block: usize, extent: u32, sentinel: usize): bool {
  if (block + extent == sentinel) return true;
  // (The junk alone does not tell: a live block never written is junk, and its red zone may lie in
  // its last word, where a free block's footer is, which the junk test leaves out.)
  if (!checksOn(heap)) return true;
  return freePriority(block) >= SLACK_LIMIT << 3 && junkHolds(junkStart(block, extent, sentinel), junkEnd(block, extent));
}

/**
 * A block marked parked in a cache (or held by checks mode's quarantine), `extent` bytes by the walk:
 * it may be folded into the free space when it carries the mark parking leaves (caches.ts
 * PARKED_MARK), is no larger than a cached block can be, no block seems to start inside it
 * (blockStartsInside) and one starts where it ends; in checks mode, when it is junk past its link, as
 * the quarantine leaves a held block. A parked block has no footer to check its size against: a size
 * that a stray write enlarged to the end of a later block passed every other test, and folded the
 * live blocks between (the scans are at most MAX_CACHED_BLOCK bytes).
 */
function parkedBlockHolds(heap: usize, block: usize, extent: u32, sentinel: usize): bool {
  if (checksOn(heap)) return junkHolds(block + HELD_PREFIX, block + extent); // a held block is junk past its link
  const end = block + extent;
  return freePriority(block) == PARKED_MARK && extent <= MAX_CACHED_BLOCK && startsBlock(end, sentinel) && !blockStartsInside(block, end);
}

/**
 * A block seems to start inside [block, end): a header whose magic holds (its size may not: a later
 * live block whose size word a stray write changed too), or a used block's size word that leads to
 * `end` (its magic overwritten). Asked of a parked block, whose size no footer confirms: one that a
 * stray write enlarged over such a block folded it into the free space (5 heaps in 60,000 in a
 * sweep of one to three stray writes over header words). Its bytes are what its user left, so a
 * word of theirs may pass for one: the block is then left unfolded, which loses its bytes but hands
 * out none of a live block's.
 */
function blockStartsInside(block: usize, end: usize): bool {
  for (let at = block + MIN_BLOCK_SIZE; at < end; at += GRANULE) {
    const word = load<u32>(at);
    if (hasValidMagic(at) || ((word & USED) != 0 && at + sizeInWord(word) == end)) return true;
  }
  return false;
}

/**
 * Where the block at `block`, whose size cannot be trusted, ends: the first address past its
 * smallest size, before `limit`, where a header holds; `limit` when none does. Only block starts
 * carry a magic that matches their address (block.ts retireHeader), so a header that holds is a
 * block's start but by a chance of about one in a million a word of data.
 */
function resumeAfter(block: usize, limit: usize, sentinel: usize): usize {
  for (let at = block + MIN_BLOCK_SIZE; at < limit; at += GRANULE) {
    if (headerHolds(at, sentinel)) return at;
  }
  return limit;
}

/**
 * The block at the top's place (the caller checked: where the sentinel's flag and the top's footer
 * say it starts, ending at the sentinel), marked used: the top, its used flag set by a stray write,
 * when its tag is a free block's, 0 below the magic where a live block keeps its slack and
 * protection. A live block with both 0 lacks Write, so it has a fingerprint (protect.ts), which this
 * one may not have. The footer alone proves nothing: a block handed out whole keeps the footer it
 * had while free.
 */
function isTopMarkedUsed(heap: usize, block: usize): bool {
  return freePriority(block) == 0 && !mayBeFingerprinted(heap, block);
}

/** The blocks from `run` to `end` become one free block in the index. */
function closeRun(heap: usize, run: usize, end: usize): void {
  writeFreeHeader(run, <u32>(end - run));
  indexInsert(heap, run);
  junkRun(heap, run, <u32>(end - run), <usize>load<u32>(heap + HEAP_SENTINEL));
  if (hasValidMagic(end)) setFlag(end, PREV_FREE); // (a header past knowing may be a block's data)
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
 * things such a call may have left half done. A header it left half written is not mended: its
 * block is condemned (block.ts) and named, and the take-over reports CORRUPTION, as a stray write's
 * is reported. False then.
 */
export function heapAfterTakeOver(heap: usize): bool {
  heapRebuildIndex(heap); // which recounts the statistics from the live blocks its walk passed
  if (firstCondemned == 0) return true;
  recordFault(heap, FAULT_CONDEMNED, firstCondemned, 0, 0);
  return false;
}
