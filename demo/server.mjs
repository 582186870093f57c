// npm run demo: serves the project (the demo page, dist/ and the .wasm) on localhost with the
// headers that make a page cross-origin isolated (SharedArrayBuffer, so Web Workers share a pool).
// Files are served by sirv; this file only adds the headers and picks the port.
//   node demo/server.mjs [--port 8080] [--plain]   (--plain: no isolation headers, to see the fallback)
import http from 'node:http'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import sirv from 'sirv'

const ISOLATION_HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
}

/** A static server over `root`; with `isolated`, every response carries the COOP/COEP headers. */
export function startServer({ root, port = 0, isolated = true }) {
  const files = sirv(root, {
    dev: true,
    setHeaders(res) {
      if (isolated) for (const [name, value] of Object.entries(ISOLATION_HEADERS)) res.setHeader(name, value)
    },
  })
  const server = http.createServer((req, res) => files(req, res, () => {
    res.statusCode = 404
    res.end('not found')
  }))
  return new Promise((resolve) => {
    server.listen(port, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${server.address().port}` }))
  })
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { port: { type: 'string', default: '8080' }, plain: { type: 'boolean', default: false } } })
  const root = fileURLToPath(new URL('..', import.meta.url))
  const { url } = await startServer({ root, port: Number(values.port), isolated: !values.plain })
  console.log(`demo: ${url}/demo/web/  (${values.plain ? 'not isolated: single-threaded fallback' : 'cross-origin isolated: workers share the pool'})`)
}
