// The browser build: dist/index.browser.js and dist/compat.browser.js, ES modules with the package's
// one dependency (@assemblyscript/loader) bundled in, so a plain <script type="module"> or a module
// Web Worker imports them with no import map and no bundler. Output stays in dist/, beside the files
// tsc wrote, so `new URL('../build/x.wasm', import.meta.url)` still finds the .wasm (and bundlers
// still recognise it as an asset).
import { build } from 'esbuild'

await build({
  entryPoints: { 'index.browser': 'dist/index.js', 'compat.browser': 'dist/compat.js' },
  outdir: 'dist',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  // Minified for the page that loads it as it is (a bundler minifies again anyway): 24.1 -> 15.6 KB
  // gzipped with the loader. Names kept, so that classes and functions read as themselves in
  // stack traces and a `constructor.name`; the source map gives the rest.
  minify: true,
  keepNames: true,
  chunkNames: 'shared.browser-[hash]',
  sourcemap: true,
  logLevel: 'warning',
})
