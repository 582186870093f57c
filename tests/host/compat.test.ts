// The seed's usage example, through wasm-memory-manager/compat, line for line.
import { describe, it, expect } from 'vitest'
import {
  memory_manager_init, memory_manager_malloc, memory_manager_calloc, memory_manager_realloc,
  memory_manager_free, memory_manager_protect, memory_manager_is_protected, memory_manager_get_stats,
  memory_manager_print_stats, memory_manager_reset_stats, memory_manager_destroy,
  MEMORY_PROTECT_NONE, MEMORY_PROTECT_READ, MEMORY_PROTECT_WRITE, MEMORY_PROTECT_EXEC,
  MEMORY_PROTECT_READ_WRITE, MEMORY_PROTECT_READ_EXEC, MEMORY_PROTECT_WRITE_EXEC, MEMORY_PROTECT_READ_WRITE_EXEC,
  stack_allocator_init, stack_allocator_push, stack_allocator_pop, stack_allocator_get_stats,
  stack_allocator_print_stats, stack_allocator_reset_stats, stack_allocator_destroy,
} from '../../host/compat.js'

describe('compat: the seed usage example', () => {
  it('runs as written in C', () => {
    const manager = memory_manager_init(1024 * 1024) // 1MB pool
    const ptr = memory_manager_malloc(manager, 100)
    expect(ptr).not.toBe(0)
    manager.writeString(ptr, 'Hello, World!') // strcpy(ptr, "Hello, World!")
    expect(memory_manager_protect(manager, ptr, 100, MEMORY_PROTECT_READ)).toBe(true)
    expect(memory_manager_is_protected(manager, ptr, MEMORY_PROTECT_READ)).toBe(true)
    const printed: string[] = []
    memory_manager_print_stats(manager, (text) => printed.push(text))
    expect(printed[0]).toContain('Current usage')
    expect(manager.readString(ptr)).toBe('Hello, World!')
    memory_manager_protect(manager, ptr, 100, MEMORY_PROTECT_READ_WRITE)
    memory_manager_free(manager, ptr)
    expect(memory_manager_get_stats(manager)).toMatchObject({ allocationCount: 1, freeCount: 1, currentUsage: 0 })
    memory_manager_destroy(manager)
    expect(() => memory_manager_malloc(manager, 1)).toThrow(expect.objectContaining({ code: 'DESTROYED' }))
  })

  it('keeps the C values of the protection constants', () => {
    expect([MEMORY_PROTECT_NONE, MEMORY_PROTECT_READ, MEMORY_PROTECT_WRITE, MEMORY_PROTECT_EXEC]).toEqual([0, 1, 2, 4])
    expect([MEMORY_PROTECT_READ_WRITE, MEMORY_PROTECT_READ_EXEC, MEMORY_PROTECT_WRITE_EXEC, MEMORY_PROTECT_READ_WRITE_EXEC]).toEqual([3, 5, 6, 7])
  })

  it('calloc, realloc and reset_stats', () => {
    const manager = memory_manager_init(64 * 1024)
    const zeroed = memory_manager_calloc(manager, 10, 10)
    expect([...manager.read(zeroed, 100)].every((byte) => byte === 0)).toBe(true)
    const grown = memory_manager_realloc(manager, zeroed, 1000)
    expect(manager.usableSize(grown)).toBeGreaterThanOrEqual(1000)
    memory_manager_reset_stats(manager)
    expect(memory_manager_get_stats(manager)).toMatchObject({ allocationCount: 0, currentUsage: 1000, peakUsage: 1000 })
  })

  it('the stack allocator functions', () => {
    const stack = stack_allocator_init(4096)
    const a = stack_allocator_push(stack, 100)
    const b = stack_allocator_push(stack, 200)
    expect(b).toBeGreaterThan(a)
    stack_allocator_pop(stack)
    expect(stack_allocator_get_stats(stack)).toMatchObject({ allocationCount: 2, freeCount: 1, currentUsage: 100 })
    const printed: string[] = []
    stack_allocator_print_stats(stack, (text) => printed.push(text))
    expect(printed[0]).toContain('Stack allocator statistics')
    stack_allocator_reset_stats(stack)
    expect(stack_allocator_get_stats(stack)).toMatchObject({ allocationCount: 0, currentUsage: 100 })
    stack_allocator_destroy(stack)
    expect(() => stack_allocator_push(stack, 1)).toThrow(expect.objectContaining({ code: 'DESTROYED' }))
  })

  it('a first argument that is not the allocator its init returned: a TypeError naming the function', () => {
    const manager = memory_manager_init(4096)
    const stack = stack_allocator_init(4096)
    expect(() => memory_manager_malloc(null as never, 8)).toThrow(/^memory_manager_malloc: the manager must be a MemoryManager \(from memory_manager_init\), got null$/)
    expect(() => memory_manager_free(undefined as never, 0)).toThrow(/memory_manager_free: .* got undefined/)
    expect(() => memory_manager_get_stats(stack as never)).toThrow(/memory_manager_get_stats: .* got StackAllocator/)
    expect(() => stack_allocator_push(manager as never, 8)).toThrow(/stack_allocator_push: the stack must be a StackAllocator \(from stack_allocator_init\), got MemoryManager/)
    expect(() => memory_manager_destroy({} as never)).toThrow(TypeError)
    expect(memory_manager_get_stats(manager).allocationCount).toBe(0) // nothing happened to either
    expect(stack_allocator_get_stats(stack).allocationCount).toBe(0)
  })
})
