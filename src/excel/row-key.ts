/**
 * A row's key in `excel_row`: the first 64 bits of its row hash (the first 16 of its 32 hex
 * digits) as a signed bigint. An 8-byte primary key instead of a unique index over template + 32
 * characters of text; the stored template and full row hash are compared on every hit, so two
 * rows that share a key but not a hash (about n²/2⁶⁵ for n stored rows) are told apart and refused
 * with ROW_KEY_COLLISION, never taken for one another.
 */
export function rowKey(rowHash: string): string {
  return BigInt.asIntN(64, BigInt(`0x${rowHash.slice(0, 16)}`)).toString();
}

/** The same 64 bits as two unsigned 32-bit halves (for typed-array tables). */
export function rowKeyHalves(rowHash: string): [hi: number, lo: number] {
  return [parseInt(rowHash.slice(0, 8), 16) >>> 0, parseInt(rowHash.slice(8, 16), 16) >>> 0];
}
