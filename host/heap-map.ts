// Heap maps: where the pool's bytes are, at a glance. A text map for terminals (one character a cell,
// each cell a span of the pool) and an SVG map (a string) for READMEs and pages. Both take regions
// of the pool by offset, so the heap and the stack draw the same way.

export type RegionState = 'used' | 'free' | 'protected'

export interface MapRegion {
  /** Bytes from the pool's start. */
  offset: number
  length: number
  state: RegionState
}

export interface TextMapOptions {
  /** Cells a row. @defaultValue 64 */
  columns?: number
  /** Rows. @defaultValue 8 */
  rows?: number
}

export interface SvgMapOptions {
  /** @defaultValue 640 */
  width?: number
  /** Height of the bar. @defaultValue 48 */
  height?: number
  title?: string
}

export const MAP_LEGEND = "'#' used   '+' partly used   '.' free   'P' holds a block that is not writable"

const COLORS: Record<RegionState, string> = { used: '#3b7dd8', free: '#e4e7eb', protected: '#d9534f' }

/** One character a cell: P when any byte is protected, # when mostly used, + when partly, . when free. */
export function renderTextMap(regions: readonly MapRegion[], poolSize: number, options: TextMapOptions = {}): string {
  const columns = Math.max(1, Math.floor(options.columns ?? 64))
  const rows = Math.max(1, Math.floor(options.rows ?? 8))
  const cells = columns * rows
  const cellBytes = poolSize / cells
  const used = new Float64Array(cells)
  const protectedCell = new Uint8Array(cells)
  for (const region of regions) {
    if (region.state === 'free' || region.length <= 0) continue
    const end = region.offset + region.length
    for (let cell = Math.floor(region.offset / cellBytes); cell < cells && cell * cellBytes < end; cell++) {
      const from = Math.max(region.offset, cell * cellBytes)
      const to = Math.min(end, (cell + 1) * cellBytes)
      used[cell] += Math.max(0, to - from)
      if (region.state === 'protected') protectedCell[cell] = 1
    }
  }
  const lines: string[] = []
  for (let row = 0; row < rows; row++) {
    let line = ''
    for (let column = 0; column < columns; column++) {
      const cell = row * columns + column
      const share = used[cell] / cellBytes
      line += protectedCell[cell] ? 'P' : share >= 0.5 ? '#' : share > 0 ? '+' : '.'
    }
    lines.push(`|${line}|`)
  }
  return lines.join('\n')
}

function escapeXml(text: string): string {
  return text.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c] as string)
}

/** A bar of the pool, one rectangle a region, with a legend underneath. */
export function renderSvgMap(regions: readonly MapRegion[], poolSize: number, options: SvgMapOptions = {}): string {
  const width = options.width ?? 640
  const height = options.height ?? 48
  const top = options.title ? 22 : 4
  const scale = width / poolSize
  const rects = regions
    .filter((region) => region.state !== 'free' && region.length > 0)
    .map((region) => {
      const x = (region.offset * scale).toFixed(2)
      const w = Math.max(0.5, region.length * scale).toFixed(2)
      return `<rect x="${x}" y="${top}" width="${w}" height="${height}" fill="${COLORS[region.state]}"><title>${region.state}: ${region.length} bytes at +${region.offset}</title></rect>`
    })
  const legendY = top + height + 18
  const legend = (['used', 'free', 'protected'] as RegionState[])
    .map((state, i) => `<rect x="${i * 130}" y="${legendY - 10}" width="12" height="12" fill="${COLORS[state]}" stroke="#999"/><text x="${i * 130 + 18}" y="${legendY}" font-size="12">${state === 'protected' ? 'not writable' : state}</text>`)
    .join('')
  const title = options.title ? `<text x="0" y="14" font-size="14" font-weight="bold">${escapeXml(options.title)}</text>` : ''
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${legendY + 8}" viewBox="0 0 ${width} ${legendY + 8}" font-family="sans-serif">`,
    title,
    `<rect x="0" y="${top}" width="${width}" height="${height}" fill="${COLORS.free}" stroke="#999"/>`,
    ...rects,
    legend,
    '</svg>',
  ].join('')
}
