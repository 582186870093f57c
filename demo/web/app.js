// The live heap-map page: a heap and a stack, buttons for their operations, and a stress run of
// Web Workers that share the heap's pool (when the page is cross-origin isolated).
import { MemoryManager, StackAllocator, Protection } from '/dist/index.browser.js'

const heap = await MemoryManager.create({ size: 64 * 1024, maxSize: 4 * 1024 * 1024, trackAllocations: true })
const stack = await StackAllocator.create({ size: 64 * 1024 })
const live = []
const pushed = []
const $ = (id) => document.getElementById(id)
const log = (text) => { $('log').textContent = text }
const randomSize = () => Math.floor(2 ** (3 + Math.random() * 10))
const pick = () => live[Math.floor(Math.random() * live.length)]

$('mode').textContent = heap.shared
  ? 'cross-origin isolated: the heap is in shared memory and Web Workers allocate from the same pool'
  : 'not cross-origin isolated: unshared memory, single-threaded (the "workers" button explains)'

function render() {
  $('heap-map').innerHTML = heap.mapSvg({ width: 720 })
  $('stack-map').innerHTML = stack.mapSvg({ width: 720, height: 24 })
  $('heap-stats').textContent = heap.formatStats()
  $('stack-stats').textContent = stack.formatStats()
}

function act(name, action) {
  $(name).addEventListener('click', () => {
    try {
      log(action())
    } catch (error) {
      log(`${name}: ${error.message}`)
    }
    render()
  })
}

act('malloc', () => {
  const size = randomSize()
  const ptr = heap.malloc(size, 'demo')
  if (ptr) live.push(ptr)
  return ptr ? `malloc(${size}) = ${ptr}` : `malloc(${size}) = 0: no room`
})
act('free', () => {
  const ptr = pick()
  if (ptr === undefined) return 'nothing to free'
  if (!(heap.protection(ptr) & Protection.Write)) heap.protect(ptr, 0, Protection.ReadWrite)
  heap.free(ptr)
  live.splice(live.indexOf(ptr), 1)
  return `free(${ptr})`
})
act('realloc', () => {
  const ptr = pick()
  if (ptr === undefined) return 'nothing to realloc'
  if (!(heap.protection(ptr) & Protection.Write)) return `${ptr} is read-only: protect it back first`
  const size = randomSize()
  const moved = heap.realloc(ptr, size)
  if (moved) live[live.indexOf(ptr)] = moved
  return `realloc(${ptr}, ${size}) = ${moved}`
})
act('protect', () => {
  const ptr = pick()
  if (ptr === undefined) return 'nothing to protect'
  const next = heap.protection(ptr) === Protection.Read ? Protection.ReadWrite : Protection.Read
  heap.protect(ptr, 0, next)
  return `protect(${ptr}, ${Protection[next]})`
})
act('clear', () => {
  const count = heap.stats().liveBlocks
  heap.clear() // refused, with the block named, while one is read-only
  live.length = 0
  return `clear(): ${count} blocks freed at once`
})
act('push', () => {
  const size = randomSize()
  const ptr = stack.push(size)
  if (ptr) pushed.push(ptr)
  return ptr ? `push(${size}) = ${ptr}` : 'push: the stack is full'
})
act('pop', () => {
  if (pushed.length === 0) return 'the stack is empty'
  stack.pop(pushed.pop())
  return 'pop()'
})

$('workers').addEventListener('click', async () => {
  if (!heap.shared) {
    log('workers need a cross-origin isolated page (COOP/COEP headers): serve it with npm run demo')
    return
  }
  const count = 4
  const operations = 100_000
  log(`${count} workers x ${operations.toLocaleString()} operations on this heap…`)
  const started = performance.now()
  const results = await Promise.all(Array.from({ length: count }, (_, id) => new Promise((resolve, reject) => {
    const worker = new Worker('./worker.js', { type: 'module' })
    worker.onmessage = ({ data }) => { worker.terminate(); resolve(data) }
    worker.onerror = (event) => reject(new Error(event.message))
    worker.postMessage({ handle: heap.handle, operations, id })
  })))
  const seconds = (performance.now() - started) / 1000
  const corrupted = results.reduce((sum, r) => sum + r.corrupted, 0)
  heap.validate()
  log(`${count} workers: ${((count * operations) / seconds / 1e6).toFixed(2)} M ops/s in all, ${corrupted} corrupted blocks, validate() passed`)
  render()
})

render()
window.demoReady = true
