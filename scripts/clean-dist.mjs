// Empties dist/ before the host is built: esbuild names the browser build's shared chunk by its
// content's hash (dist/shared.browser-<hash>.js), so every build whose code changed left the chunk
// before it behind, and `npm pack` shipped them all (20 stale chunks, 900 KB, seen here). A file
// tsc no longer writes (a host file renamed) would linger the same way.
import { rmSync } from 'node:fs'

rmSync(new URL('../dist', import.meta.url), { recursive: true, force: true })
