// What `npm pack` would publish: every file an entry point, an import or a `new URL(..., import.meta.url)`
// needs, and nothing else. Two ways it went wrong here: esbuild's hashed browser chunks piled up in
// dist/ (each build whose code changed left one behind: 20 of them, 900 KB, were in the pack), and a
// day-old debug .wasm that nothing loads was packed beside the two the host does load.
import { describe, it, expect } from 'vitest'
import { execFileSync } from 'node:child_process'
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs'
import { posix } from 'node:path'

const root = new URL('../../', import.meta.url)
type Conditions = string | { [condition: string]: Conditions }
const manifest = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as {
  main: string
  types: string
  exports: Record<string, Conditions>
}

/** Every file an exports target names, through nested conditions ({ require: { types, default } }). */
const targetsOf = (target: Conditions): string[] => (typeof target === 'string' ? [target] : Object.values(target).flatMap(targetsOf))

/** The files `npm pack` would put in the tarball, as package-relative paths. */
function packedFiles(): Set<string> {
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'
  const out = execFileSync(npm, ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
  const [pack] = JSON.parse(out) as { files: { path: string }[] }[]
  return new Set(pack.files.map((file) => file.path))
}

/** A package-relative path written as './x' in package.json. */
const normal = (path: string) => posix.normalize(path)

/** The package files the JavaScript module at `file` reaches: its relative imports and the assets it asks for by URL. */
function referencesOf(file: string): string[] {
  const text = readFileSync(new URL(file, root), 'utf8')
  const found: string[] = []
  const patterns = [
    /(?:^|[\s;}])(?:import|export)(?:\s|(?={))[^'"`;]*?from\s*['"](\.{1,2}\/[^'"]+)['"]/g, // import x from './y.js', export { x } from './y.js', import{x}from"./y.js" (minified)
    /(?:^|[\s;}])import\s*['"](\.{1,2}\/[^'"]+)['"]/g, // import './y.js'
    /import\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g, // import('./y.js')
    /new URL\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*,\s*import\.meta\.url\s*\)/g, // new URL('../build/x.wasm', import.meta.url)
    /require\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g, // require('./commonjs.cjs')
  ]
  for (const pattern of patterns) {
    for (const match of text.matchAll(pattern)) found.push(posix.join(posix.dirname(file), match[1]))
  }
  return found
}

describe('CommonJS', () => {
  it("require() works by the package's name, for both entries, sharing one copy of the classes (Node 20 cannot require an ES module)", () => {
    const dir = new URL('build/commonjs-check/', root)
    mkdirSync(dir, { recursive: true })
    const file = new URL('app.cjs', dir)
    writeFileSync(file, [
      "const { MemoryManager, HeapGroup, MemoryError } = require('wasm-memory-manager')",
      "const { memory_manager_init, memory_manager_malloc } = require('wasm-memory-manager/compat')",
      'const mm = MemoryManager.createSync({ size: 65536 })',
      'const ptr = mm.malloc(16)',
      "mm.writeString(ptr, 'from require')",
      'const manager = memory_manager_init(65536)',
      'let code = ""',
      'try { mm.free(ptr + 4) } catch (error) { code = error instanceof MemoryError ? error.code : String(error) }',
      'console.log(JSON.stringify({ text: mm.readString(ptr), sameClass: manager instanceof MemoryManager, compatMalloc: memory_manager_malloc(manager, 8) > 0, group: HeapGroup.createSync({ heaps: 2, size: 8192 }).heaps.length, code }))',
    ].join('\n'))
    const out = execFileSync(process.execPath, [file.pathname], { cwd: root, encoding: 'utf8' })
    expect(JSON.parse(out)).toEqual({ text: 'from require', sameClass: true, compatMalloc: true, group: 2, code: 'INVALID_POINTER' })
  })
})

