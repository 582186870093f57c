// glibc malloc natively, as the reference: replays a trace file (bench/workloads.ts format) `runs`
// times and prints one JSON line: ns/op of each run and the arena bytes at the peak.
// Build: gcc -O2 (see bench/build-peers.sh). Usage: glibc-bench TRACE RUNS SLOTS
#define _GNU_SOURCE
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e9 + t.tv_nsec;
}

int main(int argc, char **argv) {
  if (argc < 4) return 2;
  FILE *f = fopen(argv[1], "rb");
  if (!f) return 2;
  fseek(f, 0, SEEK_END);
  long bytes = ftell(f);
  fseek(f, 0, SEEK_SET);
  int32_t *trace = malloc(bytes);
  if (fread(trace, 1, bytes, f) != (size_t)bytes) return 2;
  fclose(f);
  uint32_t operations = bytes / 12;
  int runs = atoi(argv[2]);
  int slot_count = atoi(argv[3]);
  void **slots = calloc(slot_count, sizeof(void *));
  size_t peak_arena = 0;
  printf("{\"ns\":[");
  for (int run = 0; run < runs; run++) {
    double start = now_ns();
    for (uint32_t i = 0; i < operations; i++) {
      const int32_t *op = trace + 3 * i;
      if (op[0] == 0) slots[op[1]] = malloc((size_t)op[2]);
      else if (op[0] == 1) free(slots[op[1]]);
      else slots[op[1]] = realloc(slots[op[1]], (size_t)op[2]);
      if (run == 0 && (i & 1023) == 0) {
        struct mallinfo2 info = mallinfo2();
        size_t arena = info.arena + info.hblkhd;
        if (arena > peak_arena) peak_arena = arena;
      }
    }
    double elapsed = now_ns() - start;
    printf("%s%.3f", run ? "," : "", elapsed / operations);
  }
  printf("],\"reserved\":%zu}\n", peak_arena);
  return 0;
}
