// MemoryError: the one error class thrown for bad use of an allocator, with a stable `code`.
// The numeric codes mirror assembly/errors.ts; keep the two in step.

export type MemoryErrorCode =
  | 'INVALID_POINTER'
  | 'DOUBLE_FREE'
  | 'CORRUPTION'
  | 'PROTECTION'
  | 'OUT_OF_BOUNDS'
  | 'STACK_ORDER'
  | 'STACK_EMPTY'
  | 'DESTROYED'
  | 'OUT_OF_MEMORY'
  | 'LOCK_TIMEOUT'

/** Codes by the number the wasm module returns them as (`0 - n`). */
const CODE_BY_NUMBER: readonly MemoryErrorCode[] = [
  'INVALID_POINTER', // 0 is "no error" and never looked up
  'INVALID_POINTER',
  'DOUBLE_FREE',
  'CORRUPTION',
  'PROTECTION',
  'OUT_OF_BOUNDS',
  'STACK_ORDER',
  'STACK_EMPTY',
  'DESTROYED',
  'OUT_OF_MEMORY',
]

const DEFAULT_MESSAGES: Record<MemoryErrorCode, string> = {
  INVALID_POINTER: 'not the start of a live block of this allocator',
  DOUBLE_FREE: 'the block is already free',
  CORRUPTION: 'a block header or link does not hold',
  PROTECTION: "the block's protection forbids this",
  OUT_OF_BOUNDS: 'the access leaves the block',
  STACK_ORDER: 'not the most recent block on the stack',
  STACK_EMPTY: 'the stack is empty',
  DESTROYED: 'the allocator has been destroyed',
  OUT_OF_MEMORY: 'no room left in the pool for bookkeeping',
  LOCK_TIMEOUT: "another thread held the allocator's lock for longer than lockTimeout",
}

export interface MemoryErrorDetails {
  /** The pointer the call was given, when there was one. */
  ptr?: number
  /** The block the problem was found in (its payload pointer), when known. */
  block?: number
  /** What was found, and what was expected instead, for corruption reports. */
  found?: number | string
  expected?: number | string
}

export class MemoryError extends Error {
  readonly code: MemoryErrorCode
  readonly ptr?: number
  readonly block?: number
  readonly found?: number | string
  readonly expected?: number | string

  constructor(code: MemoryErrorCode, message?: string, details: MemoryErrorDetails = {}) {
    const where = details.ptr === undefined ? '' : ` (ptr ${details.ptr})`
    super(`${code}: ${message ?? DEFAULT_MESSAGES[code]}${where}`)
    this.name = 'MemoryError'
    this.code = code
    this.ptr = details.ptr
    this.block = details.block
    this.found = details.found
    this.expected = details.expected
  }
}

/** The u32 results in 0xFFFFFFF1..0xFFFFFFFF (read by JS as -15..-1) are errors. */
export function isErrorResult(result: number): boolean {
  return (result | 0) < 0 && (result | 0) >= -15
}

export function codeOfResult(result: number): MemoryErrorCode {
  return CODE_BY_NUMBER[-(result | 0)] ?? 'CORRUPTION'
}

/** Throws the MemoryError a wasm result carries, or returns the result as an unsigned number. */
export function unwrap(result: number, ptr?: number): number {
  if (isErrorResult(result)) throw new MemoryError(codeOfResult(result), undefined, { ptr })
  return result >>> 0
}
