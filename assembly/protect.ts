// Memory protection: the Protection bits of a block, and the fingerprints that detect raw writes.
//
// WebAssembly has no mprotect: whoever holds the buffer can write anywhere. So the bits are kept in
// each block's header (block.ts, visible to every thread) and enforced by the host's checked
// accessors; raw writes are detected instead: when a block loses Write, a 32-bit fingerprint of its
// usable bytes is recorded, and a later check that finds another fingerprint reports the block.
//
// The fingerprints live in a hash table in the pool itself, in a block the heap allocates for its
// own use (the "internal block": not counted in statistics, not listed to users). Open addressing
// with linear probing, deletion by backward shift, at most half full.
//
//    table + 0   u32 capacity (power of two)
//    table + 4   u32 count
//    table + 8   capacity × { u32 block address (0 = empty), u32 fingerprint }
//
// Invariant: a used block has an entry exactly when its protection lacks Write.
// Cost: fingerprinting reads the block once (8 bytes a step); lookups are O(1) expected.

import { HEADER_SIZE, PROT_WRITE, PROT_READ_WRITE, usableBytes, protectionOf, setProtection, isLive, isCondemned } from "./block";
import { HEAP_FINGERPRINTS, HEAP_POOL_START, HEAP_SENTINEL } from "./control";
import { allocateBlock, releaseBlock } from "./heap";
import { heapFirstBlock, heapNextBlock, accessibleBytes } from "./queries";
import { checkLiveBlock, neighboursHold, headerFault, nextHeaderHolds } from "./pointers";
import { FAULT_FINGERPRINT, FAULT_ACCESS, recordFault } from "./faults";
import { ERR_INVALID_POINTER, ERR_OUT_OF_BOUNDS, ERR_PROTECTION, ERR_OUT_OF_MEMORY, ERR_DOUBLE_FREE, ERR_CORRUPTION, errorResult, isErrorResult } from "./errors";

const TABLE_HEADER: usize = 8;
const ENTRY_SIZE: usize = 8;
const FIRST_CAPACITY: u32 = 16;

/** A 32-bit fingerprint of the block's usable bytes (a multiple of 8 by construction). */
export function fingerprintOf(block: usize): u32 {
  let hash: u64 = 0xcbf29ce484222325 ^ <u64>usableBytes(block);
  const end = block + HEADER_SIZE + usableBytes(block);
  for (let at = block + HEADER_SIZE; at < end; at += 8) {
    hash = (hash ^ load<u64>(at)) * 0x100000001b3;
    hash ^= hash >>> 29;
  }
  return <u32>(hash ^ (hash >>> 32));
}

/**
 * The table, or 0 when there is none, or when stray writes left it unusable (an address outside
 * the pool, a capacity that is no power of two or does not fit): then fingerprints are not checked,
 * and nothing reads outside the pool or loops for ever.
 */
function tableOf(heap: usize): usize {
  const table: usize = load<u32>(heap + HEAP_FINGERPRINTS);
  if (table == 0) return 0;
  const start: usize = load<u32>(heap + HEAP_POOL_START);
  const sentinel: usize = load<u32>(heap + HEAP_SENTINEL);
  if ((table & 7) != 0 || table < start || table + TABLE_HEADER > sentinel) return 0;
  const capacity = load<u32>(table);
  if (capacity < FIRST_CAPACITY || (capacity & (capacity - 1)) != 0 || <u64>table + TABLE_HEADER + <u64>capacity * ENTRY_SIZE > <u64>sentinel) return 0;
  return table;
}

/**
 * A live block without Write (whose free would be refused), or 0 when there is none: O(1) when the
 * table is sound and counts no entry (it holds one exactly for each such block), a walk of the heap
 * otherwise (to name the block; or when a stray write left the table unsound, so that a damaged
 * table does not let such a block go).
 */
