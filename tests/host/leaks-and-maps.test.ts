import { describe, it, expect } from 'vitest'
import { MemoryManager, StackAllocator, Protection } from '../../host/index.js'

function allocateForLeak(mm: MemoryManager) {
  return mm.malloc(48, 'mesh')
}

describe('leak detection', () => {
  it('leaks() lists the live blocks; with trackAllocations, where each was allocated and its tag', () => {
    const mm = MemoryManager.createSync({ size: 64 * 1024, trackAllocations: true })
    const leaked = allocateForLeak(mm)
    const freed = mm.malloc(10)
    const untagged = mm.calloc(2, 8)
    mm.free(freed)
    const leaks = mm.leaks()
    expect(leaks.map((leak) => leak.ptr)).toEqual([leaked, untagged].sort((a, b) => a - b))
    const mesh = leaks.find((leak) => leak.ptr === leaked)!
    expect(mesh.tag).toBe('mesh')
    expect(mesh.size).toBe(48)
    expect(mesh.site).toMatch(/leaks-and-maps\.test\.ts/)
    expect(mesh.stack).toMatch(/allocateForLeak/)
    expect(leaks.find((leak) => leak.ptr === untagged)!.tag).toBeUndefined()
  })

  it('realloc carries the site along; free forgets it', () => {
    const mm = MemoryManager.createSync({ size: 64 * 1024, trackAllocations: true })
    const ptr = mm.malloc(16, 'grows')
    mm.malloc(8)
    const moved = mm.realloc(ptr, 4000)
    expect(moved).not.toBe(ptr)
    expect(mm.leaks().find((leak) => leak.ptr === moved)?.tag).toBe('grows')
    mm.free(moved)
    expect(mm.leaks().some((leak) => leak.tag === 'grows')).toBe(false)
  })

  it('formatLeaks groups the live blocks by site and tag', () => {
    const mm = MemoryManager.createSync({ size: 64 * 1024, trackAllocations: true })
    for (let i = 0; i < 5; i++) mm.malloc(100, 'texture')
    mm.malloc(7, 'name')
    const report = mm.formatLeaks()
    expect(report).toMatch(/^6 live block\(s\), 507 bytes:/)
    expect(report).toMatch(/5 block\(s\), 500 bytes \[texture\] at .*leaks-and-maps\.test\.ts/)
    expect(report).toMatch(/1 block\(s\), 7 bytes \[name\]/)
    expect(report.indexOf('[texture]')).toBeLessThan(report.indexOf('[name]'))
  })

  it('blocks another thread frees are forgotten: not listed under this face\'s sites, and the record does not grow for ever', () => {
    // A producer that allocates with tracking on and a consumer (another face: another thread) that
    // frees. Only this face's own free forgets a site, so the record kept every block the consumer
    // freed, and a block the consumer allocated again at the same address was listed under the
    // producer's site.
    const producer = MemoryManager.createSync({ size: 1 << 20, trackAllocations: true })
    const consumer = MemoryManager.attachSync(producer.handle)
    const sites = () => (producer as unknown as { origins: Map<number, unknown> }).origins
    for (let round = 0; round < 40; round++) {
      const batch = Array.from({ length: 500 }, (_, i) => producer.malloc(32 + ((i + round) % 100) * 8, 'message'))
      for (const ptr of batch) consumer.free(ptr)
      consumer.malloc(8) // so that the next batch lies elsewhere
    }
    expect(sites().size).toBeLessThanOrEqual(4096) // 20,000 allocations at over 10,000 addresses, none live now
    const made = producer.malloc(40, 'message')
    consumer.free(made)
    const own = consumer.malloc(36) // at the same address (the same block size), another requested size
    expect(own).toBe(made)
    const kept = producer.malloc(24, 'kept')
    const listed = producer.leaks().filter((leak) => leak.ptr === own || leak.ptr === kept)
    expect(listed.map((leak) => [leak.ptr, leak.tag])).toEqual([[own, undefined], [kept, 'kept']].sort((a, b) => (a[0] as number) - (b[0] as number)))
    expect(sites().has(own)).toBe(false) // leaks() dropped it
  })

  it('without tracking, leaks() still lists every live block, without sites', () => {
    const mm = MemoryManager.createSync({ size: 64 * 1024 })
    const ptr = mm.malloc(5)
    expect(mm.leaks()).toEqual([{ ptr, size: 5 }])
    expect(mm.formatLeaks()).toMatch(/allocation site not tracked/)
    mm.free(ptr)
    expect(mm.formatLeaks()).toMatch(/nothing leaked/)
  })
})

