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
  return manager.malloc(size)
}
export function memory_manager_calloc(manager: MemoryManager, count: number, size: number): number {
  return manager.calloc(count, size)
}
export function memory_manager_realloc(manager: MemoryManager, ptr: number, size: number): number {
  return manager.realloc(ptr, size)
}
export function memory_manager_free(manager: MemoryManager, ptr: number): void {
  manager.free(ptr)
}
/** Returns true once the protection is set (errors are thrown as MemoryError). */
export function memory_manager_protect(manager: MemoryManager, ptr: number, size: number, prot: Protection): boolean {
  manager.protect(ptr, size, prot)
  return true
}
export function memory_manager_is_protected(manager: MemoryManager, ptr: number, prot: Protection): boolean {
  return manager.isProtected(ptr, prot)
}
export function memory_manager_get_stats(manager: MemoryManager): MemoryStats {
  return manager.stats()
}
export function memory_manager_print_stats(manager: MemoryManager, write?: (text: string) => void): void {
  manager.printStats(write)
}
export function memory_manager_reset_stats(manager: MemoryManager): void {
  manager.resetStats()
}
export function memory_manager_destroy(manager: MemoryManager): void {
  manager.destroy()
}

export function stack_allocator_init(size: number): StackAllocator {
  return StackAllocator.createSync({ size })
}
export function stack_allocator_push(stack: StackAllocator, size: number): number {
  return stack.push(size)
}
export function stack_allocator_pop(stack: StackAllocator, ptr?: number): void {
  stack.pop(ptr)
}
export function stack_allocator_get_stats(stack: StackAllocator): MemoryStats {
  return stack.stats()
}
export function stack_allocator_print_stats(stack: StackAllocator, write?: (text: string) => void): void {
  stack.printStats(write)
}
export function stack_allocator_reset_stats(stack: StackAllocator): void {
  stack.resetStats()
}
export function stack_allocator_destroy(stack: StackAllocator): void {
  stack.destroy()
}
