// Error results of the exported ABI.
//
// Exports that return a pointer or a size return an error as the u32 value `0 - code`, that is
// 0xFFFFFFF1..0xFFFFFFFF (-15..-1 when JavaScript reads the i32). No pointer or size can take those
// values: a pool ends at or below 0xFFFF0000. 0 stays NULL: "cannot be satisfied", not an error.
// The codes are mirrored by host/errors.ts; keep the two in step.

export const ERR_INVALID_POINTER: u32 = 1;
export const ERR_DOUBLE_FREE: u32 = 2;
export const ERR_CORRUPTION: u32 = 3;
export const ERR_PROTECTION: u32 = 4;
export const ERR_OUT_OF_BOUNDS: u32 = 5;
export const ERR_STACK_ORDER: u32 = 6;
export const ERR_STACK_EMPTY: u32 = 7;
export const ERR_DESTROYED: u32 = 8;
/** Internal bookkeeping (a protection fingerprint) found no room in the pool. */
export const ERR_OUT_OF_MEMORY: u32 = 9;

/** The u32 result that carries `code`. */
// @ts-ignore: decorator
@inline export function errorResult(code: u32): u32 {
  return 0 - code;
}

// @ts-ignore: decorator
@inline export function isErrorResult(result: u32): bool {
  return result >= 0xffff_fff0;
}

