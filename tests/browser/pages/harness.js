// A tiny in-page test harness: checks run in the page and their results wait in window.testResults
// for the Playwright runner (tests/browser/run.mjs) to collect.
const results = []
export async function check(name, body) {
  try {
    await body()
    results.push({ name, ok: true })
  } catch (error) {
    results.push({ name, ok: false, error: String(error && error.stack ? error.stack : error) })
  }
}
export function assert(condition, message) {
  if (!condition) throw new Error(message)
}
export function finish() {
  window.testResults = results
}
