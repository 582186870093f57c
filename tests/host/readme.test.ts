// The README's examples, run as a user runs them: each ```js block written to a file inside the
// package (so `import ... from 'wasm-memory-manager'` resolves to this package, as it does for a
// user) and run by plain `node`. A block that uses `mm` or the classes without importing them gets
// the import and a fresh heap first; a line whose comment states its value (`// true`,
// `// Uint8Array [1, 2, 3]`) is checked against it. Blocks that need a second thread (they post to a
// worker) are left to the thread tests. Why: the manual must stay true (its compat example, written
// as the seed's with the free at the end, throws PROTECTION unless the block is made writable first).
import { describe, it, expect } from 'vitest'
import { execFileSync } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'

const root = new URL('../../', import.meta.url)
const readme = readFileSync(new URL('README.md', root), 'utf8')
const outDir = new URL('build/readme-examples/', root)

interface Example {
  line: number
  code: string
}

function jsBlocks(text: string): Example[] {
  const blocks: Example[] = []
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].trim() !== '```js') continue
    const start = i + 1
    while (++i < lines.length && lines[i].trim() !== '```');
    blocks.push({ line: start + 1, code: lines.slice(start, i).join('\n') })
  }
  return blocks
}

const needsWorker = (code: string) => /\bpostMessage\b|\bonmessage\b/.test(code)

/** A line `expression  // value` becomes a check of the value, for the values the README writes. */
function withStatedValues(code: string): string {
  return code
    .split('\n')
    .map((line) => {
      const stated = /^(\s*)([^=/]+?)\s*\/\/\s*(true|false|Uint8Array \[[\d, ]*\])\s*$/.exec(line)
      if (!stated || /^\s*(const|let|var)\b/.test(stated[2])) return line
      const [, indent, expression, value] = stated
      const expected = value.startsWith('Uint8Array') ? `[${value.slice(value.indexOf('[') + 1, -1)}]` : value
      const actual = value.startsWith('Uint8Array') ? `[...(${expression})]` : `(${expression})`
      return `${indent}{ const actual = ${actual}; if (JSON.stringify(actual) !== JSON.stringify(${expected})) throw new Error(${JSON.stringify(`${expression.trim()} is not ${value}`)} + ': ' + JSON.stringify(actual)) }`
    })
    .join('\n')
}

function runnable(example: Example): string {
  const prelude: string[] = []
  if (!/^import\b/m.test(example.code)) {
    prelude.push("import { MemoryManager, StackAllocator, Protection, MemoryError } from 'wasm-memory-manager'")
    if (/\bmm\./.test(example.code) && !/\bconst mm\b/.test(example.code)) prelude.push('const mm = await MemoryManager.create()')
  }
  return [...prelude, withStatedValues(example.code), ''].join('\n')
}

describe('the README examples', () => {
  const examples = jsBlocks(readme)
  const standalone = examples.filter((example) => !needsWorker(example.code))

  it('has examples to run (the parser found them)', () => {
    expect(standalone.length).toBeGreaterThanOrEqual(4)
    // The two that post to a worker: attach in another thread (threads.test.ts runs what it shows),
    // and recoverLock after a worker's exit (lock-recovery.test.ts).
    expect(examples.length - standalone.length).toBeLessThanOrEqual(2)
  })

  for (const example of standalone) {
    it(`the example at README.md line ${example.line} runs under plain node`, () => {
      mkdirSync(outDir, { recursive: true })
      const file = new URL(`line-${example.line}.mjs`, outDir)
      writeFileSync(file, runnable(example))
      let failure = ''
      try {
        execFileSync(process.execPath, [file.pathname], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
      } catch (error) {
        failure = String((error as { stderr?: string }).stderr || error)
      }
      expect(failure).toBe('')
    })
  }

  it("the quick start's demo (npm start) runs, and shows what it says it shows", () => {
    const out = execFileSync(process.execPath, [new URL('demo/demo.mjs', root).pathname], { cwd: root, encoding: 'utf8' })
    expect(out).toMatch(/write refused: PROTECTION/)
    expect(out).toMatch(/left live on purpose[\s\S]*\[texture\]/)
    expect(out).toMatch(/after freeing everything: 0 live blocks/)
    expect(out).toMatch(/after reset\(mark\): depth 0, used 0/)
    expect(out).toMatch(/a heap in another module's memory: the module's sum\(\d+, 4\) = 100/)
    expect(out).toMatch(/an off-by-one: CORRUPTION: .*red zone/)
    expect(out).toMatch(/a write after free: CORRUPTION: .*written after the free/)
  })

  it("every link to a section (#anchor) names a heading, as GitHub makes its anchor", () => {
    const anchorOf = (heading: string) => heading.trim().toLowerCase().replace(/[^\w\- ]/g, '').replace(/ /g, '-')
    const anchors = new Set(readme.split('\n').filter((line) => /^#{1,4} /.test(line)).map((line) => anchorOf(line.replace(/^#+ /, ''))))
    const links = [...readme.matchAll(/\]\(#([^)]+)\)/g)].map((match) => match[1])
    expect(links.length).toBeGreaterThanOrEqual(10)
    expect(links.filter((link) => !anchors.has(link))).toEqual([])
  })

  it('a stated value that does not hold fails the example', () => {
    const wrong = runnable({ line: 0, code: 'const m = await MemoryManager.create()\nconst p = m.malloc(8)\nm.isProtected(p, Protection.Read)   // true' })
    mkdirSync(outDir, { recursive: true })
    const file = new URL('wrong.mjs', outDir)
    writeFileSync(file, wrong)
    expect(() => execFileSync(process.execPath, [file.pathname], { cwd: root, stdio: 'ignore' })).toThrow()
  })
})