describe('TypeScript', () => {
  it('a CommonJS file (.cts) and an ES module (.mts) both type-check against the package, by its name, `using` included', () => {
    const dir = new URL('build/typescript-check/', root)
    mkdirSync(dir, { recursive: true })
    const program = [
      "import { MemoryManager, HeapGroup, StackAllocator, type MemoryStats, type HeapGroupHandle, type StackFrame } from 'wasm-memory-manager'",
      "import { memory_manager_init, memory_manager_malloc } from 'wasm-memory-manager/compat'",
      'const stats: MemoryStats = MemoryManager.createSync({ size: 65536 }).stats()',
      'const handle: HeapGroupHandle = HeapGroup.createSync({ heaps: 2 }).handle',
      'const ptr: number = memory_manager_malloc(memory_manager_init(65536), 8)',
      // `using` type-checks for a program whose lib does not name esnext.disposable: the package's
      // declarations bring it.
      'function scoped(): number { using st = StackAllocator.createSync({ size: 4096 }); using frame: StackFrame = st.frame(); return frame.marker + st.push(8) }',
      'export const seen = [stats.poolSize, handle.kind, ptr, scoped()]',
    ].join('\n')
    writeFileSync(new URL('app.cts', dir), program)
    writeFileSync(new URL('app.mts', dir), program)
    writeFileSync(new URL('tsconfig.json', dir), JSON.stringify({
      compilerOptions: { module: 'node16', moduleResolution: 'node16', strict: true, noEmit: true, types: [], lib: ['ES2022', 'DOM'] },
      files: ['app.cts', 'app.mts'],
    }))
    const tsc = new URL('node_modules/typescript/bin/tsc', root).pathname
    // Throws, with tsc's messages, when either file does not type-check (a .cts importing the ES
    // module's declarations was error TS1479 before the require condition had types of its own).
    execFileSync(process.execPath, [tsc, '-p', new URL('tsconfig.json', dir).pathname], { cwd: root, encoding: 'utf8' })
  }, 60_000)
})

describe('the published package', () => {
  const packed = packedFiles()
  const entryPoints = [manifest.main, manifest.types, ...Object.values(manifest.exports).flatMap(targetsOf)]
    .map(normal)
    .filter((path) => path !== 'package.json')

  it('holds every entry point package.json names', () => {
    for (const entry of entryPoints) expect(packed.has(entry), entry).toBe(true)
  })

  /** Every file reached from `starts` through relative imports (of .d.ts files, for types: './x.js' names './x.d.ts'). */
  function reachedFrom(starts: string[]): Set<string> {
    const reached = new Set<string>()
    const pending = [...starts]
    while (pending.length > 0) {
      const file = pending.pop()!
      if (reached.has(file)) continue
      reached.add(file)
      expect(packed.has(file), `${file} (needed)`).toBe(true)
      for (const reference of referencesOf(file)) {
        if (file.endsWith('.d.ts')) pending.push(reference.replace(/\.js$/, '.d.ts'))
        else if (/\.c?js$/.test(reference)) pending.push(reference)
        else expect(packed.has(reference), `${reference} (loaded by ${file})`).toBe(true)
      }
    }
    return reached
  }

  it('holds every file the entry points import or load, following the imports through, and nothing else', () => {
    const modules = reachedFrom(entryPoints.filter((path) => /\.c?js$/.test(path)))
    const types = reachedFrom(entryPoints.filter((path) => path.endsWith('.d.ts')))
    // The browser entry points import the shared chunk and the Node ones load both .wasm builds.
    expect([...modules].some((file) => /^dist\/shared\.browser-[\w-]+\.js$/.test(file))).toBe(true)
    const wasm = [...packed].filter((file) => file.endsWith('.wasm')).sort()
    expect(wasm).toEqual(['build/wasm-memory-manager.unshared.wasm', 'build/wasm-memory-manager.wasm'])

    // Nothing else: every packed file is imported, or is the twin tsc writes of one that is (the
    // JavaScript of a types-only module, the declarations of an internal one), or the source map
    // of a module that is.
    for (const file of packed) {
      if (file === 'package.json' || file === 'README.md' || file.endsWith('.wasm')) continue
      // The type marker of the CommonJS declarations' folder (scripts/bundle-commonjs.mjs): needed
      // where declarations beside it are.
      if (file.endsWith('/package.json')) {
        expect([...types].some((declaration) => posix.dirname(declaration) === posix.dirname(file)), `${file} marks a folder no declarations are reached in`).toBe(true)
        continue
      }
      // dist/cjs/ holds a copy of dist/'s declarations, for CommonJS: each packed as its twin would be.
      const declaration = file.replace(/^dist\/cjs\//, 'dist/')
      if (file.endsWith('.d.ts')) expect(types.has(file) || types.has(declaration) || modules.has(declaration.replace(/\.d\.ts$/, '.js')), `${file} is packed but nothing imports it or its module`).toBe(true)
      else {
        const module = file.replace(/\.(c?js)\.map$/, '.$1')
        expect(modules.has(module) || types.has(module.replace(/\.js$/, '.d.ts')), `${file} is packed but nothing imports ${module}`).toBe(true)
      }
    }
  })
})
