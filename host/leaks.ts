// Leak detection: where live blocks were allocated. With `trackAllocations`, each allocation made
// through a face records a stack trace (captured in the host: wasm has none to give) and an optional
// tag; leaks() attaches them and formatLeaks() groups the live blocks by site.
// Tracking costs a stack capture per allocation, so it is off by default. A face records only its
// own allocations: blocks allocated by another thread are listed without a site.

import type { LeakInfo } from './api.js'

export interface AllocationOrigin {
  site: string
  stack: string
  tag?: string
}

/** Frames of this library, skipped when naming the site of an allocation. */
const LIBRARY_FRAME = /[\\/](host|dist)[\\/](memory-manager|allocator|compat)\.(ts|js)/

export function captureOrigin(tag: string | undefined): AllocationOrigin {
  const stack = (new Error().stack ?? '').split('\n').slice(1).map((line) => line.trim())
  const outside = stack.filter((frame) => !LIBRARY_FRAME.test(frame) && !frame.includes('captureOrigin'))
  const site = (outside[0] ?? 'unknown site').replace(/^at /, '')
  return tag === undefined ? { site, stack: outside.join('\n') } : { site, stack: outside.join('\n'), tag }
}

/** Live blocks grouped by site and tag, largest total first. */
export function formatLeakReport(leaks: readonly LeakInfo[]): string {
  if (leaks.length === 0) return 'No live blocks: nothing leaked.'
  const groups = new Map<string, { site: string; tag?: string; count: number; bytes: number; ptrs: number[] }>()
  for (const leak of leaks) {
    const site = leak.site ?? '(allocation site not tracked)'
    const key = `${site}\u0000${leak.tag ?? ''}`
    const group = groups.get(key) ?? { site, tag: leak.tag, count: 0, bytes: 0, ptrs: [] }
    group.count++
    group.bytes += leak.size
    if (group.ptrs.length < 8) group.ptrs.push(leak.ptr)
    groups.set(key, group)
  }
  const total = leaks.reduce((sum, leak) => sum + leak.size, 0)
  const lines = [`${leaks.length} live block(s), ${total.toLocaleString('en-US')} bytes:`]
  for (const group of [...groups.values()].sort((a, b) => b.bytes - a.bytes)) {
    const tag = group.tag === undefined ? '' : ` [${group.tag}]`
    const more = group.count > group.ptrs.length ? ', ...' : ''
    lines.push(`  ${group.count} block(s), ${group.bytes.toLocaleString('en-US')} bytes${tag} at ${group.site}`)
    lines.push(`      ptrs ${group.ptrs.join(', ')}${more}`)
  }
  return lines.join('\n')
}
