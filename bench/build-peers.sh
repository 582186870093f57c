#!/usr/bin/env bash
# Builds the benchmark's peers that need a compiler: AssemblyScript's TLSF (always: it comes with
# the assemblyscript package), and, where Debian's packages are installed, dlmalloc in wasm
# (clang, lld, wasi-libc, libclang-rt-14-dev-wasm32) and glibc malloc natively (gcc). A peer whose
# tools are missing is skipped here and reported as missing by the benchmark.
#   apt-get install -y clang lld wasi-libc libclang-rt-14-dev-wasm32
set -u
cd "$(dirname "$0")/.."
mkdir -p build/bench
npx asc bench/assembly/ours.ts --config asconfig.json --target release -o build/bench/ours.wasm --textFile build/bench/ours.wat
# From its own folder, so that the project's asconfig.json (imported shared memory, stub runtime) stays out.
(cd bench/assembly && npx asc tlsf.ts --runtime minimal -O3 --noAssert -o ../../build/bench/tlsf.wasm)
if command -v clang >/dev/null && [ -f /usr/lib/wasm32-wasi/libc.a ]; then
  clang --target=wasm32-wasi --sysroot=/usr -O2 -Wl,--export-dynamic -Wl,--growable-table \
    bench/c/dlmalloc.c -o build/bench/dlmalloc.wasm || rm -f build/bench/dlmalloc.wasm
else
  rm -f build/bench/dlmalloc.wasm
fi
if command -v gcc >/dev/null; then
  gcc -O2 bench/c/glibc.c -o build/bench/glibc-bench || rm -f build/bench/glibc-bench
fi
ls build/bench
