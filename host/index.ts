// wasm-memory-manager: public exports.
export { MemoryManager } from './memory-manager.js'
export { MemoryError, type MemoryErrorCode } from './errors.js'
export { loadMemoryManager } from './load.js'
export {
  Protection,
  type Policy,
  type MemoryManagerOptions,
  type StackAllocatorOptions,
  type MemoryStats,
  type BlockInfo,
  type LeakInfo,
  type ValidationReport,
  type AllocatorHandle,
  type AttachOptions,
  type StackAttachOptions,
  type StackFrame,
} from './api.js'
export type { TextMapOptions, SvgMapOptions } from './heap-map.js'
export { StackAllocator } from './stack-allocator.js'
export { HeapGroup, type HeapGroupOptions, type HeapGroupHandle } from './heap-group.js'
export type { NumericType, TypedArrayOf, AnyTypedArray } from './typed.js'
