// Taking a lock over from a face whose thread ended inside a call (lock.ts lockTakeOver), and the
// repairs that follow (repair.ts heapAfterTakeOver, stack.ts stackAfterTakeOver): each call that may
// be cut short is cut short here by hand, between the steps a real call makes.
import { lockAcquire, lockRelease, lockSetFace, lockTakeOver } from "../../assembly/lock";
import { heapMalloc, heapFree, allocateBlock } from "../../assembly/heap";
import { heapAfterTakeOver } from "../../assembly/repair";
import { heapValidate } from "../../assembly/validate";
import { stackInit, stackPush, stackDepth, stackAfterTakeOver, STACK_TOP, STACK_LAST } from "../../assembly/stack";
import { CONTROL_LOCK, CONTROL_HOLDER, CONTROL_SIZE, CONTROL_STATS, OPTION_NO_CACHES, HEAP_FAULT_REASON, HEAP_FAULT_BLOCK } from "../../assembly/control";
import { PROT_READ_WRITE, HEADER_SIZE, blockSize, isCondemned } from "../../assembly/block";
import { STAT_LIVE_BLOCKS, STAT_CURRENT_USAGE, statRead } from "../../assembly/stats";
import { FAULT_CONDEMNED } from "../../assembly/faults";
import { freshHeap } from "./fixture";

const LOCKED: i32 = 0x10cc_ed01; // lock.ts: taken, nobody sleeping

function freshStack(bytes: u32): usize {
  const base = <usize>memory.grow(<i32>((bytes + <u32>CONTROL_SIZE + 65535) / 65536)) * 65536;
  expect<u32>(stackInit(base, bytes, 8)).toBe(0);
  return base;
}

describe("lockTakeOver", () => {
  it("takes the lock over only from the face the holder word names, and only while the lock is taken", () => {
    const heap = freshHeap(4096);
    const word = heap + CONTROL_LOCK;
    lockSetFace(77);
    expect<bool>(lockTakeOver(word, 5)).toBe(false, "the lock is free");
    lockAcquire(word);
    expect<u32>(load<u32>(heap + CONTROL_HOLDER)).toBe(77, "the holder names itself");
    lockRelease(word);
    expect<u32>(load<u32>(heap + CONTROL_HOLDER)).toBe(0, "and clears its name as it lets go");
    // Face 5 took the lock and its thread ended.
    store<i32>(word, LOCKED);
    store<u32>(heap + CONTROL_HOLDER, 5);
    expect<bool>(lockTakeOver(word, 6)).toBe(false, "another face's name");
    expect<bool>(lockTakeOver(word, 0)).toBe(false, "no name");
    expect<u32>(load<u32>(heap + CONTROL_HOLDER)).toBe(5, "nothing changed");
    expect<bool>(lockTakeOver(word, 5)).toBe(true);
    expect<u32>(load<u32>(heap + CONTROL_HOLDER)).toBe(77, "this face holds it now");
    expect<bool>(lockTakeOver(word, 5)).toBe(false, "once: a second taker loses");
    lockRelease(word);
    expect<i32>(load<i32>(word)).toBe(0);
  });
});

