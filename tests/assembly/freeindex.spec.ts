import { heapMalloc, heapFree, heapAllocate } from "../../assembly/heap";
import { heapRealloc } from "../../assembly/realloc";
import { heapLargestFree } from "../../assembly/queries";
import { settle } from "../../assembly/repair";
import { checkLiveBlock } from "../../assembly/pointers";
import { heapValidate } from "../../assembly/validate";
import { FAULT_INDEX_LINK, FAULT_BAD_FOOTER } from "../../assembly/faults";
import { indexCheck, indexLargest, indexResize, indexRemove, indexDamaged } from "../../assembly/freeindex";
import { HEAP_FREE_ROOT, HEAP_FREE_BLOCKS, HEAP_FAULT_REASON, POLICY_BEST_FIT, POLICY_FIRST_FIT, CONTROL_STATS } from "../../assembly/control";
import { statRead, STAT_LIVE_BLOCKS } from "../../assembly/stats";
import { HEADER_SIZE, freePriority, setFreePriority } from "../../assembly/block";
import { ERR_CORRUPTION, ERR_DOUBLE_FREE, errorResult } from "../../assembly/errors";
import { pendingFold } from "../../assembly/pending";
import { freshHeap } from "./fixture";

/**
 * 4,000 blocks of 16 + (i % 200) * 8 bytes with every even one freed: 2,000 holes whose block sizes
 * are 24 + 16j for j = (i % 200) / 2 (32 for j = 0: the smallest block), repeating every 200 blocks.
 */
function holes(policy: u32, ptrs: StaticArray<usize> = new StaticArray<usize>(4000)): usize {
  const heap = freshHeap(4 << 20, policy);
  for (let i = 0; i < 4000; i++) ptrs[i] = heapMalloc(heap, 16 + (<u32>i % 200) * 8);
  for (let i = 0; i < 4000; i += 2) heapFree(heap, ptrs[i]);
  pendingFold(heap); // the holes are new free blocks, pending until a request folds them in: the index under test
  return heap;
}

/** The largest block in the subtree at `node`, 0 for no node: its size or one of its side figures (+16 left, +20 right). */
function figure(node: usize): u32 {
  return node == 0 ? 0 : max(load<u32>(node) & ~7, max(load<u32>(node + 16), load<u32>(node + 20)));
}

/** The child of `tree` on the way to the indexed block `node` (first-fit: keyed by address). */
function towards(tree: usize, node: usize): usize {
  return load<u32>(tree + (node < tree ? 8 : 12));
}

/** How many links lie between the root and the indexed block `node`. */
function depthOf(heap: usize, node: usize): i32 {
  let depth = 0;
  for (let tree: usize = load<u32>(heap + HEAP_FREE_ROOT); tree != node; tree = towards(tree, node)) depth++;
  return depth;
}

/** The node `steps` links below the root on the way to the indexed block `node`. */
function onPathTo(heap: usize, node: usize, steps: i32): usize {
  let tree: usize = load<u32>(heap + HEAP_FREE_ROOT);
  for (let i = 0; i < steps; i++) tree = towards(tree, node);
  return tree;
}

