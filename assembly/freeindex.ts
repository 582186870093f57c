// The free-block index: which free blocks exist, and which one a request should take.
//
// A treap (a binary search tree kept balanced by heap-ordered priorities) of the free blocks, with
// each node's priority a hash of its address, drawn when it enters the index and kept in its
// header's tag (block.ts); a block that takes another's place (the rest of a split, a block merged
// with its right neighbour) inherits that one's priority, so it needs no rotation, and each node
// knowing the largest block in each of its two subtrees. The key depends on the heap's policy:
//
//   first-fit  key = address:         the lowest-addressed block that fits is found by descending
//                                     left whenever the left subtree's largest block is big enough
//   best-fit   key = (size, address): the smallest fitting block is the lower bound of the size,
//                                     lowest address first among equal sizes
//
// Either way a search, an insertion and a removal cost O(log free blocks) expected. (A request
// with an alignment above 8 may have to look past blocks whose size fits but whose aligned
// payload does not; it visits them in key order, so the answer stays exact.)
//
// A node lives in the free block's payload, right after its header:
//
//    block + 0    header (block.ts)
//    block + 8    u32 left child     (0 = none)
//    block + 12   u32 right child
//    block + 16   u32 largest block size in the left subtree  (0 = none)
//    block + 20   u32 largest block size in the right subtree
//    ...
//    block + size - 4   footer (block.ts)
//
// Why each node keeps both subtrees' figures rather than its own subtree's: every decision of a
// walk (go left, take this block, go right) and every figure fixed on the way back up then reads
// only the node the walk is at. With one figure a node, the walk read the left child's to decide
// and the way up read the sibling's: a line not in the processor's caches each time, on a heap
// larger than they are. It costs the 4 bytes that make MIN_BLOCK_SIZE 32 (block.ts).
//
// It holds every free block but the top (the free block that ends at the sentinel, which heap.ts
// keeps out of it) and the pending ones (freed blocks waiting on a list until a request might need
// them: pending.ts). The root is the control block's freeRoot; the index also keeps the count and
// byte total of the blocks it holds (control.ts).
//
// Robustness: the index is derived data. Every link is checked to lie inside the pool and every
// descent is bounded in depth, so a link overwritten by a stray write is found (indexDamaged) and
// never followed out of the pool or around a cycle; indexRebuild then lays the index anew from the
// blocks themselves. The walks that come back up (the take, a removal, a block put in a larger
// one's place) write the nodes they pass into the heap's path buffer (control.ts HEAP_PATH) and
// change no link on the way down, so a walk that stops at damage leaves the tree as it was.

import { blockSize, HEADER_SIZE, GRANULE, alignUp, MIN_BLOCK_SIZE, hasValidMagic, isUsed, writeFreeHeader, freePriority, setFreePriority } from "./block";
import { mayCarve } from "./heap";
import { FAULT_INDEX_NODE, recordFault } from "./faults";
import {
  HEAP_FREE_ROOT, HEAP_FREE_BLOCKS, HEAP_FREE_BLOCK_BYTES, HEAP_POLICY, POLICY_BEST_FIT,
  HEAP_POOL_START, HEAP_SENTINEL, HEAP_PATH, HEAP_PATH_ENTRIES,
} from "./control";

const LEFT: usize = 8;
const RIGHT: usize = 12;
const LEFT_MOST: usize = 16;
const RIGHT_MOST: usize = 20;
/** LEFT_MOST ^ SIDES = RIGHT_MOST and back: the other side's figure. */
const SIDES: usize = LEFT_MOST ^ RIGHT_MOST;
/** Far beyond the depth a treap of hashed priorities reaches (about 3 ln n): only damage gets here. */
const MAX_DEPTH: i32 = HEAP_PATH_ENTRIES - 1;

// Per-call scratch, in this instance's globals: never shared state, so threads do not collide.
let bestFit = false;
let poolLow: usize = 0;
let poolGranules: u32 = 0; // the granules a node may start at: see followable
let damaged = false;
let damageRecorded = false; // the damage's fault is in the record already (a check named the block)
let path: usize = 0; // heap + HEAP_PATH: see onPath