describe('heap maps', () => {
  it('the text map shows used, free and protected cells with a legend and the statistics', () => {
    const mm = MemoryManager.createSync({ size: 8192 })
    const a = mm.malloc(2040) // the first quarter of the pool
    const b = mm.malloc(2040)
    mm.protect(b, 1, Protection.Read)
    const map = mm.formatMap({ columns: 16, rows: 1 })
    const row = map.split('\n')[1]
    expect(row).toMatch(/^\|####PPPP\+\.{7}\|$/) // + is the table of fingerprints, right after b
    expect(map).toContain('1 cell = 512 bytes')
    expect(map).toContain("'P' holds a block that is not writable")
    expect(map).toContain('Heap allocator statistics')
    mm.protect(b, 1, Protection.ReadWrite)
    mm.free(b)
    expect(mm.formatMap({ columns: 16, rows: 1 }).split('\n')[1]).toBe('|####............|')
    expect(a).not.toBe(0)
  })

  it('the SVG map is a well-formed document with one rectangle a non-free block', () => {
    const mm = MemoryManager.createSync({ size: 8192 })
    mm.malloc(100)
    const b = mm.malloc(100)
    mm.protect(b, 1, Protection.None)
    const svg = mm.mapSvg({ width: 400 })
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true)
    expect(svg.endsWith('</svg>')).toBe(true)
    expect(svg.match(/<rect [^>]*fill="#3b7dd8"><title>used/g)).toHaveLength(2) // a, and the fingerprint table
    expect(svg.match(/<rect [^>]*fill="#d9534f"><title>protected/g)).toHaveLength(1)
    expect(svg).toContain('Heap map')
  })

  it('map sizes that are not whole numbers in range, options that are not an object, a printStats writer that is not a function: RangeError or TypeError', () => {
    // Unchecked, columns 0 or 'x' drew one column, 1e9 columns threw the engine's 'Invalid typed
    // array length', an SVG 0 or NaN pixels wide was written as such, and printStats(5) failed inside.
    const mm = MemoryManager.createSync({ size: 8192 })
    for (const columns of [0, -5, 2.5, 1001, 1e9, NaN]) expect(() => mm.formatMap({ columns }), `columns ${columns}`).toThrow(RangeError)
    expect(() => mm.formatMap({ rows: 0 })).toThrow(RangeError)
    expect(() => mm.formatMap({ columns: 'x' as never })).toThrow(TypeError)
    expect(() => mm.formatMap(null as never)).toThrow(/map options must be an object/)
    for (const width of [0, -1, NaN, 1e9]) expect(() => mm.mapSvg({ width }), `width ${width}`).toThrow(RangeError)
    expect(() => mm.mapSvg({ height: 0.5 })).toThrow(RangeError)
    expect(() => mm.mapSvg({ title: 5 as never })).toThrow(TypeError)
    expect(() => mm.printStats(5 as never)).toThrow(/printStats takes a function/)
    expect(mm.formatMap({ columns: 1000, rows: 1 }).split('\n')[1]).toHaveLength(1002) // the bounds themselves work
  })

  it('the stack draws its used bytes from the bottom', () => {
    const st = StackAllocator.createSync({ size: 4096 })
    st.push(2032) // with its 16-byte header: half the pool
    expect(st.formatMap({ columns: 8, rows: 1 }).split('\n')[1]).toBe('|####....|')
    expect(st.mapSvg()).toContain('Stack map')
  })
})
