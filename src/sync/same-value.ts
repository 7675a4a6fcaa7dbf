/**
 * Whether a golden record's current value and an incoming one are the same for survivorship:
 * equal as JSON (null and undefined alike). Most values are strings, numbers and booleans:
 * compared without writing JSON.
 */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  const ta = typeof a;
  const tb = typeof b;
  if ((ta === 'string' || ta === 'number' || ta === 'boolean') && (tb === 'string' || tb === 'number' || tb === 'boolean')) {
    // Two different primitives are the same JSON only as non-finite numbers (NaN, ±Infinity: null).
    return ta === 'number' && tb === 'number' && !Number.isFinite(a) && !Number.isFinite(b);
  }
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}
