// The CommonJS build, for `require('wasm-memory-manager')` (and `/compat`) under Node 20, which
// cannot require an ES module: one bundle of the host with its dependency, dist/commonjs.cjs, and
// the two entry points as views of it (dist/index.cjs, dist/compat.cjs), so that both entries share
// one copy of the classes and of the module state (a heap made through compat is a MemoryManager of
// the main entry). `import.meta.url`, which locates the .wasm, has no CommonJS form: the bundle
// gets this file's URL from __filename instead (both lie in dist/, so '../build/x.wasm' resolves
// the same). TypeScript reads a .d.ts by the package's type ("module"), and will not let a CommonJS
// file import one: the declarations are copied to dist/cjs/, whose own package.json says
// "commonjs", for the require condition's types.
import { build } from 'esbuild'
import { writeFileSync, mkdirSync, readdirSync, copyFileSync } from 'node:fs'

const dist = new URL('../dist/', import.meta.url)

await build({
  stdin: {
    contents: "export * from './dist/index.js'\nexport * as compat from './dist/compat.js'\n",
    resolveDir: new URL('..', import.meta.url).pathname,
    sourcefile: 'commonjs-entry.js',
  },
  outfile: 'dist/commonjs.cjs',
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  define: { 'import.meta.url': 'importMetaUrl' },
  banner: { js: "const importMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
  sourcemap: true,
  logLevel: 'warning',
})

writeFileSync(new URL('index.cjs', dist), "'use strict'\n// CommonJS entry (see scripts/bundle-commonjs.mjs): the package's exports but compat's.\nconst { compat, ...api } = require('./commonjs.cjs')\nmodule.exports = api\n")
writeFileSync(new URL('compat.cjs', dist), "'use strict'\n// CommonJS entry of wasm-memory-manager/compat (see scripts/bundle-commonjs.mjs).\nmodule.exports = require('./commonjs.cjs').compat\n")

const cjsTypes = new URL('cjs/', dist)
mkdirSync(cjsTypes, { recursive: true })
writeFileSync(new URL('package.json', cjsTypes), '{ "type": "commonjs" }\n')
for (const file of readdirSync(dist)) if (file.endsWith('.d.ts')) copyFileSync(new URL(file, dist), new URL(file, cjsTypes))
