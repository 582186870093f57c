// The benchmark build of this allocator: the library's own exports plus loops that replay a trace
// inside wasm (bench/workloads.ts format), so the cost of crossing from JavaScript is left out.
// It calls the same locked entry points as the public API.

export * from "../../assembly/index";
import { heap_malloc, heap_free, heap_realloc, stack_push, stack_pop } from "../../assembly/index";

const MALLOC = 0;
const FREE = 1;

/** Replays `operations` triples at `trace` on the heap at `heap`, keeping pointers at `slots`. */
export function replay_heap(heap: usize, trace: usize, operations: u32, slots: usize): u32 {
  let done: u32 = 0;
  for (let i: u32 = 0; i < operations; i++) {
    const at = trace + <usize>i * 12;
    const op = load<u32>(at);
    const slot = slots + (<usize>load<u32>(at, 4) << 2);
    const size = load<u32>(at, 8);
    if (op == MALLOC) {
      const ptr = heap_malloc(heap, size);
      if (ptr == 0 || ptr >= 0xffff_fff0) return done;
      store<u32>(slot, <u32>ptr);
    } else if (op == FREE) {
      if (heap_free(heap, load<u32>(slot)) != 0) return done;
    } else {
      const ptr = heap_realloc(heap, load<u32>(slot), size);
      if (ptr == 0 || ptr >= 0xffff_fff0) return done;
      store<u32>(slot, <u32>ptr);
    }
    done++;
  }
  return done;
}

/** Replays a LIFO trace on the stack allocator: MALLOC pushes, FREE pops (newest first). */
export function replay_stack(stack: usize, trace: usize, operations: u32): u32 {
  let done: u32 = 0;
  for (let i: u32 = 0; i < operations; i++) {
    const at = trace + <usize>i * 12;
    if (load<u32>(at) == MALLOC) {
      if (stack_push(stack, load<u32>(at, 8), 0) == 0) return done;
    } else if (stack_pop(stack, 0) != 0) return done;
    done++;
  }
  return done;
}
