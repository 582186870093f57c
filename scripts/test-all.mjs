#!/usr/bin/env node
// Runs every test suite (as-pect specs of the AssemblyScript, vitest of the host, the browser tests
// in Chromium) and ends with
// one line that totals them all: `N passed, M failed`. Exits non-zero when anything failed.
import { spawn } from 'node:child_process'
import { readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs'

const ANSI = /\u001b\[[0-9;]*m/g

// A suite that runs this long has hung (each takes seconds; a test whose guard against an endless
// walk or wait was broken hangs rather than fails, as-pect having no timeouts): it is stopped and
// counted as a failure, so the summary line still comes, long before CI's own limit.
const SUITE_LIMIT_MS = Number(process.env.SUITE_LIMIT_MS ?? 10 * 60_000)

/** Kills a suite with everything npx started under it (its own process group). */
function stopGroup(child) {
  try { process.kill(-child.pid, 'SIGKILL') } catch { child.kill('SIGKILL') }
}

let running // the suite running now, stopped with this runner when it is interrupted
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    if (running) stopGroup(running)
    process.exit(130)
  })
}

function run(command, args) {
  return new Promise((resolve) => {
    // Its own process group, so that the stop reaches what npx started under it.
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: process.env, detached: true })
    running = child
    let output = ''
    const timer = setTimeout(() => {
      const stopped = `${command} ${args.join(' ')}: stopped after ${SUITE_LIMIT_MS / 1000} s (a hang): counted as failed`
      output += `\n${stopped}\n`
      console.error(stopped)
      stopGroup(child)
    }, SUITE_LIMIT_MS)
    child.stdout.on('data', (chunk) => { output += chunk; process.stdout.write(chunk) })
    child.stderr.on('data', (chunk) => { output += chunk; process.stderr.write(chunk) })
    child.on('close', (code) => {
      clearTimeout(timer)
      running = undefined
      resolve({ code: code ?? 1, output: output.replace(ANSI, '') })
    })
  })
}

const suites = []

async function asPect() {
  const { code, output } = await run('npx', ['asp', '--config', 'as-pect.config.js', '--no-logo'])
  const match = /\[Tests\]:\s*(\d+)\s*\/\s*(\d+)/.exec(output)
  if (!match) return { name: 'as-pect', passed: 0, failed: 1, code }
  const passed = Number(match[1])
  const total = Number(match[2])
  return { name: 'as-pect', passed, failed: Math.max(total - passed, code === 0 ? 0 : 1), code }
}

async function vitest() {
  const report = 'build/vitest-report.json'
  rmSync(report, { force: true })
  const { code } = await run('npx', ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile=${report}`])
  try {
    const json = JSON.parse(readFileSync(report, 'utf8'))
    const failed = json.numFailedTests + (code !== 0 && json.numFailedTests === 0 ? 1 : 0)
    return { name: 'vitest', passed: json.numPassedTests, failed, code }
  } catch {
    return { name: 'vitest', passed: 0, failed: 1, code }
  }
}

async function browser() {
  const { code, output } = await run('node', ['tests/browser/run.mjs'])
  const match = /browser: (\d+) passed, (\d+) failed/.exec(output)
  if (!match) return { name: 'browser', passed: 0, failed: 1, code }
  return { name: 'browser', passed: Number(match[1]), failed: Number(match[2]) + (code !== 0 && match[2] === '0' ? 1 : 0), code }
}

suites.push(await asPect())
suites.push(await vitest())
suites.push(await browser())

let passed = 0
let failed = 0
for (const suite of suites) {
  console.log(`${suite.name}: ${suite.passed} passed, ${suite.failed} failed`)
  passed += suite.passed
  failed += suite.failed
}
const summary = `${passed} passed, ${failed} failed`
mkdirSync('build', { recursive: true })
writeFileSync('build/test-summary.txt', summary + '\n')
console.log(summary)
process.exit(failed === 0 ? 0 : 1)