export function someBlockUnwritable(heap: usize): usize {
  if (load<u32>(heap + HEAP_FINGERPRINTS) == 0) return 0;
  const table = tableOf(heap);
  if (table != 0 && load<u32>(table, 4) == 0) return 0;
  for (let block = heapFirstBlock(heap); block != 0; block = heapNextBlock(heap, block)) {
    if (isLive(block) && (protectionOf(block) & PROT_WRITE) == 0 && !isCondemned(block)) return block;
  }
  return 0;
}

/**
 * False only when `block` surely has no fingerprint: the heap has no table, or a sound table holds
 * no entry for it. A table a stray write left unusable may have held one, so it answers true.
 */
export function mayBeFingerprinted(heap: usize, block: usize): bool {
  if (load<u32>(heap + HEAP_FINGERPRINTS) == 0) return false;
  return tableOf(heap) == 0 || findEntry(heap, block) != 0;
}

/** True for the block that holds the fingerprint table itself. */
// @ts-ignore: decorator
@inline export function isInternalBlock(heap: usize, block: usize): bool {
  return <usize>load<u32>(heap + HEAP_FINGERPRINTS) == block + HEADER_SIZE;
}

// @ts-ignore: decorator
@inline function homeSlot(block: usize, capacity: u32): u32 {
  return ((<u32>block >>> 3) * 0x9e3779b1) & (capacity - 1);
}
// @ts-ignore: decorator
@inline function entryAt(table: usize, slot: u32): usize {
  return table + TABLE_HEADER + <usize>slot * ENTRY_SIZE;
}

/** The table entry of `block`, or 0. */
function findEntry(heap: usize, block: usize): usize {
  const table = tableOf(heap);
  if (table == 0) return 0;
  const capacity = load<u32>(table);
  let slot = homeSlot(block, capacity);
  for (let probes: u32 = 0; probes < capacity; probes++) {
    const entry = entryAt(table, slot);
    const key: usize = load<u32>(entry);
    if (key == block) return entry;
    if (key == 0) return 0;
    slot = (slot + 1) & (capacity - 1);
  }
  return 0;
}

function insertEntry(table: usize, block: usize, fingerprint: u32): void {
  const capacity = load<u32>(table);
  let slot = homeSlot(block, capacity);
  for (let probes: u32 = 0; load<u32>(entryAt(table, slot)) != 0; probes++) {
    if (probes == capacity) return; // a full table is a damaged one: the fingerprint is not kept
    slot = (slot + 1) & (capacity - 1);
  }
  const entry = entryAt(table, slot);
  store<u32>(entry, <u32>block);
  store<u32>(entry, fingerprint, 4);
  store<u32>(table + 4, load<u32>(table + 4) + 1);
}

/**
 * The table's block may be given back to the pool: its own header holds (it is the heap's, not the
 * user's: nothing checked it) and so do the free neighbours it would merge with (releaseBlock trusts
 * both). A fault found is recorded.
 */
function tableBlockReleasable(heap: usize, table: usize): bool {
  return checkLiveBlock(heap, table) == 0 && neighboursHold(heap, table - HEADER_SIZE);
}

/**
 * Makes room for one more entry, moving the table to a bigger block: 0, OUT_OF_MEMORY when the pool
 * is full, or CORRUPTION (nothing changed) when the old table's block could not be given back
 * (tableBlockReleasable: a stray write's size there led releaseBlock past the memory's end).
 */
function reserveEntry(heap: usize): u32 {
  const table = tableOf(heap);
  const count: u32 = table == 0 ? 0 : load<u32>(table + 4);
  const capacity: u32 = table == 0 ? 0 : load<u32>(table);
  if ((count + 1) * 2 <= capacity) return 0;
  if (table != 0 && !tableBlockReleasable(heap, table)) return ERR_CORRUPTION;
  const newCapacity = capacity == 0 ? FIRST_CAPACITY : capacity * 2;
  const bytes = <u32>(TABLE_HEADER + <usize>newCapacity * ENTRY_SIZE);
  const grown = allocateBlock(heap, bytes, 8, PROT_READ_WRITE);
  if (grown == 0) return ERR_OUT_OF_MEMORY;
  if (isErrorResult(<u32>grown)) return ERR_CORRUPTION;
  memory.fill(grown, 0, bytes);
  store<u32>(grown, newCapacity);
  for (let slot: u32 = 0; slot < capacity; slot++) {
    const entry = entryAt(table, slot);
    const key: usize = load<u32>(entry);
    if (key != 0) insertEntry(grown, key, load<u32>(entry, 4));
  }
  store<u32>(heap + HEAP_FINGERPRINTS, <u32>grown);
  if (table != 0) releaseBlock(heap, table - HEADER_SIZE);
  return 0;
}