// @ts-ignore: decorator
@inline function left(node: usize): usize { return load<u32>(node, LEFT); }
// @ts-ignore: decorator
@inline function right(node: usize): usize { return load<u32>(node, RIGHT); }
// @ts-ignore: decorator
@inline function setLeft(node: usize, child: usize): void { store<u32>(node, <u32>child, LEFT); }
// @ts-ignore: decorator
@inline function setRight(node: usize, child: usize): void { store<u32>(node, <u32>child, RIGHT); }
/** The largest block size in the subtree at `node`, from its own line. */
// @ts-ignore: decorator
@inline function mostOf(node: usize): u32 {
  return max(blockSize(node), max(load<u32>(node, LEFT_MOST), load<u32>(node, RIGHT_MOST)));
}
/** mostOf, for a link: 0 for no node (or a link that may not be followed, then noted as damage). */
// @ts-ignore: decorator
@inline function largest(node: usize): u32 {
  if (followable(node)) return mostOf(node);
  if (node != 0) damaged = true;
  return 0;
}
/** A node's figure for one side (LEFT_MOST or RIGHT_MOST) raised to `size` if below it. */
// @ts-ignore: decorator
@inline function raise(node: usize, side: usize, size: u32): void {
  if (load<u32>(node + side) < size) store<u32>(node + side, size);
}

/** A node's priority: kept in its tag (a load from the line its links are on). */
// @ts-ignore: decorator
@inline function priority(node: usize): u32 {
  return freePriority(node);
}

/** murmur3's finaliser of the address: a priority for a block entering the index that looks random. */
// @ts-ignore: decorator
@inline function drawPriority(node: usize): u32 {
  let h = <u32>node;
  h ^= h >>> 16;
  h *= 0x85ebca6b;
  h ^= h >>> 13;
  h *= 0xc2b2ae35;
  return (h ^ (h >>> 16)) & 0xffff;
}

/** Key order: address, or (size, address) for best-fit. */
// @ts-ignore: decorator
@inline function before(a: usize, b: usize): bool {
  if (bestFit) {
    const sizeA = blockSize(a);
    const sizeB = blockSize(b);
    if (sizeA != sizeB) return sizeA < sizeB;
  }
  return a < b;
}

/**
 * A link that may be followed: an 8-aligned address where a free block could start (never 0), in
 * [pool start, sentinel - MIN_BLOCK_SIZE]. One compare: the offset into the pool rotated right by 3
 * is below poolGranules only when its low bits are 0 (else they land on top) and it lies in that
 * range (the pool start is 8-aligned).
 */
// @ts-ignore: decorator
@inline function followable(link: usize): bool {
  return rotr<u32>(<u32>(link - poolLow), 3) < poolGranules;
}

/** A child link that may be followed or is 0; a link that may not be is noted as damage. */
// @ts-ignore: decorator
@inline function sane(link: usize): bool {
  if (link == 0 || followable(link)) return true;
  damaged = true;
  return false;
}

// @ts-ignore: decorator
@inline function begin(heap: usize): void {
  bestFit = load<u32>(heap + HEAP_POLICY) == POLICY_BEST_FIT;
  poolLow = load<u32>(heap + HEAP_POOL_START);
  // A node starts no later than MIN_BLOCK_SIZE before the sentinel: its fields, up to +24, stay in
  // the pool, whose end may be the memory's (a link to the sentinel's address less 8 was followed,
  // and its figures read past the memory: a trap). heapInit refuses smaller pools.
  const span = load<u32>(heap + HEAP_SENTINEL) - <u32>poolLow;
  poolGranules = span >= MIN_BLOCK_SIZE ? ((span - MIN_BLOCK_SIZE) >> 3) + 1 : 0;
  path = heap + HEAP_PATH;
}

// A walk that comes back up notes each node it passes in the heap's path buffer: entry `depth` is
// the node at that depth, with bit 0 set when the walk went on to its right child. The buffer is
// in the control block (shared memory that only the lock's holder touches), not in this instance's
// globals, which cannot hold an array; links are never turned, so a walk that stops leaves the
// tree as it was, and the way up (climb) stops at the first figure that stays.
// @ts-ignore: decorator
@inline function onPath(depth: i32, entry: usize): void {
  store<u32>(path + (<usize>depth << 2), <u32>entry);
}

