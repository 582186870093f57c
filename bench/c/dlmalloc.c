// dlmalloc as a peer: wasi-libc's malloc (dlmalloc) compiled to wasm32-wasi with Debian's clang,
// exporting malloc/free/realloc and the same in-wasm replay loop as the other peers.
// Build: clang --target=wasm32-wasi -O2 (see bench/build-peers.sh).
#include <stdint.h>
#include <stdlib.h>

#define EXPORT(name) __attribute__((export_name(name)))

EXPORT("bench_malloc") void *bench_malloc(size_t size) { return malloc(size); }
EXPORT("bench_free") void bench_free(void *ptr) { free(ptr); }
EXPORT("bench_realloc") void *bench_realloc(void *ptr, size_t size) { return realloc(ptr, size); }
EXPORT("memory_pages") uint32_t memory_pages(void) { return __builtin_wasm_memory_size(0); }
extern unsigned char __heap_base;
EXPORT("heap_base") uint32_t heap_base(void) { return (uint32_t)(uintptr_t)&__heap_base; }

EXPORT("replay_heap") uint32_t replay_heap(const int32_t *trace, uint32_t operations, void **slots) {
  for (uint32_t i = 0; i < operations; i++) {
    const int32_t *op = trace + 3 * i;
    if (op[0] == 0) {
      void *p = malloc((size_t)op[2]);
      if (!p) return i;
      slots[op[1]] = p;
    } else if (op[0] == 1) {
      free(slots[op[1]]);
    } else {
      void *p = realloc(slots[op[1]], (size_t)op[2]);
      if (!p) return i;
      slots[op[1]] = p;
    }
  }
  return operations;
}

int main(void) { return 0; }
