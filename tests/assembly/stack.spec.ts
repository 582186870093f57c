import { stackInit, stackPush, stackPop, stackMark, stackReset, stackClear, stackUsed, stackDepth, stackBlockSize, STACK_MAGIC } from "../../assembly/stack";
import { ERR_STACK_ORDER, ERR_STACK_EMPTY, ERR_INVALID_POINTER, ERR_CORRUPTION, errorResult } from "../../assembly/errors";
import { CONTROL_SIZE, CONTROL_STATS } from "../../assembly/control";
import { STAT_CURRENT_USAGE, STAT_FAILED_ALLOCATIONS, statRead } from "../../assembly/stats";

function freshStack(bytes: u32, alignment: u32 = 8): usize {
  const base = <usize>memory.grow(<i32>((bytes + <u32>CONTROL_SIZE + 65535) / 65536)) * 65536;
  expect<u32>(stackInit(base, bytes, alignment)).toBe(0);
  return base;
}

describe("stack allocator", () => {
  it("bumps the top by header, payload and padding", () => {
    const stack = freshStack(4096);
    const a = stackPush(stack, 10, 0);
    expect<usize>(a).toBe(stack + CONTROL_SIZE + 16, "16-byte header, then the payload");
    expect<u32>(stackUsed(stack)).toBe(32, "10 bytes rounded up to 8");
    const b = stackPush(stack, 8, 256);
    expect<usize>(b & 255).toBe(0);
    expect<u32>(stackDepth(stack)).toBe(2);
  });

  it("pops exactly back over the alignment padding", () => {
    const stack = freshStack(8192);
    stackPush(stack, 24, 0);
    const before = stackUsed(stack);
    const b = stackPush(stack, 100, 1024);
    expect<u32>(stackPop(stack, b)).toBe(0);
    expect<u32>(stackUsed(stack)).toBe(before);
  });

  it("refuses pops out of order and on an empty stack", () => {
    const stack = freshStack(4096);
    const a = stackPush(stack, 16, 0);
    stackPush(stack, 16, 0);
    expect<u32>(stackPop(stack, a)).toBe(errorResult(ERR_STACK_ORDER));
    expect<u32>(stackDepth(stack)).toBe(2, "nothing changed");
    stackPop(stack, 0);
    stackPop(stack, 0);
    expect<u32>(stackPop(stack, 0)).toBe(errorResult(ERR_STACK_EMPTY));
  });

  it("resets to a mark and clears", () => {
    const stack = freshStack(4096);
    stackPush(stack, 16, 0);
    const mark = stackMark(stack);
    stackPush(stack, 100, 0);
    stackPush(stack, 200, 64);
    expect<u32>(stackReset(stack, mark)).toBe(0);
    expect<u32>(stackMark(stack)).toBe(mark);
    expect<u32>(stackDepth(stack)).toBe(1);
    expect<u32>(stackReset(stack, mark + 8)).toBe(errorResult(ERR_STACK_ORDER), "above the top");
    expect<u32>(stackReset(stack, stack + CONTROL_SIZE - 8)).toBe(errorResult(ERR_STACK_ORDER), "below the pool");
    expect<u32>(stackDepth(stack)).toBe(1, "nothing popped");
    stackClear(stack);
    expect<u32>(stackDepth(stack)).toBe(0);
    expect<u64>(statRead(stack + CONTROL_STATS, STAT_CURRENT_USAGE)).toBe(0);
  });

  it("fails a push that does not fit, counting it", () => {
    const stack = freshStack(256);
    expect<usize>(stackPush(stack, 300, 0)).toBe(0);
    expect<u64>(statRead(stack + CONTROL_STATS, STAT_FAILED_ALLOCATIONS)).toBe(1);
  });

  it("knows its blocks in O(1)", () => {
    const stack = freshStack(4096);
    const a = stackPush(stack, 40, 0);
    expect<u32>(stackBlockSize(stack, a)).toBe(40);
    expect<u32>(stackBlockSize(stack, a + 8)).toBe(errorResult(ERR_INVALID_POINTER));
    stackPop(stack, a);
    expect<u32>(stackBlockSize(stack, a)).toBe(errorResult(ERR_INVALID_POINTER), "popped");
    // A popped block's header survives where the next push, aligned higher, starts past it: that
    // block's bytes reach past the new top.
    const stale = stackPush(stack, 100, 0);
    stackPop(stack, stale);
    const next = stackPush(stack, 8, 64);
    expect<usize>(next).toBeGreaterThanOrEqual(stale + 16, "the stale header left whole");
    expect<usize>(next).toBeLessThan(stale + 100);
    expect<u32>(stackBlockSize(stack, stale)).toBe(errorResult(ERR_INVALID_POINTER), "popped, under the top");
  });

  it("a pop refuses a most recent block whose header a stray write changed", () => {
    const stack = freshStack(4096);
    stackPush(stack, 16, 0);
    const b = stackPush(stack, 16, 0);
    const tag = load<u32>(b - 4);
    store<u32>(b - 4, tag ^ 1);
    expect<u32>(stackPop(stack, b)).toBe(errorResult(ERR_CORRUPTION), "its tag");
    expect<u32>(stackDepth(stack)).toBe(2, "nothing popped");
    store<u32>(b - 4, tag);
    expect<u32>(stackPop(stack, b)).toBe(0);
  });

  it("a pop refuses a most recent block any one of whose header words or links a stray write broke", () => {
    const stack = freshStack(4096);
    const start = stack + CONTROL_SIZE;
    stackPush(stack, 16, 0);
    const b = stackPush(stack, 40, 0);
    const c = stackPush(stack, 24, 0);
    const top = load<u32>(stack + 16);
    // [address, broken value]: c's previous top above its own header and below the pool; its link
    // to the block below at itself, above it, below the pool's first payload, and none (3 deep);
    // the stack's own link to it above the top and misaligned.
    const breaks: u32[][] = [
      [<u32>c - 16, <u32>c - 8], [<u32>c - 16, <u32>start - 8],
      [<u32>c - 12, <u32>c], [<u32>c - 12, <u32>c + 8], [<u32>c - 12, <u32>start], [<u32>c - 12, 0],
      [<u32>stack + 20, top + 16], [<u32>stack + 20, <u32>c + 4],
    ];
    for (let i = 0; i < breaks.length; i++) {
      const at = <usize>breaks[i][0];
      const kept = load<u32>(at);
      store<u32>(at, breaks[i][1]);
      expect<u32>(stackPop(stack, 0)).toBe(errorResult(ERR_CORRUPTION), "break " + i.toString());
      expect<u32>(stackDepth(stack)).toBe(3, "nothing popped at break " + i.toString());
      store<u32>(at, kept);
    }
    expect<u32>(stackPop(stack, c)).toBe(0, "mended, it pops");
    expect<u32>(stackPop(stack, b)).toBe(0);
    expect<u32>(stackPop(stack, 0)).toBe(0, "the bottom block, its link 0 at depth 1");
    expect<u32>(stackUsed(stack)).toBe(0);
  });

  it("a pop refuses a block below that is misaligned, however well its header is forged", () => {
    const stack = freshStack(4096);
    const start = stack + CONTROL_SIZE;
    const a = stackPush(stack, 64, 0);
    const b = stackPush(stack, 16, 0);
    // b's link to the block below leads 4 bytes into a's payload, where a block is forged: its
    // previous top (a's link word) the pool's start, no block below it (a's size word), its tag.
    const fake = a + 4;
    store<u32>(fake - 16, <u32>start);
    store<u32>(fake - 12, 0);
    store<u32>(fake - 4, STACK_MAGIC ^ <u32>fake);
    store<u32>(b - 12, <u32>fake);
    expect<u32>(stackPop(stack, b)).toBe(0, "b itself holds");
    expect<u32>(stackPop(stack, 0)).toBe(errorResult(ERR_CORRUPTION), "the forged block is not followed");
  });
});