function removeEntry(heap: usize, block: usize): void {
  const table = tableOf(heap);
  let entry = findEntry(heap, block);
  if (entry == 0) return;
  const capacity = load<u32>(table);
  let hole = <u32>((entry - table - TABLE_HEADER) / ENTRY_SIZE);
  let slot = hole;
  // Backward-shift deletion: pull later members of the probe run into the hole.
  for (let probes: u32 = 0; probes < capacity; probes++) {
    slot = (slot + 1) & (capacity - 1);
    const candidate = entryAt(table, slot);
    const key: usize = load<u32>(candidate);
    if (key == 0) break;
    const home = homeSlot(key, capacity);
    const distanceToHole = (hole - home) & (capacity - 1);
    const distanceToSlot = (slot - home) & (capacity - 1);
    if (distanceToHole < distanceToSlot) {
      store<u64>(entryAt(table, hole), load<u64>(candidate));
      hole = slot;
    }
  }
  store<u64>(entryAt(table, hole), 0);
  const count = load<u32>(table + 4) - 1;
  store<u32>(table + 4, count);
  if (count == 0 && tableBlockReleasable(heap, table)) {
    // Nothing is protected any more: give the table's block back to the pool. (Not when its header
    // or a free neighbour is damaged, a fault recorded: the empty table then stays, harmless, and
    // validate() reports the damage.)
    store<u32>(heap + HEAP_FINGERPRINTS, 0);
    releaseBlock(heap, table - HEADER_SIZE);
  }
}

/**
 * For a used block without Write: true when its bytes no longer match the recorded fingerprint.
 * The fingerprint is then taken again, so one violation is reported once.
 */
export function fingerprintChanged(heap: usize, block: usize): bool {
  if ((protectionOf(block) & PROT_WRITE) != 0) return false;
  const entry = findEntry(heap, block);
  if (entry == 0) return false;
  const now = fingerprintOf(block);
  const recorded = load<u32>(entry, 4);
  if (now == recorded) return false;
  recordFault(heap, FAULT_FINGERPRINT, block, now, recorded);
  store<u32>(entry, now, 4);
  return true;
}

/** blockHolding's answer when its walk met a header that does not hold (not a block address). */
const WALK_DAMAGED: usize = 1;

/**
 * The used block whose payload holds `address`, 0 when none does, or WALK_DAMAGED (the fault
 * recorded) when the walk met a header that does not hold before it got there (its magic, or a
 * size that leaves the pool): a block taken on a stray write's size would have its bytes
 * fingerprinted past the memory's end. A walk, for interior pointers only.
 */
function blockHolding(heap: usize, address: usize): usize {
  const sentinel: usize = load<u32>(heap + HEAP_SENTINEL);
  let block = heapFirstBlock(heap);
  while (block != 0) {
    if (headerFault(heap, block, sentinel) != 0) return WALK_DAMAGED;
    const payload = block + HEADER_SIZE;
    if (address >= payload && address < payload + usableBytes(block)) return isLive(block) ? block : 0;
    if (address < block) return 0;
    block = heapNextBlock(heap, block);
  }
  return 0;
}

