// Scopes: `using` on the allocators and the heap group (Symbol.dispose), the stack's frames and
// scope(). vitest lowers `using` for Node 20, as TypeScript or a bundler does for a user.
import { describe, it, expect } from 'vitest'
import { MemoryManager, StackAllocator, HeapGroup } from '../../host/index.js'
import { thrown } from './helpers.js'

describe('using an allocator', () => {
  it('a heap made by create is destroyed at the end of its scope', () => {
    let outside: MemoryManager
    {
      using mm = MemoryManager.createSync({ size: 64 * 1024 })
      outside = mm
      expect(mm.malloc(100)).not.toBe(0)
      expect(mm.destroyed).toBe(false)
    }
    expect(outside.destroyed).toBe(true)
    expect(thrown(() => outside.malloc(8)).code).toBe('DESTROYED')
  })

  it('a destroy() inside the scope is no error at its end', () => {
    const run = () => {
      using st = StackAllocator.createSync({ size: 4096 })
      st.push(8)
      st.destroy()
    }
    expect(run).not.toThrow()
  })

  it('an attached face lets go of itself only: the pool goes on for its creator', () => {
    const mm = MemoryManager.createSync({ size: 64 * 1024 })
    const kept = mm.malloc(40)
    let face: MemoryManager
    {
      using attached = MemoryManager.attachSync(mm.handle)
      face = attached
      attached.free(attached.malloc(16))
      attached.write(kept, [1, 2, 3])
    }
    expect(face.destroyed).toBe(true)
    expect(() => face.malloc(8)).toThrow(/attached face was disposed/)
    expect(thrown(() => face.free(kept)).code).toBe('DESTROYED')
    expect(thrown(() => face.stats()).code).toBe('DESTROYED')
    expect(() => face[Symbol.dispose]()).not.toThrow()
    expect(mm.destroyed).toBe(false)
    expect(Array.from(mm.read(kept, 3))).toEqual([1, 2, 3])
    expect(mm.stats().liveBlocks).toBe(1)
    mm.free(kept)
    expect(mm.validate().liveBlocks).toBe(0)
  })

  it('an attached stack face disposed inside exclusive() is refused, and stays usable', () => {
    const st = StackAllocator.createSync({ size: 4096 })
    const face = StackAllocator.attachSync(st.handle)
    face.exclusive(() => {
      expect(() => face[Symbol.dispose]()).toThrow(/cannot run inside exclusive/)
      face.push(16)
    })
    expect(face.depth).toBe(1)
    face[Symbol.dispose]()
    expect(face.destroyed).toBe(true)
    expect(st.depth).toBe(1)
  })

  it('a heap group made by create is destroyed; an attached one lets go of its faces only', () => {
    const group = HeapGroup.createSync({ heaps: 2, size: 64 * 1024 })
    const ptr = group.heap(1).malloc(64)
    {
      using other = HeapGroup.attachSync(group.handle)
      expect(other.ownerOf(ptr)).toBe(other.heap(1))
    }
    expect(group.heap(1).usableSize(ptr)).toBeGreaterThanOrEqual(64)
    const heaps = [group.heap(0), group.heap(1)]
    {
      using owned = group
      expect(owned.stats()).toHaveLength(2)
    }
    expect(heaps.map((heap) => heap.destroyed)).toEqual([true, true])
  })
})

describe('stack frames', () => {
  it('disposing a frame frees what was pushed after it, frames nesting', () => {
    const st = StackAllocator.createSync({ size: 8192 })
    const below = st.push(24)
    const usedBefore = st.used
    {
      using outer = st.frame()
      st.push(100)
      {
        using inner = st.frame()
        st.push(200, 64)
        st.push(8)
        expect(inner.marker).toBeGreaterThan(outer.marker)
        expect(st.depth).toBe(4)
      }
      expect(st.depth).toBe(2)
    }
    expect(st.depth).toBe(1)
    expect(st.used).toBe(usedBefore)
    st.pop(below)
    expect(st.depth).toBe(0)
  })

  it('a frame whose blocks are already gone frees nothing: popped, cleared, or the stack destroyed', () => {
    const st = StackAllocator.createSync({ size: 8192 })
    const kept = st.push(16)
    const popped = st.frame()
    st.pop(st.push(32))
    popped[Symbol.dispose]()
    expect(st.depth).toBe(1)
    const cleared = st.frame()
    st.push(8)
    st.clear()
    cleared[Symbol.dispose]()
    expect(st.depth).toBe(0)
    expect(st.push(16)).toBe(kept) // the stack is as clear() left it
    const orphan = st.frame()
    st.destroy()
    expect(() => orphan[Symbol.dispose]()).not.toThrow()
  })

  it('a frame whose marker falls inside a block pushed after the stack changed under it is STACK_ORDER, and frees nothing', () => {
    const st = StackAllocator.createSync({ size: 8192 })
    st.push(8)
    const frame = st.frame()
    st.clear()
    st.push(256) // covers the frame's marker
    const used = st.used
    expect(thrown(() => frame[Symbol.dispose]()).code).toBe('STACK_ORDER')
    expect(st.used).toBe(used)
    expect(st.depth).toBe(1)
  })

  it('scope() returns what its function returns, having freed what it pushed', () => {
    const st = StackAllocator.createSync({ size: 8192 })
    st.push(8)
    const top = st.mark()
    const sum = st.scope(() => {
      const a = st.push(16)
      st.write(a, [5, 6, 7])
      return Array.from(st.read(a, 3)).reduce((x, y) => x + y, 0)
    })
    expect(sum).toBe(18)
    expect(st.mark()).toBe(top)
    expect(st.depth).toBe(1)
  })

  it('scope() frees what it pushed when its function throws, and throws that error', () => {
    const st = StackAllocator.createSync({ size: 8192 })
    const inside = new Error('inside')
    expect(() => st.scope(() => {
      st.push(64)
      st.push(64)
      throw inside
    })).toThrow(inside)
    expect(st.depth).toBe(0)
    expect(st.stats().currentUsage).toBe(0)
  })

  it('scope() refuses what is not a synchronous function, pushing nothing', () => {
    const st = StackAllocator.createSync({ size: 8192 })
    expect(() => st.scope(async () => st.push(8))).toThrow(TypeError)
    expect(() => st.scope(42 as never)).toThrow(TypeError)
    expect(st.depth).toBe(0)
  })

  it('when the unwinding fails after the function threw, its STACK_ORDER carries the first error as cause', () => {
    const st = StackAllocator.createSync({ size: 8192 })
    st.push(8)
    const inside = new Error('inside')
    const caught = thrown(() => st.scope(() => {
      st.clear()
      st.push(512)
      throw inside
    }))
    expect(caught.code).toBe('STACK_ORDER')
    expect(caught.cause).toBe(inside)
    expect(st.depth).toBe(1)
  })
})
