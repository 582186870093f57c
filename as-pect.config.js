// as-pect runs the specs of tests/assembly against the allocator's AssemblyScript sources.
// The spec build keeps as-pect's own runtime in the same (unshared) memory: each spec hands the
// allocator fresh pages from memory.grow, never the region at __heap_base (see ../shared/TOOLCHAIN.md).
export default {
  entries: ['tests/assembly/**/*.spec.ts'],
  include: ['tests/assembly/**/*.include.ts'],
  disclude: [/node_modules/],
  async instantiate(memory, createImports, instantiate, binary) {
    const imports = {
      env: {
        memory,
        // The lock never sleeps in a single-threaded spec; should it try, fail loudly.
        lockWait() {
          throw new Error('lockWait called in a single-threaded spec')
        },
      },
    }
    return instantiate(binary, createImports(imports))
  },
  outputBinary: false,
}
