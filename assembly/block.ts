// Block layout of the heap allocator: the only file that knows how a block header is encoded.
//
// Every block starts at an 8-aligned address and its payload follows an 8-byte header:
//
//    block                                                             block + size
//    │                                                                            │
//    ▼  word 0 (u32)           word 1 (u32) "tag"                                 ▼
//    ┌────────────────────────┬───────────────────────┬───────────────────────────┐
//    │ size           │P│C│U│ │ magic │ slack │ prot  │ payload ...               │
//    │ (bytes, ×8)    │ │ │ │ │ 16 b  │ 13 b  │ 3 b   │ (ptr = block + 8)         │
//    └────────────────────────┴───────────────────────┴───────────────────────────┘
//      U (bit 0) USED       the block is handed out (or held by a size cache, see C)
//      C (bit 1) CACHED     the block is free but parked in a small-size cache (or, in checks
//                           mode, which has no caches, held by the quarantine: quarantine.ts)
//      P (bit 2) PREV_FREE  the block on the left is free (so its footer is valid)
//      magic                hash of the block's own address: a header at the wrong place,
//                           or a pointer into the middle of a block, does not match it
//      slack                usable bytes minus requested bytes (stats and checks mode)
//      prot                 the Protection bits (Read 1, Write 2, Execute 4)
//    A FREE block's tag holds its magic and, in the low 16 bits instead of slack and prot, its
//    priority in the free index (freeindex.ts), which a block taking its place inherits. A
//    CONDEMNED block (its header damaged, then written anew by the index rebuild, repair.ts) holds
//    CONDEMNED_MARK there: marked used, and out of use for good.
//
// A FREE block (U clear) also carries a footer, its size, in its last 4 bytes, so the block on its
// right can find its start in O(1) (a boundary tag), and the free index keeps its links in the
// payload (see freeindex.ts; a pending block, its list's links and mark: pending.ts). Used blocks have no footer: 8 bytes of overhead per live block.
//
// The pool ends with a sentinel: a header of size 0 marked USED, so that "the block on the right"
// always exists and never coalesces.
//
// A header that stops being one (its block merged into a neighbour, grown over, or cleared) is
// retired: it reads RETIRED_SIZE, which no block has, and its magic turned over, so that only block
// starts hold (see retireHeader).
//
// Invariants (checked by validate.ts):
//   - blocks tile the pool exactly, from the pool start to the sentinel;
//   - every header's magic matches its address; sizes are multiples of 8, >= MIN_BLOCK_SIZE;
//   - P of a block is set exactly when the block on its left is free;
//   - no two free blocks are adjacent (they are always coalesced);
//   - a free block's footer equals its size;
//   - a live block's slack is under SLACK_LIMIT (a condemned block's is the one above it).

export const HEADER_SIZE: u32 = 8;
export const FOOTER_SIZE: u32 = 4;
/** Smallest block: header, the free index's node (links and figures, see freeindex.ts) and a footer. */
export const MIN_BLOCK_SIZE: u32 = 32;
export const GRANULE: u32 = 8;

export const USED: u32 = 1;
export const CACHED: u32 = 2;
export const PREV_FREE: u32 = 4;
const FLAG_MASK: u32 = 7;

const MAGIC_SEED: u32 = 0xa110;
const PROT_MASK: u32 = 7;
const SLACK_SHIFT: u32 = 3;
const SLACK_MASK: u32 = 0x1fff;

export const PROT_READ: u32 = 1;
export const PROT_WRITE: u32 = 2;
export const PROT_READ_WRITE: u32 = 3;

/** 16-bit magic of a header at `block`: mixes the address so a copied or misplaced header fails. */
// @ts-ignore: decorator
@inline export function magicFor(block: usize): u32 {
  const h = (<u32>block >>> 3) * 0x9e3779b1;
  return ((h >>> 16) ^ MAGIC_SEED) & 0xffff;
}