// Insertion goes down from the root to the first node the new one outranks, raising the figures on
// its way (they can only rise); there the subtree is split by the new node's key into the two
// subtrees it gets as children. Only that split (about two nodes, expected, in a treap) comes back
// up to fix figures: a recursive insertion with rotations came back up through every level.
let splitLow: usize = 0; // the keys before the new node's, after splitUnder
let splitHigh: usize = 0; // the keys after

/** Splits `tree` into splitLow (keys before `node`'s) and splitHigh (the others), figures fixed. */
function splitUnder(tree: usize, node: usize, depth: i32): void {
  if (tree == 0 || depth > MAX_DEPTH || !sane(tree)) {
    if (tree != 0) damaged = true;
    splitLow = 0;
    splitHigh = 0;
    return;
  }
  if (before(node, tree)) {
    splitUnder(left(tree), node, depth + 1);
    setLeft(tree, splitHigh);
    store<u32>(tree, largest(splitHigh), LEFT_MOST); // (its right subtree stays)
    splitHigh = tree;
  } else {
    splitUnder(right(tree), node, depth + 1);
    setRight(tree, splitLow);
    store<u32>(tree, largest(splitLow), RIGHT_MOST);
    splitLow = tree;
  }
}

/** Joins two treaps whose keys are all ordered a < b. */
function merge(a: usize, b: usize, depth: i32): usize {
  if (a == 0) return b;
  if (b == 0) return a;
  if (depth > MAX_DEPTH || !sane(a) || !sane(b)) { damaged = true; return a; }
  if (priority(a) > priority(b)) {
    const joined = merge(right(a), b, depth + 1);
    setRight(a, joined);
    store<u32>(a, largest(joined), RIGHT_MOST);
    return a;
  }
  const joined = merge(a, left(b), depth + 1);
  setLeft(b, joined);
  store<u32>(b, largest(joined), LEFT_MOST);
  return b;
}

/**
 * Goes down from `root` to `node` by key, noting the nodes it passes (onPath); the depth of `node`,
 * or -1 (damage noted) at a link it may not follow or past MAX_DEPTH.
 */
function pathTo(root: usize, node: usize): i32 {
  let tree = root;
  let depth = 0;
  // The policy read once, not at every level (V8 reloads a global after each store to memory), and
  // the link's test and the depth bound as two branches, as in growTowards.
  const byAddress = !bestFit;
  while (tree != node) {
    if (!followable(tree)) {
      damaged = true;
      return -1;
    }
    const goRight = <usize>(byAddress ? node > tree : !before(node, tree));
    onPath(depth, tree | goRight);
    tree = load<u32>(tree + LEFT + (goRight << 2)); // (RIGHT = LEFT + 4: a branch less a level)
    if (++depth > MAX_DEPTH) {
      damaged = true;
      return -1;
    }
  }
  return depth;
}

/** Takes `node` out of the treap at `root` (its header still holds its size); the new root. */
function removeFrom(root: usize, node: usize): usize {
  const depth = pathTo(root, node);
  if (depth < 0) return root;
  const sub = merge(left(node), right(node), depth);
  return climb(root, depth, sub, largest(sub));
}

export function indexClear(heap: usize): void {
  store<u32>(heap + HEAP_FREE_ROOT, 0);
  store<u32>(heap + HEAP_FREE_BLOCKS, 0);
  store<u32>(heap + HEAP_FREE_BLOCK_BYTES, 0);
  damaged = false;
  damageRecorded = false;
}

