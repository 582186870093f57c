// The wasm module's exports as the host sees them (assembly/index.ts is the source of truth).
// Every u32 arrives as a signed number: results go through unwrap() or `>>> 0`.

export interface WasmExports {
  memory: WebAssembly.Memory
  region_start(): number
  heap_pool_start_for(heap: number, alignment: number): number

  heap_init(heap: number, poolBytes: number, limitBytes: number, alignment: number, policy: number, options: number, quarantineBytes: number): number
  heap_malloc(heap: number, size: number): number
  heap_calloc(heap: number, count: number, size: number): number
  heap_realloc(heap: number, ptr: number, size: number): number
  heap_aligned_alloc(heap: number, alignment: number, size: number): number
  heap_free(heap: number, ptr: number): number
  heap_usable_size(heap: number, ptr: number): number
  heap_protect(heap: number, ptr: number, size: number, prot: number): number
  heap_protection(heap: number, ptr: number): number
  heap_access(heap: number, ptr: number, required: number): number
  heap_validate(heap: number): number
  heap_trim(heap: number): number
  heap_clear(heap: number): number

  allocator_reset_stats(base: number): number
  allocator_destroy(base: number): void
  allocator_is_destroyed(base: number): number
  instance_set_sole_thread(sole: boolean | number): void
  instance_after_trap(): void
  instance_set_face(name: number): void
  instance_face(): number
  allocator_take_over(base: number, dead: number): number
  allocator_lock(base: number): void
  allocator_unlock(base: number): void
  allocator_stats_address(base: number): number
  stat_read(stats: number, field: number): number

  heap_free_bytes(heap: number): number
  heap_largest_free(heap: number): number
  heap_pool_size(heap: number): number
  heap_free_blocks(heap: number): number
  heap_held_blocks(heap: number): number
  heap_held_bytes(heap: number): number
  heap_fault_reason(heap: number): number
  heap_block_containing(heap: number, address: number): number
  heap_fault_block(heap: number): number
  heap_fault_found(heap: number): number
  heap_fault_expected(heap: number): number
  heap_walk_first(heap: number): number
  heap_walk_next(heap: number, block: number): number
  block_payload(block: number): number
  block_is_used(block: number): number
  block_reported_size(block: number): number
  block_protection(block: number): number
  block_extent(block: number): number
  heap_pool_start(heap: number): number

  stack_init(stack: number, poolBytes: number, alignment: number): number
  stack_push(stack: number, size: number, alignment: number): number
  stack_pop(stack: number, ptr: number): number
  stack_mark(stack: number): number
  stack_reset(stack: number, marker: number): number
  stack_clear(stack: number): number
  stack_block_size(stack: number, ptr: number): number
  stack_used(stack: number): number
  stack_capacity(stack: number): number
  stack_depth(stack: number): number
  stack_free_bytes(stack: number): number

  unlocked_heap_malloc(heap: number, size: number): number
  unlocked_heap_realloc(heap: number, ptr: number, size: number): number
  unlocked_heap_free(heap: number, ptr: number): number
  unlocked_stack_push(stack: number, size: number, alignment: number): number
  unlocked_stack_pop(stack: number, ptr: number): number
  unlocked_stack_mark(stack: number): number
  unlocked_stack_reset(stack: number, marker: number): number
  unlocked_stack_clear(stack: number): number
  unlocked_stack_block_size(stack: number, ptr: number): number
}
