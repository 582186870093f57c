// Checks mode (the `checks` option): red zones after every block and junk in freed memory, in the
// manner of AddressSanitizer's red zones and debug CRTs' fill bytes.
//
//    a used block in checks mode:
//    ┌────────┬──────────────────────────────┬──────────────┐
//    │ header │ payload: `requested` bytes   │ red zone     │   the red zone is the slack, at
//    │        │                              │ CANARY bytes │   least 1 byte (need + 1), up to
//    └────────┴──────────────────────────────┴──────────────┘   the end of the block
//
//    a free block in checks mode:
//    ┌────────┬────────────┬─────────────────────────────┬────────┐
//    │ header │ index node │ JUNK bytes                  │ footer │
//    └────────┴────────────┴─────────────────────────────┴────────┘
//    the top (the free block that ends at the sentinel, never indexed: no node):
//    ┌────────┬──────────────────────────────────────────┬────────┐
//    │ header │ JUNK bytes                               │ footer │
//    └────────┴──────────────────────────────────────────┴────────┘
//
// A write past the requested size changes a CANARY byte: found on free, realloc and validate().
// Each detection is reported once: the red zone or the junk is laid again after the report.
// A write after free changes a JUNK byte: found when those bytes are handed out again and by a
// deep validate(). One into an index node (the first 16 bytes of a freed payload, where a freed
// struct's first fields are) is found by the node's own check when its block is handed out
// (freeindex.ts nodeHolds), by a walk that meets the damage, or by validate(). All are CORRUPTION
// faults naming the block, what was found and what was expected.
// Costs: the red zone is checked in O(slack); junk is written on free and checked on hand-out in
// O(bytes handed out or freed), never over a whole free block on the hot path.
// A free also validates the whole heap first (validate.ts, without the junk of every free block),
// so that damage anywhere stops the free before it changes anything: O(blocks), on every free by
// default, or on every n-th (validateEvery; at 100,000 live blocks a free that walks took 1.4 ms).
// The freed block's own red zone and its neighbours' headers are checked on every free regardless
// (pointers.ts, heap.ts). The count of frees left is the control block's freesToValidation.

import { HEADER_SIZE, FOOTER_SIZE, usableBytes, requestedBytes } from "./block";
import { HEAP_OPTIONS, OPTION_CHECKS, OPTION_VALIDATE_EVERY_SHIFT, HEAP_FREES_TO_VALIDATION } from "./control";
import { FAULT_CANARY, FAULT_WRITE_AFTER_FREE, recordFault } from "./faults";

export const CANARY: u8 = 0xcb;
export const JUNK: u8 = 0xdd;
export const JUNK_WORD: u32 = 0xdddd_dddd;
/** A free block's first bytes that are not junk: its header and its index node (freeindex.ts). */
export const FREE_BLOCK_PREFIX: usize = 24;

// @ts-ignore: decorator
@inline export function checksOn(heap: usize): bool {
  return (load<u32>(heap + HEAP_OPTIONS) & OPTION_CHECKS) != 0;
}

/** Frees between whole-heap validations: bits 8-31 of the options word, at least 1. */
function validateEvery(heap: usize): u32 {
  const frees = load<u32>(heap + HEAP_OPTIONS) >>> OPTION_VALIDATE_EVERY_SHIFT;
  return frees > 1 ? frees : 1;
}

/** True when this free is the one that validates the whole heap; counts it down otherwise. */
export function validationDue(heap: usize): bool {
  const left = load<u32>(heap + HEAP_FREES_TO_VALIDATION);
  if (left <= 1) return true;
  store<u32>(heap + HEAP_FREES_TO_VALIDATION, left - 1);
  return false;
}

/** After a validation that found nothing: the count starts again (one that found a fault leaves it due). */
export function validationPassed(heap: usize): void {
  store<u32>(heap + HEAP_FREES_TO_VALIDATION, validateEvery(heap));
}

/** The first byte in [from, to) that is not `expected`, or 0. Word at a time where aligned. */
function firstDifferent(from: usize, to: usize, expected: u8): usize {
  const word = <u32>expected * 0x0101_0101;
  let at = from;
  while (at < to && (at & 3) != 0) {
    if (load<u8>(at) != expected) return at;
    at++;
  }
  while (at + 4 <= to) {
    if (load<u32>(at) != word) break;
    at += 4;
  }
  while (at < to) {
    if (load<u8>(at) != expected) return at;
    at++;
  }
  return 0;
}

/** Fills the red zone of a used block: from its requested size to the end of the block. */
export function writeCanary(block: usize): void {
  const payload = block + HEADER_SIZE;
  memory.fill(payload + requestedBytes(block), CANARY, usableBytes(block) - requestedBytes(block));
}

/** True when the red zone is intact; else records a FAULT_CANARY naming the block and lays the zone again. */
export function canaryIntact(heap: usize, block: usize): bool {
  const payload = block + HEADER_SIZE;
  const bad = firstDifferent(payload + requestedBytes(block), payload + usableBytes(block), CANARY);
  if (bad == 0) return true;
  recordFault(heap, FAULT_CANARY, block, load<u8>(bad), CANARY);
  writeCanary(block); // reported once, like every other detection
  return false;
}

export function junkFill(from: usize, to: usize): void {
  if (to > from) memory.fill(from, JUNK, to - from);
}

/** Whether [from, to) holds only junk; records and changes nothing (junkIntact reports). */
export function junkHolds(from: usize, to: usize): bool {
  return to <= from || firstDifferent(from, to, JUNK) == 0;
}

/**
 * True when [from, to) still holds junk; else records a FAULT_WRITE_AFTER_FREE naming `block` (the
 * free block) and fills the junk in again, so the same write is reported once.
 */
export function junkIntact(heap: usize, block: usize, from: usize, to: usize): bool {
  if (to <= from) return true;
  const bad = firstDifferent(from, to, JUNK);
  if (bad == 0) return true;
  recordFault(heap, FAULT_WRITE_AFTER_FREE, block, load<u8>(bad), JUNK);
  junkFill(from, to);
  return false;
}

/**
 * The junk span of a free block [block, block + size): after its node (after its header, for the
 * top, which ends at `sentinel` and has no node), before its footer.
 */
// @ts-ignore: decorator
@inline export function junkStart(block: usize, size: u32, sentinel: usize): usize {
  return block + size == sentinel ? block + HEADER_SIZE : block + FREE_BLOCK_PREFIX;
}
// @ts-ignore: decorator
@inline export function junkEnd(block: usize, size: u32): usize {
  return block + size - FOOTER_SIZE;
}
