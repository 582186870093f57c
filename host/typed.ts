// Typed views: allocate an array of a numeric type and get a typed array over it, as users of
// @thi.ng/malloc's mallocAs/callocAs expect.
//
// Over a shared memory (the default where threads are possible) a view stays valid when the pool
// grows: growth never moves or detaches a SharedArrayBuffer's bytes. Over an unshared memory,
// growth detaches every ArrayBuffer view (length 0): refreshView() gives a new view of the same block.

export type NumericType = 'u8' | 'u8c' | 'i8' | 'u16' | 'i16' | 'u32' | 'i32' | 'f32' | 'f64' | 'i64' | 'u64'

export type TypedArrayOf<T extends NumericType> = {
  u8: Uint8Array; u8c: Uint8ClampedArray; i8: Int8Array; u16: Uint16Array; i16: Int16Array; u32: Uint32Array
  i32: Int32Array; f32: Float32Array; f64: Float64Array; i64: BigInt64Array; u64: BigUint64Array
}[T]

export type AnyTypedArray = TypedArrayOf<NumericType>

type Constructor = { new (buffer: ArrayBufferLike, byteOffset: number, length: number): AnyTypedArray; BYTES_PER_ELEMENT: number }

export const TYPED_CONSTRUCTORS: Record<NumericType, Constructor> = {
  u8: Uint8Array, u8c: Uint8ClampedArray, i8: Int8Array, u16: Uint16Array, i16: Int16Array, u32: Uint32Array,
  i32: Int32Array, f32: Float32Array, f64: Float64Array, i64: BigInt64Array, u64: BigUint64Array,
}

export function typedConstructor(type: unknown): Constructor {
  const constructor = typeof type === 'string' ? TYPED_CONSTRUCTORS[type as NumericType] : undefined
  if (!constructor) throw new TypeError(`type must be one of ${Object.keys(TYPED_CONSTRUCTORS).join(', ')}, got ${String(type)}`)
  return constructor
}

/** The constructor of an existing view, for refreshView. */
export function constructorOf(view: AnyTypedArray): Constructor {
  for (const constructor of Object.values(TYPED_CONSTRUCTORS)) if (view instanceof constructor) return constructor
  throw new TypeError('not a typed array view')
}

export function isTypedArray(value: unknown): value is AnyTypedArray {
  return ArrayBuffer.isView(value) && !(value instanceof DataView)
}
