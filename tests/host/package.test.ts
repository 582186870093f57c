// What `npm pack` would publish: every file an entry point, an import or a `new URL(..., import.meta.url)`
// needs, and nothing else. Two ways it went wrong here: esbuild's hashed browser chunks piled up in
// dist/ (each build whose code changed left one behind: 20 of them, 900 KB, were in the pack), and a
// day-old debug .wasm that nothing loads was packed beside the two the host does load.
import { describe, it, expect } from 'vitest'
import { execFileSync } from 'node:child_process'
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs'
import { posix } from 'node:path'

const root = new URL('../../', import.meta.url)
const manifest = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as {
  main: string
  types: string
  exports: Record<string, string | Record<string, string>>
}

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
    /(?:^|[\s;}])(?:import|export)\s[^'"`;]*?from\s*['"](\.{1,2}\/[^'"]+)['"]/g, // import x from './y.js', export { x } from './y.js'
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

describe('the published package', () => {
  const packed = packedFiles()
  const entryPoints = [manifest.main, manifest.types, ...Object.values(manifest.exports).flatMap((target) => (typeof target === 'string' ? [target] : Object.values(target)))]
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
      if (file.endsWith('.d.ts')) expect(types.has(file) || modules.has(file.replace(/\.d\.ts$/, '.js')), `${file} is packed but nothing imports it or its module`).toBe(true)
      else {
        const module = file.replace(/\.(c?js)\.map$/, '.$1')
        expect(modules.has(module) || types.has(module.replace(/\.js$/, '.d.ts')), `${file} is packed but nothing imports ${module}`).toBe(true)
      }
    }
  })
})
