// Shared by the specs: a heap laid out in pages taken fresh from memory.grow, so that as-pect's
// own objects (which live from __heap_base up) are never part of the pool under test.
import { heapInit } from "../../assembly/heap";
import { HEAP_CONTROL_SIZE, POLICY_FIRST_FIT, OPTION_NO_CACHES } from "../../assembly/control";

/**
 * A heap over fresh pages. Small-block caches are off by default here, so that a spec sees the
 * placement policy and coalescing at work; caches.spec.ts turns them on.
 */
export function freshHeap(poolBytes: u32, policy: u32 = POLICY_FIRST_FIT, alignment: u32 = 8, limitBytes: u32 = 0, options: u32 = OPTION_NO_CACHES): usize {
  const limit = limitBytes == 0 ? poolBytes : limitBytes;
  const pages = <i32>((<u32>HEAP_CONTROL_SIZE + 8192 + limit + 65535) / 65536);
  const base = <usize>memory.grow(pages) * 65536;
  const status = heapInit(base, poolBytes, limit, alignment, policy, options);
  assert(status == 0, "heapInit failed");
  return base;
}