/** Adds a free block whose header and footer are already written. */
export function indexInsert(heap: usize, block: usize): void {
  begin(heap);
  const rank = drawPriority(block);
  const size = blockSize(block);
  setFreePriority(block, rank);
  let link: usize = heap + HEAP_FREE_ROOT;
  let tree: usize = load<u32>(link);
  const byAddress = !bestFit; // read once, as in pathTo
  for (let depth = 0; tree != 0; ) {
    if (!followable(tree)) {
      damaged = true; // the rebuild that follows recounts the index
      return;
    }
    if (priority(tree) < rank) break; // `block` takes this subtree's place
    // 0 left, 4 right: RIGHT = LEFT + 4, RIGHT_MOST = LEFT_MOST + 4
    const side = <usize>(byAddress ? block > tree : !before(block, tree)) << 2;
    raise(tree, LEFT_MOST + side, size);
    link = tree + LEFT + side;
    tree = load<u32>(link);
    if (++depth > MAX_DEPTH) {
      damaged = true;
      return;
    }
  }
  splitUnder(tree, block, 0);
  setLeft(block, splitLow);
  setRight(block, splitHigh);
  store<u32>(block, largest(splitLow), LEFT_MOST);
  store<u32>(block, largest(splitHigh), RIGHT_MOST);
  store<u32>(link, <u32>block);
  store<u32>(heap + HEAP_FREE_BLOCKS, load<u32>(heap + HEAP_FREE_BLOCKS) + 1);
  store<u32>(heap + HEAP_FREE_BLOCK_BYTES, load<u32>(heap + HEAP_FREE_BLOCK_BYTES) + blockSize(block));
}

/** Takes a block out of the index; its header must still hold the size it was inserted with. */
export function indexRemove(heap: usize, block: usize): void {
  begin(heap);
  store<u32>(heap + HEAP_FREE_ROOT, <u32>removeFrom(load<u32>(heap + HEAP_FREE_ROOT), block));
  store<u32>(heap + HEAP_FREE_BLOCKS, load<u32>(heap + HEAP_FREE_BLOCKS) - 1);
  store<u32>(heap + HEAP_FREE_BLOCK_BYTES, load<u32>(heap + HEAP_FREE_BLOCK_BYTES) - blockSize(block));
}

// ─── Changes in place (first-fit) ────────────────────────────────────────────────────────────────
// Splitting and merging mostly change a free block's size without changing its place in address
// order: for first-fit these are one descent that refreshes the largest-below figures (a block
// taking another's place takes its links and priority too, so nothing rotates), instead of a
// removal and an insertion: a block that grows raises them on the way down (growTowards, every
// merge of a free), one that shrinks fixes them on the way back up (replaceIn). For best-fit the
// size is part of the key, so they are a removal and an insertion. (Inheriting the priority took
// mixed-sizes from 173 to 154 ns/op and realloc from 389 to 337: the rest of a split used to sink
// to the rank its new address hashed to.)

/**
 * `block` (`size` bytes) takes the place of a node with the same children, whose side figures were
 * `leftMost` and `rightMost`: it takes them too (read by the caller before `block` was written,
 * as they may overlap). Its subtree's figure.
 */
// @ts-ignore: decorator
@inline function adopt(block: usize, size: u32, leftMost: u32, rightMost: u32): u32 {
  store<u32>(block, leftMost, LEFT_MOST);
  store<u32>(block, rightMost, RIGHT_MOST);
  return max(size, max(leftMost, rightMost));
}

/**
 * Puts `block` (its links, figures and priority already copied from `old`, which it replaces, and
 * smaller: its subtree's figure is `most`) where `old` is: the same priority keeps the heap order.
 * The walk down compares keys only, never reading `old`'s bytes (`block` may overlap them); the
 * figures are fixed on the way back up. The new root.
 */
function replaceIn(root: usize, old: usize, block: usize, most: u32): usize {
  const depth = pathTo(root, old);
  if (depth < 0) return root;
  return climb(root, depth, block, most);
}

/**
 * First-fit, where a block grows (`block`, of `size` bytes, takes the place of `old`, which may be
 * itself): every figure on the path can only rise, so they are raised on the way down and the walk
 * never comes back up (the coalescing of a free is always this case). `block`'s own figure is set.
 */
