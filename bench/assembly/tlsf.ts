// AssemblyScript's own TLSF allocator (std/assembly/rt/tlsf.ts), built with `--runtime minimal`,
// as a peer: its heap.alloc/heap.free/heap.realloc as exports, and the same in-wasm replay loop.

const MALLOC = 0;
const FREE = 1;

export function alloc(size: usize): usize { return heap.alloc(size); }
export function free(ptr: usize): void { heap.free(ptr); }
export function realloc(ptr: usize, size: usize): usize { return heap.realloc(ptr, size); }
export function heap_base(): usize { return __heap_base; }

export function replay_heap(trace: usize, operations: u32, slots: usize): u32 {
  for (let i: u32 = 0; i < operations; i++) {
    const at = trace + <usize>i * 12;
    const op = load<u32>(at);
    const slot = slots + (<usize>load<u32>(at, 4) << 2);
    const size = load<u32>(at, 8);
    if (op == MALLOC) store<u32>(slot, <u32>heap.alloc(size));
    else if (op == FREE) heap.free(load<u32>(slot));
    else store<u32>(slot, <u32>heap.realloc(load<u32>(slot), size));
  }
  return operations;
}
