// Control blocks: the first bytes of the region an allocator is given, before its pool.
// Everything an allocator knows lives here or in block headers, in linear memory, so that a second
// thread instantiating the module over the same memory sees one and the same allocator.
//
// Heap and stack control blocks share their first two words, the lock's holder word and their
// statistics record (CONTROL_*), so locking, destroying and reading statistics work the same for
// both. The heap's own fields follow; the stack's are in stack.ts.
//
//    heap + 0    i32 lock            see lock.ts
//    heap + 4    u32 state           HEAP_READY while usable, ALLOCATOR_DESTROYED after destroy
//    heap + 8    u32 poolStart       address of the first block
//    heap + 12   u32 sentinel        address of the end-of-pool sentinel header (pool end - 8)
//    heap + 16   u32 limit           highest pool end growth may reach (maxSize)
//    heap + 20   u32 alignment       default payload alignment (power of two, 8..4096)
//    heap + 24   u32 policy          POLICY_FIRST_FIT or POLICY_BEST_FIT
//    heap + 28   u32 options         OPTION_* bits (and OPTION_CACHES_PAUSED, a state); bits 8-31: checks mode's validateEvery (0 = 1)
//    heap + 32   u32 freeRoot        the free index's entry point (see freeindex.ts)
//    heap + 36   u32 freeBlocks      number of free blocks in the index (the top and pending ones are not)
//    heap + 40   u32 freeBlockBytes  sum of their sizes, headers included
//    heap + 44   u32 faultBlock      the last fault found (by validate or a checked operation): the block,
//    heap + 48   u32 faultFound      what was found there,
//    heap + 52   u32 faultExpected   and what was expected
//    heap + 56   u32 fingerprints    protection fingerprint table (see protect.ts), 0 when none
//    heap + 60   u32 holder          the face holding the lock (lock.ts), 0 when none or unknown
//    heap + 64   stats record        see stats.ts (64 bytes)
//    heap + 128  small-block caches  see caches.ts (HEAP_CACHES_SIZE bytes)
//    heap + 1152 free-index path     HEAP_PATH_ENTRIES u32: the nodes a walk of the free index passed
//                                    on its way down, for its way back up (freeindex.ts onPath)
//    heap + 1928 quarantine          checks mode's held freed blocks: see quarantine.ts (20 bytes)
//    heap + 1948 u32 freesToValidation  checks mode: frees left until the next whole-heap validation (checks.ts)
//    heap + 1952 pending free blocks  freed blocks not yet in the free index: see pending.ts (16 bytes)
//    heap + 1968 u32 faultReason     the FAULT_* reason of the last fault found (faults.ts)
//    heap + HEAP_CONTROL_SIZE  pool: blocks up to the sentinel, first payload aligned to `alignment`

export const CONTROL_LOCK: usize = 0;
export const CONTROL_STATE: usize = 4;
/** The face (an instance of the module: one a thread) that holds the lock: see lock.ts. */
export const CONTROL_HOLDER: usize = 60;
export const CONTROL_STATS: usize = 64;
export const CONTROL_SIZE: usize = 128;
/** The state word of a destroyed allocator, heap or stack. */
export const ALLOCATOR_DESTROYED: u32 = 0xdead0000;

export const HEAP_POOL_START: usize = 8;
export const HEAP_SENTINEL: usize = 12;
export const HEAP_LIMIT: usize = 16;
export const HEAP_ALIGNMENT: usize = 20;
export const HEAP_POLICY: usize = 24;
export const HEAP_OPTIONS: usize = 28;
export const HEAP_FREE_ROOT: usize = 32;
export const HEAP_FREE_BLOCKS: usize = 36;
export const HEAP_FREE_BLOCK_BYTES: usize = 40;
export const HEAP_FAULT_BLOCK: usize = 44;
export const HEAP_FAULT_FOUND: usize = 48;
export const HEAP_FAULT_EXPECTED: usize = 52;
export const HEAP_FINGERPRINTS: usize = 56;

export const HEAP_READY: u32 = 0x48454150; // "HEAP"

export const POLICY_FIRST_FIT: u32 = 0;
export const POLICY_BEST_FIT: u32 = 1;

export const OPTION_CHECKS: u32 = 1;
/** Small-block caches off: every request is placed by the policy (caches.ts). */
export const OPTION_NO_CACHES: u32 = 2;
/**
 * Not an option: set while a burst of frees is under way (more than PENDING_BURST pending blocks,
 * pending.ts), so that the caches neither park nor serve blocks until the next fold clears it. In
 * this word because every malloc and free reads it already (caches.ts cachesOn).
 */
export const OPTION_CACHES_PAUSED: u32 = 4;
/** The options word above its flags: checks mode validates the whole heap on every n-th free (checks.ts). */
export const OPTION_VALIDATE_EVERY_SHIFT: u32 = 8;

export const HEAP_CACHES: usize = 128;
export const HEAP_CACHES_SIZE: usize = 1024;
export const HEAP_PATH: usize = HEAP_CACHES + HEAP_CACHES_SIZE;
/** The deepest a walk of the free index may go, plus one: a treap of hashed priorities stays far above it (freeindex.ts). */
export const HEAP_PATH_ENTRIES: i32 = 194;
export const HEAP_QUARANTINE: usize = HEAP_PATH + (<usize>HEAP_PATH_ENTRIES << 2);
export const HEAP_FREES_TO_VALIDATION: usize = HEAP_QUARANTINE + 20;
export const HEAP_PENDING: usize = HEAP_FREES_TO_VALIDATION + 4;
export const HEAP_FAULT_REASON: usize = HEAP_PENDING + 16;
/** The heap's control block is the common part, its own fields, the caches, the path, checks mode's quarantine and countdown, the pending list and the fault's reason (and 4 bytes spare). */
export const HEAP_CONTROL_SIZE: usize = HEAP_FAULT_REASON + 8;

/** Highest address a pool may end at: keeps every address and size below the error results. */
export const ADDRESS_LIMIT: u64 = 0xffff_0000;
export const PAGE_SIZE: u32 = 65536;