// @ts-ignore: decorator
@inline export function blockSize(block: usize): u32 {
  return sizeInWord(load<u32>(block));
}
// @ts-ignore: decorator
@inline export function isUsed(block: usize): bool {
  return (load<u32>(block) & USED) != 0;
}
/** Used and not parked in a small-block cache: a block the user holds. */
// @ts-ignore: decorator
@inline export function isLive(block: usize): bool {
  return (load<u32>(block) & (USED | CACHED)) == USED;
}
// @ts-ignore: decorator
@inline export function isCached(block: usize): bool {
  return (load<u32>(block) & CACHED) != 0;
}
// @ts-ignore: decorator
@inline export function isPrevFree(block: usize): bool {
  return (load<u32>(block) & PREV_FREE) != 0;
}
// @ts-ignore: decorator
@inline export function setFlag(block: usize, flag: u32): void {
  store<u32>(block, load<u32>(block) | flag);
}
// @ts-ignore: decorator
@inline export function clearFlag(block: usize, flag: u32): void {
  store<u32>(block, load<u32>(block) & ~flag);
}
// @ts-ignore: decorator
@inline export function nextBlock(block: usize): usize {
  return block + blockSize(block);
}
/** Only valid when isPrevFree(block): the left neighbour's footer gives its size. */
// @ts-ignore: decorator
@inline export function prevBlock(block: usize): usize {
  return block - load<u32>(block - FOOTER_SIZE);
}
// @ts-ignore: decorator
@inline export function usableBytes(block: usize): u32 {
  return blockSize(block) - HEADER_SIZE;
}

// @ts-ignore: decorator
@inline export function tagMagic(block: usize): u32 {
  return load<u32>(block, 4) >>> 16;
}
// @ts-ignore: decorator
@inline export function hasValidMagic(block: usize): bool {
  return tagMagic(block) == magicFor(block);
}
// @ts-ignore: decorator
@inline export function protectionOf(block: usize): u32 {
  return protectionInTag(load<u32>(block, 4));
}
// @ts-ignore: decorator
@inline export function slackOf(block: usize): u32 {
  return slackInTag(load<u32>(block, 4));
}

// The same readings from a header's words already loaded (`word` at +0, `tag` at +4): a word of
// shared memory is loaded again at every read (V8 does not fold them), so the hot paths load a
// header once and decode it here.
// @ts-ignore: decorator
@inline export function sizeInWord(word: u32): u32 {
  return word & ~FLAG_MASK;
}
// @ts-ignore: decorator
@inline export function slackInTag(tag: u32): u32 {
  return (tag >>> SLACK_SHIFT) & SLACK_MASK;
}
/** Nonzero when `tag`'s magic is not the one of a header at `block` (a word to OR with other tests). */
// @ts-ignore: decorator
@inline export function magicMismatch(block: usize, tag: u32): u32 {
  return (tag >>> 16) ^ magicFor(block);
}
// @ts-ignore: decorator
@inline export function protectionInTag(tag: u32): u32 {
  return tag & PROT_MASK;
}
/** requestedBytes, from the header's words. */
// @ts-ignore: decorator
@inline export function requestedInWords(word: u32, tag: u32): u32 {
  return sizeInWord(word) - HEADER_SIZE - slackInTag(tag);
}
/** Bytes the user asked for: what statistics count. */
// @ts-ignore: decorator
@inline export function requestedBytes(block: usize): u32 {
  return usableBytes(block) - slackOf(block);
}

// @ts-ignore: decorator
@inline export function writeTag(block: usize, slack: u32, prot: u32): void {
  store<u32>(block, (magicFor(block) << 16) | (slack << SLACK_SHIFT) | (prot & PROT_MASK), 4);
}
// @ts-ignore: decorator
@inline export function setProtection(block: usize, prot: u32): void {
  writeTag(block, slackOf(block), prot);
}

/** Writes a used block's header; PREV_FREE is passed in because only the caller knows the left side. */
// @ts-ignore: decorator
@inline export function writeUsedHeader(block: usize, size: u32, prevFree: u32, requested: u32, prot: u32): void {
  store<u32>(block, size | USED | prevFree);
  writeTag(block, size - HEADER_SIZE - requested, prot);
}

/**
 * A block taken from a small-block cache becomes the user's: only its tag's slack and protection
 * change. Its size word is already right (USED, its PREV_FREE) and its magic was checked when it was
 * taken, so neither is written again: the cache-hit malloc is the hot path.
 */
// @ts-ignore: decorator
@inline export function retagUsed(block: usize, requested: u32, prot: u32): void {
  const magic = load<u32>(block, 4) & 0xffff_0000;
  store<u32>(block, magic | ((blockSize(block) - HEADER_SIZE - requested) << SLACK_SHIFT) | (prot & PROT_MASK), 4);
}

/** A free block's priority in the free index (freeindex.ts). */
// @ts-ignore: decorator
@inline export function freePriority(block: usize): u32 {
  return load<u16>(block, 4);
}
// @ts-ignore: decorator
@inline export function setFreePriority(block: usize, priority: u32): void {
  store<u16>(block, <u16>priority, 4);
}