describe("free index (treap)", () => {
  it("holds every free block in a well-formed tree", () => {
    const heap = holes(POLICY_FIRST_FIT);
    expect<i32>(indexCheck(heap)).toBe(<i32>load<u32>(heap + HEAP_FREE_BLOCKS));
    expect<u32>(load<u32>(heap + HEAP_FREE_BLOCKS)).toBe(2000, "the holes; the tail is the top, outside the index");
    expect<u32>(heapValidate(heap)).toBe(0);
  });

  it("first-fit finds the lowest-addressed fitting hole", () => {
    const ptrs = new StaticArray<usize>(4000);
    const heap = holes(POLICY_FIRST_FIT, ptrs);
    // a block of 1,008 bytes: the first hole of 24 + 16j >= 1008 is j = 62, that is i = 124
    expect<usize>(heapMalloc(heap, 1000)).toBe(ptrs[124]);
    expect<usize>(heapMalloc(heap, 1000)).toBe(ptrs[126]);
  });

  it("best-fit finds the smallest fitting hole", () => {
    const ptrs = new StaticArray<usize>(4000);
    const heap = holes(POLICY_BEST_FIT, ptrs);
    // a block of 512 bytes: the smallest hole of 24 + 16j >= 512 is 520 (j = 31, i = 62)
    expect<usize>(heapMalloc(heap, 500)).toBe(ptrs[62], "the lowest address among the 520-byte holes");
    expect<u32>(load<u32>(ptrs[62] - HEADER_SIZE) & ~7).toBe(520);
    expect<usize>(heapMalloc(heap, 500)).toBe(ptrs[262], "then the next one of that size");
  });

  it("a block that takes another's place inherits its priority: the rest of a split, a merge with a right neighbour", () => {
    const heap = freshHeap(65536);
    const a = heapMalloc(heap, 2000);
    heapMalloc(heap, 16); // keeps a's block from joining the top
    heapFree(heap, a);
    pendingFold(heap); // (a request would fold it in: its rank is drawn as it enters the index)
    const hole = a - HEADER_SIZE;
    const rank = freePriority(hole);
    expect<usize>(heapMalloc(heap, 100)).toBe(a, "first-fit splits the hole's front");
    expect<u32>(freePriority(hole + 112)).toBe(rank, "the rest holds the hole's rank");
    // Freeing the front again merges it with that rest, on its right: the merged block starts lower, at the rest's rank.
    expect<u32>(heapFree(heap, a)).toBe(0);
    expect<u32>(load<u32>(hole) & ~7).toBe(2008, "merged back whole");
    expect<u32>(freePriority(hole)).toBe(rank);
    expect<u32>(heapValidate(heap)).toBe(0, "and the heap order holds");
  });

  it("knows the largest free block in O(1), the top's included", () => {
    const heap = freshHeap(65536);
    expect<u32>(indexLargest(heap)).toBe(0, "the whole pool is the top");
    expect<u32>(heapLargestFree(heap)).toBe(65536 - 8 - 8);
    const a = heapMalloc(heap, 1000);
    heapMalloc(heap, 8);
    expect<u32>(heapLargestFree(heap)).toBe(65536 - 8 - 1008 - 32 - 8);
    heapFree(heap, a);
    expect<u32>(heapLargestFree(heap)).toBe(65536 - 8 - 1008 - 32 - 8, "the top still; a's block, pending, is counted too");
    pendingFold(heap);
    expect<u32>(indexLargest(heap)).toBe(1008);
  });

  it("validation finds damage that stays inside the pool: a wrong side figure, key order, heap order", () => {
    const heap = holes(POLICY_FIRST_FIT);
    let root: usize = load<u32>(heap + HEAP_FREE_ROOT);
    store<u32>(root + 20, load<u32>(root + 20) + 8); // the root's figure for its right subtree
    expect<i32>(indexCheck(heap)).toBe(-1, "a figure that no block has");
    expect<u32>(heapValidate(heap)).toBe(FAULT_INDEX_LINK);
    expect<i32>(indexCheck(heap)).toBe(2000, "validation rebuilt the index");
    root = load<u32>(heap + HEAP_FREE_ROOT);
    store<u32>(root + 16, load<u32>(root + 16) - 8); // and for its left one: a figure below the block it stands for
    expect<i32>(indexCheck(heap)).toBe(-1, "a figure lower than a block below it");
    expect<u32>(heapValidate(heap)).toBe(FAULT_INDEX_LINK);
    expect<i32>(indexCheck(heap)).toBe(2000, "validation rebuilt the index");

    root = load<u32>(heap + HEAP_FREE_ROOT);
    const left: usize = load<u32>(root + 8);
    const right: usize = load<u32>(root + 12);
    store<u32>(root + 8, <u32>right); // children swapped: links in the pool, key order broken
    store<u32>(root + 12, <u32>left);
    expect<i32>(indexCheck(heap)).toBe(-1, "the left subtree holds higher addresses");
    expect<u32>(heapValidate(heap)).toBe(FAULT_INDEX_LINK);

    // A rotation that ignores the priorities: key order and the side figures stay right, heap order does not.
    root = load<u32>(heap + HEAP_FREE_ROOT);
    const pivot: usize = load<u32>(root + 8);
    store<u32>(root + 8, load<u32>(pivot + 12)); // the pivot's right subtree becomes the root's left one
    store<u32>(root + 16, figure(load<u32>(root + 8)));
    store<u32>(pivot + 12, <u32>root);
    store<u32>(pivot + 20, figure(root));
    store<u32>(heap + HEAP_FREE_ROOT, <u32>pivot);
    // With the two priorities swapped the rotated tree is a sound treap: the figures set above are right.
    const rootRank = freePriority(root);
    const pivotRank = freePriority(pivot);
    setFreePriority(root, pivotRank);
    setFreePriority(pivot, rootRank);
    expect<i32>(indexCheck(heap)).toBe(2000, "the rotation itself keeps key order and figures");
    setFreePriority(root, rootRank);
    setFreePriority(pivot, pivotRank);
    expect<i32>(indexCheck(heap)).toBe(-1, "a child that outranks its parent");
    expect<u32>(heapValidate(heap)).toBe(FAULT_INDEX_LINK);
    expect<u32>(heapValidate(heap)).toBe(0, "and rebuilt again");
  });

  it("a first-fit take lowers the figures it leaves behind, and only those", () => {
    const ptrs = new StaticArray<usize>(4000);
    const heap = holes(POLICY_FIRST_FIT, ptrs);
    // The 20 largest holes (1,608 bytes) are blocks 198, 398, ...: taking them one by one from the
    // lowest, each take lowers the figures of the nodes above it whose largest block it was.
    for (let i = 198; i < 4000; i += 200) {
      expect<usize>(heapMalloc(heap, 1600)).toBe(ptrs[i], "the lowest 1,608-byte hole, taken whole");
      expect<i32>(indexCheck(heap)).toBe(<i32>load<u32>(heap + HEAP_FREE_BLOCKS), "every figure right after the take");
    }
    expect<u32>(indexLargest(heap)).toBe(1592, "the largest hole left");
    expect<usize>(heapMalloc(heap, 1576)).toBe(ptrs[196], "the lowest hole of 1,592 bytes");
    expect<i32>(indexCheck(heap)).toBe(2000 - 21, "taken whole (8 bytes more than asked: too few to stay free)");
  });

  it("a take that refuses a damaged block deep in the tree leaves every link on its way down as it was", () => {
    const ptrs = new StaticArray<usize>(4000);
    const heap = holes(POLICY_FIRST_FIT, ptrs);
    const target = ptrs[198] - HEADER_SIZE; // the lowest of the largest holes (1,608 bytes)
    expect<i32>(depthOf(heap, target)).toBeGreaterThan(2, "the walk to it passes nodes on the way");
    store<u32>(target + 1608 - 4, 1600); // its footer
    expect<usize>(settle(heap, heapMalloc(heap, 1600))).toBe(errorResult(ERR_CORRUPTION), "the take refuses it");
    expect<u32>(load<u32>(heap + HEAP_FAULT_REASON)).toBe(FAULT_BAD_FOOTER, "reported as the block's damage: the index was not");
    expect<i32>(indexCheck(heap)).toBe(2000 - 1, "every link as it was, the damaged block left out");
    expect<usize>(heapMalloc(heap, 1600)).toBe(ptrs[398], "the next hole of that size is found");
  });

  it("a free that coalesces raises the figures on its way down to the block that grows", () => {
    const ptrs = new StaticArray<usize>(4000);
    const heap = holes(POLICY_FIRST_FIT, ptrs);
    expect<usize>(heapMalloc(heap, 16)).toBe(ptrs[0], "the first hole (32 bytes) taken whole");
    expect<u32>(heapFree(heap, ptrs[1])).toBe(0, "a used left neighbour, a free right one: takes its place");
    expect<u32>(load<u32>(ptrs[1] - HEADER_SIZE) & ~7).toBe(32 + 40, "blocks 1 and 2 merged");
    // Blocks 3996 (a hole), 3997 and 3998 (a hole): 1,592 + 1,600 + 1,608 bytes, more than any other hole.
    expect<u32>(heapFree(heap, ptrs[3997])).toBe(0, "free neighbours on both sides: the left one grows");
    expect<u32>(load<u32>(ptrs[3996] - HEADER_SIZE) & ~7).toBe(1592 + 1600 + 1608);
    expect<u32>(indexLargest(heap)).toBe(1592 + 1600 + 1608, "the root's figure, raised on the way down");
    expect<i32>(indexCheck(heap)).toBe(1998, "and every figure on the way");
    expect<u32>(heapValidate(heap)).toBe(0);
  });

  it("a free that coalesces meets a damaged link on its way down: the index rebuilt, the damage recorded, and the free done", () => {
    const ptrs = new StaticArray<usize>(4000);
    const heap = holes(POLICY_FIRST_FIT, ptrs);
    expect<usize>(heapMalloc(heap, 16)).toBe(ptrs[0]);
    const root: usize = load<u32>(heap + HEAP_FREE_ROOT);
    expect<usize>(root).not.toBe(ptrs[2] - HEADER_SIZE, "the hole to merge with lies below the root");
    store<u32>(root + 8, 0xffff_fff8); // both links of the root: the walk down to that hole meets one
    store<u32>(root + 12, 0x7fff_fff8);
    // Its block is released before the merge meets the link: an error would tell the caller it is
    // still theirs (heap.ts released).
    expect<usize>(heapFree(heap, ptrs[1])).toBe(0, "the free meets the link, and is done");
    expect<bool>(indexDamaged()).toBe(false, "repaired within the call");
    expect<u32>(load<u32>(heap + HEAP_FAULT_REASON)).toBe(FAULT_INDEX_LINK, "the damage recorded");
    expect<u32>(checkLiveBlock(heap, ptrs[1])).toBe(ERR_DOUBLE_FREE, "the block is free");
    expect<u32>(heapValidate(heap)).toBe(0, "the index was rebuilt");
    expect<u32>(load<u32>(ptrs[1] - HEADER_SIZE) & ~7).toBe(32 + 40, "with the merged block in it");
    expect<usize>(heapMalloc(heap, 60)).toBe(ptrs[1], "which first-fit finds");
  });

  it("an insertion meets a damaged link on its way down or in the subtree it splits: corruption, and the index rebuilt", () => {
    const ptrs = new StaticArray<usize>(4000);
    const heap = holes(POLICY_FIRST_FIT, ptrs);
    expect<usize>(heapMalloc(heap, 16)).toBe(ptrs[0], "hole 0 (32 bytes) taken whole");
    expect<usize>(heapMalloc(heap, 24)).toBe(ptrs[2], "hole 2 (40 bytes) taken whole: block 1 has used neighbours");
    const root: usize = load<u32>(heap + HEAP_FREE_ROOT);
    // Both links of the root lead out of the pool: an insertion goes down past the root, or splits
    // the root's subtree when the new block outranks it; either way it meets one.
    store<u32>(root + 8, 0xffff_fff8);
    store<u32>(root + 12, 0x7fff_fff8);
    expect<u32>(heapFree(heap, ptrs[1])).toBe(0, "pending: no walk yet");
    expect<usize>(settle(heap, heapMalloc(heap, 16))).toBe(errorResult(ERR_CORRUPTION), "the insertion (a request folds it in) meets the links");
    expect<u32>(heapValidate(heap)).toBe(0, "the index was rebuilt");
    expect<u32>(load<u32>(heap + HEAP_FREE_BLOCKS)).toBe(2000 - 2 + 1, "with the freed block in it");
    expect<usize>(heapMalloc(heap, 16)).toBe(ptrs[1], "which first-fit finds");
  });

  it("a damaged link is reported as corruption, never followed, and the index is rebuilt", () => {
    const heap = holes(POLICY_FIRST_FIT);
    const root: usize = load<u32>(heap + HEAP_FREE_ROOT);
    store<u32>(root + 8, 0xdead_beef); // the root's left link: out of the pool
    expect<u32>(heapValidate(heap)).toBe(FAULT_INDEX_LINK, "validate meets the link");
    expect<u32>(heapValidate(heap)).toBe(0, "validation rebuilt the index");
    const root2: usize = load<u32>(heap + HEAP_FREE_ROOT);
    store<u32>(root2 + 8, 0x7fff_fff8); // its left link: outside the pool, looked at by any descent
    store<u32>(root2 + 12, 0xffff_fff8); // and its right link
    const result = settle(heap, heapAllocate(heap, 500, 8)); // fits holes in the index: the walk meets the links
    expect<u32>(result).toBe(errorResult(ERR_CORRUPTION), "the allocation meets the links");
    expect<u32>(heapValidate(heap)).toBe(0, "the allocation rebuilt it");
    expect<usize>(heapMalloc(heap, 100)).toBeGreaterThan(0, "and the heap goes on");
  });

  it("a take that meets a damaged link but finds a block anyway hands nothing out: corruption, nothing lost", () => {
    const heap = holes(POLICY_FIRST_FIT);
    const root: usize = load<u32>(heap + HEAP_FREE_ROOT);
    store<u32>(root + 8, 0x7fff_fff8); // its left link: out of the pool, followed as the take looks left first
    const rootSize = load<u32>(root) & ~7;
    expect<u32>(load<u32>(root + 16)).toBeGreaterThanOrEqual(rootSize, "the left figure promises a block as large as the root");
    const liveBefore = statRead(heap + CONTROL_STATS, STAT_LIVE_BLOCKS);
    // The root itself fits: the take notes the damage, then finds the root.
    expect<usize>(settle(heap, heapMalloc(heap, rootSize - HEADER_SIZE))).toBe(errorResult(ERR_CORRUPTION));
    expect<u64>(statRead(heap + CONTROL_STATS, STAT_LIVE_BLOCKS)).toBe(liveBefore, "no block handed out");
    expect<u32>(heapValidate(heap)).toBe(0, "the index was rebuilt");
    expect<u32>(load<u32>(heap + HEAP_FREE_BLOCKS)).toBe(2000, "with every hole in it, the root's among them");
  });

  it("a removal whose node has a child link out of the pool: the link is never followed, the index rebuilt, the free done", () => {
    const ptrs = new StaticArray<usize>(4000);
    const heap = holes(POLICY_FIRST_FIT, ptrs);
    const hole = ptrs[400] - HEADER_SIZE; // ptrs[399]'s right neighbour: freeing 399 merges both holes and takes this one out
    expect<i32>(depthOf(heap, hole)).toBeGreaterThan(0);
    store<u32>(hole + 8, 0x7fff_fff8); // its left link: the merge of its children meets it
    expect<u32>(heapFree(heap, ptrs[399])).toBe(0);
    expect<u32>(load<u32>(heap + HEAP_FAULT_REASON)).toBe(FAULT_INDEX_LINK, "the damage recorded");
    expect<u32>(heapValidate(heap)).toBe(0, "the index was rebuilt");
    expect<u32>(load<u32>(heap + HEAP_FREE_BLOCKS)).toBe(1999, "399 and its two holes are one free block");
  });

  it("a realloc that meets a damaged link after moving its block completes: the index repaired, the new block returned", () => {
    const ptrs = new StaticArray<usize>(4000);
    const heap = holes(POLICY_FIRST_FIT, ptrs);
    const hole = ptrs[2] - HEADER_SIZE; // block 1's right neighbour: freeing block 1 merges with it
    expect<i32>(depthOf(heap, hole)).toBeGreaterThan(2);
    const second = onPathTo(heap, hole, 1);
    store<u32>(second + (hole < second ? 8 : 12), 0x7fff_fff8); // the walk to the hole meets it
    store<u32>(ptrs[1], 0x1234_5678);
    const liveBefore = statRead(heap + CONTROL_STATS, STAT_LIVE_BLOCKS);
    // Larger than any hole: taken from the top, so the search meets nothing; the release of the
    // old block (merging with its neighbour) does.
    const moved = settle(heap, heapRealloc(heap, ptrs[1], 4000));
    expect<usize>(moved).toBeLessThan(0xffff_fff0, "a pointer, not CORRUPTION");
    expect<u32>(load<u32>(moved)).toBe(0x1234_5678, "with the bytes");
    expect<u32>(load<u32>(heap + HEAP_FAULT_REASON)).toBe(FAULT_INDEX_LINK, "the damage recorded");
    expect<u64>(statRead(heap + CONTROL_STATS, STAT_LIVE_BLOCKS)).toBe(liveBefore);
    expect<u32>(heapValidate(heap)).toBe(0, "the index was rebuilt");
    expect<u32>(checkLiveBlock(heap, ptrs[1])).toBe(ERR_DOUBLE_FREE, "the old block freed");
  });

  it("a walk down to a known block that meets a damaged link leaves every link it passed as it was", () => {
    const ptrs = new StaticArray<usize>(4000);
    const heap = holes(POLICY_FIRST_FIT, ptrs);
    const target = ptrs[198] - HEADER_SIZE; // a hole of 1,608 bytes
    expect<i32>(depthOf(heap, target)).toBeGreaterThan(2);
    const first = onPathTo(heap, target, 0);
    const second = onPathTo(heap, target, 1);
    const third = onPathTo(heap, target, 2);
    const before0 = load<u64>(first + 8); // both links of a node, as one word
    const before1 = load<u64>(second + 8);
    const damagedLink = third + (target < third ? 8 : 12);
    store<u32>(damagedLink, 0x7fff_fff8); // out of the pool: the walks below stop there
    // A block that shrinks in its place (a realloc growing into it), then a removal: each walks
    // down two links and meets the damaged one.
    indexResize(heap, target, 1608 - 24);
    expect<bool>(indexDamaged()).toBe(true, "the shrink met the link");
    expect<u64>(load<u64>(first + 8)).toBe(before0, "the root's links as they were");
    expect<u64>(load<u64>(second + 8)).toBe(before1, "and the next node's");
    expect<u32>(load<u32>(damagedLink)).toBe(0x7fff_fff8, "nothing put in the damaged link's place");
    indexRemove(heap, target);
    expect<u64>(load<u64>(first + 8)).toBe(before0, "the removal left them too");
    expect<u64>(load<u64>(second + 8)).toBe(before1);
    expect<u32>(load<u32>(damagedLink)).toBe(0x7fff_fff8);
  });

  it("a link that leads back up (a cycle) is caught by the depth bound on every walk: the damage recorded, the index rebuilt", () => {
    // 0: a free of a block with used neighbours, whose insertion a request makes (pending.ts), 1: a
    // malloc that takes, 2: a free that coalesces (grows a block in place).
    for (let walk = 0; walk < 3; walk++) {
      const ptrs = new StaticArray<usize>(4000);
      const heap = holes(POLICY_FIRST_FIT, ptrs);
      expect<usize>(heapMalloc(heap, 16)).toBe(ptrs[0], "hole 0 (32 bytes) taken whole");
      expect<usize>(heapMalloc(heap, 24)).toBe(ptrs[2], "hole 2 taken whole: block 1 has used neighbours");
      const root: usize = load<u32>(heap + HEAP_FREE_ROOT);
      store<u32>(root + 8, <u32>root); // both its links lead back to itself: in the pool, aligned, a cycle
      store<u32>(root + 12, <u32>root);
      store<u32>(root + 16, 0xffff_fff8); // and its left figure promises a fit below it to any request
      if (walk == 0) heapFree(heap, ptrs[1]);
      const result = walk == 0 ? heapMalloc(heap, 16) : walk == 1 ? heapMalloc(heap, 64) : heapFree(heap, ptrs[3]);
      // A free's block is released before its merge meets the cycle: it is done, the damage repaired.
      expect<usize>(settle(heap, result)).toBe(walk == 2 ? 0 : errorResult(ERR_CORRUPTION), "walk " + walk.toString());
      expect<u32>(load<u32>(heap + HEAP_FAULT_REASON)).toBe(FAULT_INDEX_LINK, "recorded, walk " + walk.toString());
      expect<u32>(heapValidate(heap)).toBe(0, "the index was rebuilt");
      expect<i32>(indexCheck(heap)).toBe(<i32>load<u32>(heap + HEAP_FREE_BLOCKS));
    }
  });

  it("a link inside the pool but not at a block boundary (8-aligned) is not followed either", () => {
    const heap = holes(POLICY_FIRST_FIT);
    const root: usize = load<u32>(heap + HEAP_FREE_ROOT);
    store<u32>(heap + HEAP_FREE_ROOT, <u32>(root + 4));
    expect<u32>(indexLargest(heap)).toBe(0, "the figure behind it is not read");
    expect<usize>(settle(heap, 1)).toBe(errorResult(ERR_CORRUPTION), "reported");
    expect<usize>(load<u32>(heap + HEAP_FREE_ROOT)).toBe(root, "and the index rebuilt as it was");
    expect<i32>(indexCheck(heap)).toBe(2000);
  });
});
