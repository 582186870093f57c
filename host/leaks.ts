// Leak detection: where live blocks were allocated. With `trackAllocations`, each allocation made
// through a face records a stack trace (captured in the host: wasm has none to give) and an optional
// tag; leaks() attaches them and formatLeaks() groups the live blocks by site.
// Tracking costs a stack capture per allocation, so it is off by default. A face records only its
// own allocations: blocks allocated by another thread are listed without a site. Only the face's own
// free forgets a site, so a block another thread freed is still in the record: an origin counts only
// while a live block of its address has its requested size, and the record is pruned to the live
// blocks as it grows (a producer whose consumer frees would otherwise keep a site for every address
// it ever used). A block freed and allocated again by another thread at the same address and size
// cannot be told from the one recorded, and keeps its site.

import type { LeakInfo } from './api.js'

export interface AllocationOrigin {
  site: string
  stack: string
  tag?: string
  /** The requested size the allocation had: a live block of another size at the address is another allocation. */
  size: number
}

/** Frames of this library, skipped when naming the site of an allocation. */
const LIBRARY_FRAME = /[\\/](host|dist)[\\/](memory-manager|allocator|compat)\.(ts|js)/

export function captureOrigin(tag: string | undefined, size: number): AllocationOrigin {
  const stack = (new Error().stack ?? '').split('\n').slice(1).map((line) => line.trim())
  const outside = stack.filter((frame) => !LIBRARY_FRAME.test(frame) && !frame.includes('captureOrigin'))
  const site = (outside[0] ?? 'unknown site').replace(/^at /, '')
  return tag === undefined ? { site, stack: outside.join('\n'), size } : { site, stack: outside.join('\n'), tag, size }
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