/**
 * What a header reads once it has stopped being one (its block merged into the one before it, or
 * grown over): size RETIRED_SIZE, no flags, and its magic turned over (every bit flipped). No block
 * is that small and the magic no longer matches, so no walk steps past it, even once the block it is
 * now inside writes over its first word: one that a damaged size sends into the middle of a block
 * (the index rebuild) does not go on through the headers of blocks that were once there, as it did
 * when they kept their sizes and magic (a rebuild that did handed out blocks over live ones; a
 * header that kept its magic came back to hold, a payload that held it copied away and back by two
 * reallocs with a small number written over its size). Both words together still say what it was: a
 * pointer to it is known for one that was freed (DOUBLE_FREE, pointers.ts).
 */
export const RETIRED_SIZE: u32 = 8;

// @ts-ignore: decorator
@inline export function retireHeader(block: usize): void {
  store<u32>(block, RETIRED_SIZE);
  store<u32>(block, load<u32>(block, 4) ^ 0xffff_0000, 4); // (the header held: its magic was right)
}

/** A header retired by retireHeader. */
// @ts-ignore: decorator
@inline export function isRetired(block: usize): bool {
  return load<u32>(block) == RETIRED_SIZE && tagMagic(block) == (magicFor(block) ^ 0xffff);
}

/**
 * What the tag of a condemned block holds below its magic: a slack of 0x1fff and no protection bits.
 * A block is condemned by the index rebuild (repair.ts) when it is marked in use but its header
 * cannot be trusted (its magic, size or slack overwritten): its header is written anew, the size
 * reaching the next header that holds, so that the heap's blocks tile again and validation passes
 * once the damage was reported; every call that takes its pointer is refused (CORRUPTION, naming
 * it), and it is never freed or merged (the size found may not be the one the user had: freed, the
 * block could be handed out over live bytes). No live block has that slack: a block is handed out
 * at most SPILL + MIN_BLOCK_SIZE + GRANULE bytes larger than its request (caches.ts, heap.ts), so a
 * slack is under 64; and without Write in its protection bits, the free's fast test (pointers.ts
 * headerReleasableAtOnce) refuses it at no cost.
 */
export const CONDEMNED_MARK: u32 = 0xfff8;
/** Every live block's slack is under this (see CONDEMNED_MARK): the index rebuild trusts no other. */
export const SLACK_LIMIT: u32 = 64;

// @ts-ignore: decorator
@inline export function isCondemned(block: usize): bool {
  return (load<u32>(block) & (USED | CACHED)) == USED && <u32>load<u16>(block, 4) == CONDEMNED_MARK;
}

/** Writes a condemned block's header: `size` bytes, used, its left neighbour used (the caller sets PREV_FREE). */
export function condemn(block: usize, size: u32): void {
  store<u32>(block, size | USED);
  store<u32>(block, (magicFor(block) << 16) | CONDEMNED_MARK, 4);
}

/**
 * Writes a free block's header and footer. A free block's left neighbour is never free. `priority`
 * is its rank in the free index (0 until the index sets it), in the same store as the magic: a block
 * taking an indexed one's place is written whole, and nothing written is read back in halves.
 */
// @ts-ignore: decorator
@inline export function writeFreeHeader(block: usize, size: u32, priority: u32 = 0): void {
  store<u32>(block, size);
  store<u32>(block, (magicFor(block) << 16) | priority, 4);
  store<u32>(block + size - FOOTER_SIZE, size);
}

/** The end-of-pool sentinel: a used, zero-sized block. */
// @ts-ignore: decorator
@inline export function writeSentinel(block: usize, prevFree: u32): void {
  store<u32>(block, USED | prevFree);
  writeTag(block, 0, 0);
}

// @ts-ignore: decorator
@inline export function alignUp(value: usize, alignment: usize): usize {
  return (value + alignment - 1) & ~(alignment - 1);
}

/** Block size that serves `requested` payload bytes; 0 when the request cannot be represented. */
// @ts-ignore: decorator
@inline export function blockSizeFor(requested: u32): u32 {
  if (requested > 0xffff_ff00) return 0;
  const size = <u32>alignUp(requested + HEADER_SIZE, GRANULE);
  return size < MIN_BLOCK_SIZE ? MIN_BLOCK_SIZE : size;
}