function growTowards(heap: usize, old: usize, block: usize, size: u32): void {
  let link: usize = heap + HEAP_FREE_ROOT;
  let tree: usize = load<u32>(link);
  // The link's test and the depth bound as two branches: ORed, V8 materialised both as booleans.
  for (let depth = 0; followable(tree); ) {
    if (tree == old) {
      store<u32>(link, <u32>block);
      return;
    }
    const side = <usize>(old > tree) << 2; // as in indexInsert
    raise(tree, LEFT_MOST + side, size);
    link = tree + LEFT + side;
    tree = load<u32>(link);
    if (++depth > MAX_DEPTH) break;
  }
  damaged = true;
}

/**
 * First-fit: `block` (`size` bytes, its header, links, figures and priority written; its subtree's
 * figure `most`) takes the place of `old`, which was `oldSize` bytes: down raising figures when it
 * grew; replaceIn, which fixes them on its way back up, when it shrank.
 */
function takePlace(heap: usize, old: usize, oldSize: u32, block: usize, size: u32, most: u32): void {
  if (size >= oldSize) growTowards(heap, old, block, size);
  else store<u32>(heap + HEAP_FREE_ROOT, <u32>replaceIn(load<u32>(heap + HEAP_FREE_ROOT), old, block, most));
}

/** Best-fit keys include the size: a changed block leaves the index and comes back in its new place. */
function reinsert(heap: usize, old: usize, block: usize, size: u32): void {
  indexRemove(heap, old);
  writeFreeHeader(block, size);
  indexInsert(heap, block);
}

/** The indexed free block `block` becomes `size` bytes (header and footer written here). */
export function indexResize(heap: usize, block: usize, size: u32): void {
  begin(heap);
  if (bestFit) return reinsert(heap, block, block, size);
  const old = blockSize(block);
  writeFreeHeader(block, size, priority(block));
  // Its own place: links and side figures stay.
  takePlace(heap, block, old, block, size, max(size, max(load<u32>(block, LEFT_MOST), load<u32>(block, RIGHT_MOST))));
  store<u32>(heap + HEAP_FREE_BLOCK_BYTES, load<u32>(heap + HEAP_FREE_BLOCK_BYTES) - old + size);
}

/**
 * The free block `block` of `size` bytes takes the place of the indexed block `old`, which it
 * overlaps or touches, so no other free block lies between them (header and footer written here).
 */