describe("heapAfterTakeOver", () => {
  it("a malloc cut short between carving its block and counting it: the statistics are recounted", () => {
    const heap = freshHeap(16384, 0, 8, 0, 0); // caches on
    const a = heapMalloc(heap, 100);
    const b = heapMalloc(heap, 40);
    heapMalloc(heap, 60);
    expect<u32>(heapFree(heap, b)).toBe(0); // parked in a small-block cache
    const carved = allocateBlock(heap, 300, 8, PROT_READ_WRITE); // its block, and no count
    expect<usize>(carved).toBeGreaterThan(0);
    expect<u64>(statRead(heap + CONTROL_STATS, STAT_LIVE_BLOCKS)).toBe(2, "the record lags the blocks");
    expect<bool>(heapAfterTakeOver(heap)).toBe(true, "no header left half written");
    expect<u32>(heapValidate(heap)).toBe(0);
    expect<u64>(statRead(heap + CONTROL_STATS, STAT_LIVE_BLOCKS)).toBe(3, "a, the 60-byte block, the carved one");
    expect<u64>(statRead(heap + CONTROL_STATS, STAT_CURRENT_USAGE)).toBe(100 + 60 + 300);
    expect<u32>(heapFree(heap, a)).toBe(0, "the heap goes on");
    expect<u32>(heapValidate(heap)).toBe(0);
  });

  it("a call cut short while it wrote a header: the block is condemned and named, the take-over reports it", () => {
    const heap = freshHeap(16384, 0, 8, 0, 0);
    heapMalloc(heap, 100);
    const half = heapMalloc(heap, 40) - HEADER_SIZE;
    const after = heapMalloc(heap, 60) - HEADER_SIZE;
    store<u32>(half, load<u32>(half, 4) & 0xffff, 4); // its size written, its magic not yet
    expect<bool>(heapAfterTakeOver(heap)).toBe(false);
    expect<u32>(load<u32>(heap + HEAP_FAULT_REASON)).toBe(FAULT_CONDEMNED);
    expect<u32>(load<u32>(heap + HEAP_FAULT_BLOCK)).toBe(<u32>half);
    expect<bool>(isCondemned(half)).toBe(true);
    expect<usize>(half + blockSize(half)).toBe(after, "at its own size: its size word led on");
    expect<u32>(heapValidate(heap)).toBe(0, "the heap holds again");
    expect<u32>(heapFree(heap, after + HEADER_SIZE)).toBe(0, "and goes on");
  });
});

describe("stackAfterTakeOver", () => {
  it("a pop cut short after it moved the top: the block it was popping stays, the top back at its end", () => {
    const stack = freshStack(4096);
    stackPush(stack, 16, 0);
    stackPush(stack, 24, 0);
    const c = stackPush(stack, 40, 0);
    const top = load<u32>(stack + STACK_TOP);
    store<u32>(stack + STACK_TOP, load<u32>(c - 16)); // the pop's first store: the top c was pushed at
    expect<bool>(stackAfterTakeOver(stack)).toBe(true);
    expect<u32>(load<u32>(stack + STACK_TOP)).toBe(top);
    expect<u32>(stackDepth(stack)).toBe(3);
    expect<u64>(statRead(stack + CONTROL_STATS, STAT_LIVE_BLOCKS)).toBe(3);
    expect<u64>(statRead(stack + CONTROL_STATS, STAT_CURRENT_USAGE)).toBe(16 + 24 + 40);
  });

  it("a push cut short before it linked its block: the block is dropped, the top and statistics back", () => {
    const stack = freshStack(4096);
    const a = stackPush(stack, 16, 0);
    const top = load<u32>(stack + STACK_TOP);
    // The push of a 64-byte block wrote its header and moved the top, then stopped.
    const d = top + 16;
    store<u32>(d - 16, top);
    store<u32>(d - 12, <u32>a);
    store<u32>(d - 8, 64);
    store<u32>(stack + STACK_TOP, <u32>d + 64);
    expect<bool>(stackAfterTakeOver(stack)).toBe(true);
    expect<u32>(load<u32>(stack + STACK_TOP)).toBe(top);
    expect<usize>(load<u32>(stack + STACK_LAST)).toBe(a);
    expect<u32>(stackDepth(stack)).toBe(1);
    expect<u64>(statRead(stack + CONTROL_STATS, STAT_CURRENT_USAGE)).toBe(16);
  });

  it("a header that does not hold: false, and nothing changes", () => {
    const stack = freshStack(4096);
    stackPush(stack, 16, 0);
    const b = stackPush(stack, 24, 0);
    const top = load<u32>(stack + STACK_TOP);
    store<u32>(b - 4, load<u32>(b - 4) ^ 1); // b's tag
    expect<bool>(stackAfterTakeOver(stack)).toBe(false);
    expect<u32>(load<u32>(stack + STACK_TOP)).toBe(top);
    expect<u32>(stackDepth(stack)).toBe(2);
  });
});
