// wasm-memory-manager/compat: the seed's C-style functions, thin wrappers over the classes, so code
// written against the C API reads the same. In a browser, `await loadMemoryManager()` once first.

import { MemoryManager } from './memory-manager.js'
import { StackAllocator } from './stack-allocator.js'
import { Protection, type MemoryStats } from './api.js'

export { loadMemoryManager } from './load.js'
export { MemoryManager, StackAllocator, Protection }

export const MEMORY_PROTECT_NONE = Protection.None
export const MEMORY_PROTECT_READ = Protection.Read
export const MEMORY_PROTECT_WRITE = Protection.Write
export const MEMORY_PROTECT_EXEC = Protection.Execute
export const MEMORY_PROTECT_READ_WRITE = Protection.ReadWrite
export const MEMORY_PROTECT_READ_EXEC = Protection.ReadExecute
export const MEMORY_PROTECT_WRITE_EXEC = Protection.WriteExecute
export const MEMORY_PROTECT_READ_WRITE_EXEC = Protection.ReadWriteExecute

export function memory_manager_init(size: number): MemoryManager {
  return MemoryManager.createSync({ size })
}
export function memory_manager_malloc(manager: MemoryManager, size: number): number {
  return heapOf(manager, 'memory_manager_malloc').malloc(size)
}
export function memory_manager_calloc(manager: MemoryManager, count: number, size: number): number {
  return heapOf(manager, 'memory_manager_calloc').calloc(count, size)
}
export function memory_manager_realloc(manager: MemoryManager, ptr: number, size: number): number {
  return heapOf(manager, 'memory_manager_realloc').realloc(ptr, size)
}
export function memory_manager_free(manager: MemoryManager, ptr: number): void {
  heapOf(manager, 'memory_manager_free').free(ptr)
}
/** Returns true once the protection is set (errors are thrown as MemoryError). */
export function memory_manager_protect(manager: MemoryManager, ptr: number, size: number, prot: Protection): boolean {
  heapOf(manager, 'memory_manager_protect').protect(ptr, size, prot)
  return true
}
export function memory_manager_is_protected(manager: MemoryManager, ptr: number, prot: Protection): boolean {
  return heapOf(manager, 'memory_manager_is_protected').isProtected(ptr, prot)
}
export function memory_manager_get_stats(manager: MemoryManager): MemoryStats {
  return heapOf(manager, 'memory_manager_get_stats').stats()
}
export function memory_manager_print_stats(manager: MemoryManager, write?: (text: string) => void): void {
  heapOf(manager, 'memory_manager_print_stats').printStats(write)
}
export function memory_manager_reset_stats(manager: MemoryManager): void {
  heapOf(manager, 'memory_manager_reset_stats').resetStats()
}
export function memory_manager_destroy(manager: MemoryManager): void {
  heapOf(manager, 'memory_manager_destroy').destroy()
}

export function stack_allocator_init(size: number): StackAllocator {
  return StackAllocator.createSync({ size })
}
export function stack_allocator_push(stack: StackAllocator, size: number): number {
  return stackOf(stack, 'stack_allocator_push').push(size)
}
export function stack_allocator_pop(stack: StackAllocator, ptr?: number): void {
  stackOf(stack, 'stack_allocator_pop').pop(ptr)
}
export function stack_allocator_get_stats(stack: StackAllocator): MemoryStats {
  return stackOf(stack, 'stack_allocator_get_stats').stats()
}
export function stack_allocator_print_stats(stack: StackAllocator, write?: (text: string) => void): void {
  stackOf(stack, 'stack_allocator_print_stats').printStats(write)
}
export function stack_allocator_reset_stats(stack: StackAllocator): void {
  stackOf(stack, 'stack_allocator_reset_stats').resetStats()
}
export function stack_allocator_destroy(stack: StackAllocator): void {
  stackOf(stack, 'stack_allocator_destroy').destroy()
}

// The first argument of every function is the allocator its init returned: anything else is a
// TypeError naming the function, not the engine's "Cannot read properties of null" from inside it.
function heapOf(manager: unknown, call: string): MemoryManager {
  if (manager instanceof MemoryManager) return manager
  throw new TypeError(`${call}: the manager must be a MemoryManager (from memory_manager_init), got ${describe(manager)}`)
}
function stackOf(stack: unknown, call: string): StackAllocator {
  if (stack instanceof StackAllocator) return stack
  throw new TypeError(`${call}: the stack must be a StackAllocator (from stack_allocator_init), got ${describe(stack)}`)
}
function describe(value: unknown): string {
  if (value === null) return 'null'
  if (typeof value !== 'object') return typeof value
  return (value as object).constructor?.name ?? 'an object'
}