export function indexReplace(heap: usize, old: usize, block: usize, size: u32): void {
  begin(heap);
  if (bestFit) return reinsert(heap, old, block, size);
  const oldSize = blockSize(old);
  // `old`'s node is read before `block`'s header may overwrite it (they can overlap).
  const l = left(old);
  const r = right(old);
  const leftMost = load<u32>(old, LEFT_MOST);
  const rightMost = load<u32>(old, RIGHT_MOST);
  const rank = priority(old);
  writeFreeHeader(block, size, rank);
  setLeft(block, l);
  setRight(block, r);
  const most = adopt(block, size, leftMost, rightMost);
  // First-fit compares addresses only: the descent to `old` reads none of its bytes.
  takePlace(heap, old, oldSize, block, size, most);
  store<u32>(heap + HEAP_FREE_BLOCK_BYTES, load<u32>(heap + HEAP_FREE_BLOCK_BYTES) - oldSize + size);
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

/** payloadFitting, with the common case inline: at the granule (8) the payload is right after the header. */
// @ts-ignore: decorator
@inline export function payloadIn(block: usize, size: u32, need: u32, alignment: u32): usize {
  if (alignment == GRANULE) return size >= need ? block + HEADER_SIZE : 0;
  return payloadFitting(block, size, need, alignment);
}

// ─── First-fit at alignment 8: find and split in one descent ─────────────────────────────────────
// The default request (first-fit at the heap's alignment of 8) is a descent to the
// lowest block big enough and a split of its front: done in the same walk, the path is followed
// once instead of twice (once to find the block, once to put its rest in its place).

let taken: usize = 0; // the block takeFrom split or took, 0 when none
let takenSize: u32 = 0; // its size before
let restSize: u32 = 0; // the size of what stays free in its place, 0 when it left the index
let carvedMost: u32 = 0; // the largest-below figure of what carveFront put in the block's place
let refused: usize = 0; // a block that would have been taken but does not look sound

/**
 * The way back up from a walk that noted its path (takeFrom, pathTo): the node at `depth` is
 * replaced by `sub` (0 for none), whose subtree's figure is `subMost` (from the caller, which has
 * it at hand: read back here, a figure just written to a line not in the caches waited for that
 * store). Its parent is linked to `sub`, and the figures above are fixed, each from the node it is
 * on: the side the walk came up from takes the figure below, and where a node's own subtree figure
 * stays the same, none above changes. Returns the root.
 */
function climb(root: usize, depth: i32, sub: usize, subMost: u32): usize {
  if (depth == 0) return sub;
  let entry: usize = load<u32>(path + (<usize>(depth - 1) << 2));
  let parent = entry & ~(<usize>7);
  if (entry & 1) setRight(parent, sub);
  else setLeft(parent, sub);
  let below = subMost;
  for (let d = depth - 1; ; ) {
    const side = LEFT_MOST + ((entry & 1) << 2); // bit 0: the walk went right (RIGHT_MOST = LEFT_MOST + 4)
    const was = load<u32>(parent + side);
    if (was == below) break;
    store<u32>(parent + side, below);
    const rest = max(blockSize(parent), load<u32>(parent + (side ^ SIDES)));
    const most = max(rest, below);
    if (most == max(rest, was)) break;
    if (--d < 0) break;
    below = most;
    entry = load<u32>(path + (<usize>d << 2));
    parent = entry & ~(<usize>7);
  }
  return root;
}

/**
 * Takes `need` bytes from the front of the lowest block of `tree` that has them (the caller made
 * sure one does): the rest takes the block's place when it can hold a block, else the block leaves
 * the index. A block that may not be carved (heap.ts mayCarve) is left as it is and named in `refused`.
 * Nothing rotates: a subtree's new root is the rest (at the taken block's rank), or one of the
 * taken block's children (ranked below it), so it never outranks the node above.
 *
 * One loop down, noting the path (onPath), changing nothing; then climb fixes the figures above
 * the taken block until one is left unchanged.
 */
// @ts-ignore: decorator
@inline function takeFrom(heap: usize, root: usize, need: u32): usize {
  let tree = root;
  let depth = 0;
  // Down: left while the left subtree has a block big enough, else this block, else right.
  while (depth <= MAX_DEPTH) {
    if (load<u32>(tree, LEFT_MOST) >= need) {
      const l = left(tree);
      if (!followable(l)) break; // the figure promised a block there
      onPath(depth, tree);
      tree = l;
    } else if (blockSize(tree) >= need) {
      if (!mayCarve(heap, tree, need)) {
        refused = tree;
        return root;
      }
      const sub = carveFront(tree, need, depth);
      return climb(root, depth, sub, carvedMost);
    } else {
      const r = right(tree);
      // The figures above promised a block in this subtree, so on the right: a figure or link that
      // breaks the promise is damage.
      if (load<u32>(tree, RIGHT_MOST) < need || !followable(r)) break;
      onPath(depth, tree | 1);
      tree = r;
    }
    depth++;
  }
  damaged = true;
  return root;
}

/**
 * Takes `need` bytes from the front of the indexed block `tree` (it has them): what takes its
 * place, the rest at its rank or, when no block is left, its children merged.
 */
// @ts-ignore: decorator
@inline function carveFront(tree: usize, need: u32, depth: i32): usize {
  const size = blockSize(tree);
  const l = left(tree);
  const r = right(tree);
  const leftMost = load<u32>(tree, LEFT_MOST);
  const rightMost = load<u32>(tree, RIGHT_MOST);
  taken = tree;
  takenSize = size;
  if (size - need < MIN_BLOCK_SIZE) {
    const merged = merge(l, r, depth);
    carvedMost = largest(merged);
    return merged;
  }
  restSize = size - need;
  const rest = tree + need; // past the node (need >= MIN_BLOCK_SIZE): it is read first
  writeFreeHeader(rest, restSize, priority(tree)); // it takes the block's place, at its rank: no rotation
  setLeft(rest, l);
  setRight(rest, r);
  carvedMost = adopt(rest, restSize, leftMost, rightMost);
  return rest;
}

/**
 * First-fit at alignment 8: splits `need` bytes off the front of the lowest-addressed free block
 * that has them and returns that block (its header still holds its old size: see indexTakenSize),
 * or 0 when none has them. A damaged candidate is not touched: indexRefused names it.
 */
export function indexTakeLowest(heap: usize, need: u32): usize {
  begin(heap);
  taken = 0;
  takenSize = 0;
  restSize = 0;
  refused = 0;
  const root: usize = load<u32>(heap + HEAP_FREE_ROOT);
  if (root == 0 || !sane(root) || largest(root) < need) return 0;
  store<u32>(heap + HEAP_FREE_ROOT, <u32>takeFrom(heap, root, need));
  if (taken == 0) return 0;
  if (restSize == 0) store<u32>(heap + HEAP_FREE_BLOCKS, load<u32>(heap + HEAP_FREE_BLOCKS) - 1);
  store<u32>(heap + HEAP_FREE_BLOCK_BYTES, load<u32>(heap + HEAP_FREE_BLOCK_BYTES) - (takenSize - restSize));
  return taken;
}

/** The size of the block indexTakeLowest took, before the split. */
export function indexTakenSize(): u32 {
  return takenSize;
}

/** What stays free after the block indexTakeLowest took (0: the block was taken whole). */
export function indexRestSize(): u32 {
  return restSize;
}

/** The block indexTakeLowest would have taken but found damaged, or 0. */
export function indexRefused(): usize {
  return refused;
}

/** First-fit: the lowest-addressed block in `tree` that fits; subtrees too small are skipped whole. */
function lowestFitting(tree: usize, need: u32, alignment: u32, depth: i32): usize {
  if (tree == 0 || depth > MAX_DEPTH || !sane(tree)) return 0;
  if (load<u32>(tree, LEFT_MOST) >= need) {
    const found = lowestFitting(left(tree), need, alignment, depth + 1);
    if (found != 0) return found;
  }
  const size = blockSize(tree);
  if (size >= need && payloadFitting(tree, size, need, alignment) != 0) return tree;
  return load<u32>(tree, RIGHT_MOST) >= need ? lowestFitting(right(tree), need, alignment, depth + 1) : 0;
}

/** Best-fit: the first block in (size, address) order from the lower bound of `need` that fits. */
function smallestFitting(tree: usize, need: u32, alignment: u32, depth: i32): usize {
  if (tree == 0 || depth > MAX_DEPTH || !sane(tree)) return 0;
  const size = blockSize(tree);
  if (size >= need) {
    if (load<u32>(tree, LEFT_MOST) >= need) {
      const found = smallestFitting(left(tree), need, alignment, depth + 1);
      if (found != 0) return found;
    }
    if (payloadFitting(tree, size, need, alignment) != 0) return tree;
  }
  return load<u32>(tree, RIGHT_MOST) >= need ? smallestFitting(right(tree), need, alignment, depth + 1) : 0;
}

/** The free block the heap's policy picks for `need` bytes at `alignment`, or 0 when none fits. */
export function indexFind(heap: usize, need: u32, alignment: u32): usize {
  begin(heap);
  const root: usize = load<u32>(heap + HEAP_FREE_ROOT);
  if (largest(root) < need) return 0;
  if (bestFit) return smallestFitting(root, need, alignment, 0);
  return lowestFitting(root, need, alignment, 0);
}

/** True when the index holds no block (the heap's free space, if any, is all in the top). */
// @ts-ignore: decorator
@inline export function indexEmpty(heap: usize): bool {
  return load<u32>(heap + HEAP_FREE_ROOT) == 0;
}

/** Size of the largest free block, headers included; 0 when nothing is free. O(1). */
export function indexLargest(heap: usize): u32 {
  return largest(load<u32>(heap + HEAP_FREE_ROOT));
}

/**
 * checks mode, before the indexed block `block` is handed out (in whole or in part): its node must
 * agree with its children: links that may be followed, and the largest-block figures they imply. A
 * write after free into the node's bytes (the first 16 of the freed payload, which hold no junk)
 * breaks one of them; the walks check links, not figures, so without this such a write went out
 * unseen with the block. On a mismatch the fault is recorded naming the block and the index is
 * marked damaged (laid anew once the call is over, repair.ts). O(1): the two children's lines.
 */
export function nodeHolds(heap: usize, block: usize): bool {
  begin(heap);
  const l = left(block);
  const r = right(block);
  const leftSeen = load<u32>(block, LEFT_MOST);
  const rightSeen = load<u32>(block, RIGHT_MOST);
  // A link that may not be followed gives 0 (and is noted as damage): a node's own figure never is.
  const leftFigure = figureOf(l);
  const rightFigure = figureOf(r);
  const leftLinkBad = l != 0 && leftFigure == 0;
  const rightLinkBad = r != 0 && rightFigure == 0;
  if (!(leftLinkBad || rightLinkBad) && leftSeen == leftFigure && rightSeen == rightFigure) return true;
  // found: the link that may not be followed, else the figure that is off.
  let found = rightSeen;
  let expected = rightFigure;
  if (leftLinkBad) { found = <u32>l; expected = 0; }
  else if (rightLinkBad) { found = <u32>r; expected = 0; }
  else if (leftSeen != leftFigure) { found = leftSeen; expected = leftFigure; }
  recordFault(heap, FAULT_INDEX_NODE, block, found, expected);
  damageRecorded = true;
  damaged = true;
  return false;
}

/** largest, called rather than inlined: nodeHolds runs in checks mode only. */
function figureOf(link: usize): u32 {
  return largest(link);
}

/** True when the damage of this call was found by a check that recorded its fault (settle keeps it). */
export function indexDamageRecorded(): bool {
  return damageRecorded;
}

/** Damage found outside the tree (a small-block cache list, the top): reported and repaired like the tree's. */
export function markIndexDamaged(): void {
  damaged = true;
}

/** markIndexDamaged, after the check that found it recorded the fault naming the block: the report says that. */
export function markIndexDamagedRecorded(): void {
  damaged = true;
  damageRecorded = true;
}

/** True when an index operation since the last indexClear met a link it would not follow. */
// @ts-ignore: decorator
@inline export function indexDamaged(): bool {
  return damaged;
}

// ─── Checks, for validate.ts ─────────────────────────────────────────────────────────────────────

/**
 * Checks the tree: links that stay in the pool and lead to free blocks, key order, heap order of
 * the priorities, the largest-below figures and a bounded depth. The number of nodes, or -1 when anything is off.
 */
export function indexCheck(heap: usize): i32 {
  begin(heap);
  damaged = false;
  const count = checkSubtree(load<u32>(heap + HEAP_FREE_ROOT), 0, 0, 0);
  return damaged ? -1 : count;
}

/** Nodes in the subtree, checking that each lies strictly between `low` and `high` in key order (0 = open). */
function checkSubtree(tree: usize, low: usize, high: usize, depth: i32): i32 {
  if (tree == 0) return 0;
  if (depth > MAX_DEPTH || !sane(tree) || !hasValidMagic(tree) || isUsed(tree) || !inOrder(low, tree) || !inOrder(tree, high)) {
    damaged = true;
    return 0;
  }
  const l = left(tree);
  const r = right(tree);
  // Heap order of the priorities (kept in the children's tags: read once their links are known sane).
  if (!sane(l) || !sane(r)) return 0;
  const mine = priority(tree);
  if ((l != 0 && priority(l) > mine) || (r != 0 && priority(r) > mine)) { damaged = true; return 0; }
  const count = 1 + checkSubtree(l, low, tree, depth + 1) + checkSubtree(r, tree, high, depth + 1);
  if (damaged) return 0; // and the children's links were not sane: their figures are not read
  if (load<u32>(tree, LEFT_MOST) != largest(l) || load<u32>(tree, RIGHT_MOST) != largest(r)) { damaged = true; return 0; }
  return count;
}

/** Key order between two nodes, either of which may be 0 for an open bound. */
function inOrder(a: usize, b: usize): bool {
  return a == 0 || b == 0 || before(a, b);
}
