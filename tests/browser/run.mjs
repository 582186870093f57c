// Browser tests in real Chromium (Debian's /usr/bin/chromium, driven by playwright-core): the API
// in a page, four Web Workers on one pool, the fallback without isolation, a Vite-built fixture, and
// the demo page (a click allocates; a screenshot is taken and checked not to be blank).
// Ends with `browser: N passed, M failed` (and a non-zero exit when anything failed).
import { mkdtempSync, rmSync, existsSync, writeFileSync, mkdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'
import { PNG } from 'pngjs'
import { build } from 'vite'
import { startServer } from '../../demo/server.mjs'

const root = fileURLToPath(new URL('../..', import.meta.url))
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const results = []
const record = (name, ok, error) => {
  results.push({ name, ok, error })
  console.log(`${ok ? '  ✓' : '  ✗'} ${name}${ok ? '' : `\n      ${error}`}`)
}

if (!existsSync(CHROMIUM)) {
  record('Chromium is installed', false, `${CHROMIUM} not found: apt-get install -y chromium`)
  finish()
}

const profile = mkdtempSync(join(tmpdir(), 'wmm-chromium-'))
const context = await chromium.launchPersistentContext(profile, {
  executablePath: CHROMIUM,
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
})
const isolated = await startServer({ root, isolated: true })
const plain = await startServer({ root, isolated: false })

/** Opens `url`, waits for the page's in-page checks, and records each. */
async function runPage(label, url, timeout = 60_000) {
  const page = await context.newPage()
  const errors = []
  page.on('pageerror', (error) => errors.push(String(error)))
  try {
    await page.goto(url)
    await page.waitForFunction(() => Array.isArray(window.testResults), null, { timeout })
    const checks = await page.evaluate(() => window.testResults)
    for (const c of checks) record(`${label}: ${c.name}`, c.ok, c.error)
    if (checks.length === 0) record(`${label}: ran checks`, false, 'no checks ran')
  } catch (error) {
    record(`${label}: page finished`, false, `${error.message}${errors.length ? `; page errors: ${errors.join('; ')}` : ''}`)
  } finally {
    await page.close()
  }
}

try {
  await runPage('API, isolated page', `${isolated.url}/tests/browser/pages/api.html`)
  await runPage('API, page without COOP/COEP (fallback)', `${plain.url}/tests/browser/pages/api.html`)
  await runPage('Web Workers', `${isolated.url}/tests/browser/pages/workers.html`, 120_000)

  // The Vite fixture: built with the package imported by name, then served as a static site.
  const outDir = mkdtempSync(join(tmpdir(), 'wmm-vite-'))
  try {
    await build({
      root: join(root, 'tests/browser/vite-fixture'),
      logLevel: 'warn',
      resolve: { alias: [{ find: /^wasm-memory-manager$/, replacement: root }] },
      build: { outDir, emptyOutDir: true, target: 'es2022' },
    })
    const site = await startServer({ root: outDir, isolated: true })
    await runPage('Vite build', `${site.url}/index.html`)
    site.server.close()
  } catch (error) {
    record('Vite build', false, String(error))
  }

  // The demo page: it loads, a click allocates, and a screenshot shows something.
  const page = await context.newPage()
  try {
    await page.goto(`${isolated.url}/demo/web/`)
    await page.waitForFunction(() => window.demoReady === true, null, { timeout: 30_000 })
    const before = await page.textContent('#heap-stats')
    for (let i = 0; i < 5; i++) await page.click('#malloc')
    await page.click('#protect')
    const after = await page.textContent('#heap-stats')
    const liveAfter = Number(/Live blocks\s*\|\s*([\d,]+)/.exec(after)?.[1].replace(/,/g, ''))
    record('demo: a click allocates', before !== after && liveAfter >= 1, `live blocks after clicks: ${liveAfter}`)
    const log = await page.textContent('#log')
    record('demo: the page says what happened', /protect\(|malloc\(/.test(log), `log: ${log}`)
    // The protect click made one block read-only: clear is refused, naming it, and frees nothing.
    await page.click('#clear')
    const refusal = await page.textContent('#log')
    const liveAfterRefusal = Number(/Live blocks\s*\|\s*([\d,]+)/.exec(await page.textContent('#heap-stats'))?.[1].replace(/,/g, ''))
    record('demo: clear is refused while a block is read-only, and frees nothing', /clear: PROTECTION: block \d+/.test(refusal) && liveAfterRefusal === liveAfter, `log: ${refusal}; live ${liveAfterRefusal}`)
    const shot = await page.screenshot({ fullPage: true })
    mkdirSync(join(root, 'build'), { recursive: true })
    writeFileSync(join(root, 'build/demo-screenshot.png'), shot)
    const png = PNG.sync.read(shot)
    const colors = new Set()
    for (let i = 0; i < png.data.length; i += 4 * 97) colors.add((png.data[i] << 16) | (png.data[i + 1] << 8) | png.data[i + 2])
    record('demo: the screenshot is not blank', colors.size >= 8 && png.width > 300, `${colors.size} distinct colours in a ${png.width}x${png.height} screenshot`)
    await page.click('#workers')
    await page.waitForFunction(() => /M ops\/s/.test(document.getElementById('log').textContent), null, { timeout: 60_000 })
    record('demo: the workers button runs a stress run and shows its throughput', true)
  } catch (error) {
    record('demo page', false, String(error))
  } finally {
    await page.close()
  }
} finally {
  await context.close()
  isolated.server.close()
  plain.server.close()
  rmSync(profile, { recursive: true, force: true })
}
finish()

function finish() {
  const passed = results.filter((r) => r.ok).length
  const failed = results.length - passed
  console.log(`browser: ${passed} passed, ${failed} failed`)
  process.exit(failed === 0 ? 0 : 1)
}