/** The live block holding [address, address + size): its address, or an error result. */
export function heapBlockHoldingRange(heap: usize, address: usize, size: u32): u32 {
  let problem = checkLiveBlock(heap, address);
  let block: usize = address - HEADER_SIZE;
  if (problem == ERR_INVALID_POINTER || problem == ERR_DOUBLE_FREE || problem == ERR_CORRUPTION) {
    // Not a block start: look for the block holding it. (An interior address whose 8 bytes before
    // happen to pass for a header, one in 65,536, reads as a corrupted block: the walk settles it.)
    block = blockHolding(heap, address);
    if (block == WALK_DAMAGED) problem = ERR_CORRUPTION;
    else if (block != 0 && !isInternalBlock(heap, block)) {
      // The walk vouches for the block's own header only. A block start checkLiveBlock found
      // damaged (its slack, the header after it: an overflow into the next block) stays CORRUPTION;
      // for an interior address the header after the block is asked here, as checkLiveBlock asks it.
      if (block == address - HEADER_SIZE) problem = ERR_CORRUPTION;
      else problem = nextHeaderHolds(heap, block) ? 0 : ERR_CORRUPTION;
    }
    else if (problem != ERR_CORRUPTION) problem = ERR_INVALID_POINTER;
  }
  if (problem != 0) return errorResult(problem);
  const end = <u64>address + <u64>size;
  if (end > <u64>block + HEADER_SIZE + <u64>accessibleBytes(heap, block)) return errorResult(ERR_OUT_OF_BOUNDS);
  return <u32>block;
}

/** Sets the protection of the live block holding [address, address + size). 0 or an error result. */
export function heapProtect(heap: usize, address: usize, size: u32, prot: u32): u32 {
  const found = heapBlockHoldingRange(heap, address, size);
  if (isErrorResult(found)) return found;
  const block: usize = found;
  const old = protectionOf(block);
  if (fingerprintChanged(heap, block)) return errorResult(ERR_PROTECTION);
  if ((prot & PROT_WRITE) == 0) {
    if ((old & PROT_WRITE) != 0) {
      const reserved = reserveEntry(heap);
      if (reserved != 0) return errorResult(reserved);
      insertEntry(tableOf(heap), block, fingerprintOf(block));
    } else {
      const entry = findEntry(heap, block);
      if (entry != 0) store<u32>(entry, fingerprintOf(block), 4);
    }
  } else if ((old & PROT_WRITE) == 0) {
    removeEntry(heap, block);
  }
  setProtection(block, prot);
  return 0;
}

/** The protection of the live block at `ptr`, or an error result. */
export function heapProtection(heap: usize, ptr: usize): u32 {
  const problem = checkLiveBlock(heap, ptr);
  if (problem != 0) return errorResult(problem);
  return protectionOf(ptr - HEADER_SIZE);
}

/**
 * Checks before a free or realloc: a block without Write is refused (PROTECTION), and a refused
 * block that was also written through a raw view has its fingerprint taken again. The refusal is
 * recorded as the write (FAULT_FINGERPRINT) or as the missing Write (FAULT_ACCESS).
 */
// @ts-ignore: decorator
@inline export function refuseUnwritable(heap: usize, block: usize): bool {
  if ((protectionOf(block) & PROT_WRITE) != 0) return false;
  if (!fingerprintChanged(heap, block)) noteRefusal(heap, block, PROT_WRITE);
  return true;
}

/** Records FAULT_ACCESS: the block's protection does not grant `required`. */
function noteRefusal(heap: usize, block: usize, required: u32): void {
  recordFault(heap, FAULT_ACCESS, block, protectionOf(block), required);
}

/**
 * The checked accessors' gate: the usable bytes of the live block at `ptr` when its protection
 * grants every bit of `required`; else an error result (PROTECTION, or the pointer's problem).
 */
export function heapAccess(heap: usize, ptr: usize, required: u32): u32 {
  const problem = checkLiveBlock(heap, ptr);
  if (problem != 0 || isInternalBlock(heap, ptr - HEADER_SIZE)) return errorResult(problem != 0 ? problem : ERR_INVALID_POINTER);
  if ((protectionOf(ptr - HEADER_SIZE) & required) != required) {
    noteRefusal(heap, ptr - HEADER_SIZE, required);
    return errorResult(ERR_PROTECTION);
  }
  return accessibleBytes(heap, ptr - HEADER_SIZE);
}
