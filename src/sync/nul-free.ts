/**
 * PostgreSQL text (and jsonb, and json once read as text) cannot hold U+0000: one vendor record
 * with a NUL in any string made the staging statement fail, so the whole page, and every later run
 * of the stream at the same page. Records are staged with each U+0000 replaced by U+FFFD (the
 * replacement character: visible where it lands, as for other characters that cannot be kept).
 */
export const NUL = '\u0000';
const REPLACEMENT = '\uFFFD';

/** The value with U+0000 replaced in every string and key (the value itself when it has none). */
export function withoutNul<T>(value: T): T {
  if (typeof value === 'string') return (value.includes(NUL) ? value.replaceAll(NUL, REPLACEMENT) : value) as T;
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => withoutNul(v)) as T;
  const proto = Object.getPrototypeOf(value);
  // Not plain data (a Date, a Buffer...): left as it is; JSON.stringify decides what it becomes.
  if (proto !== Object.prototype && proto !== null) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[withoutNul(k)] = withoutNul(v);
  return out as T;
}

/** Whether JSON text (as JSON.stringify writes it: U+0000 always as the escape `\u0000`) holds a U+0000. */
export function jsonHasNul(json: string): boolean {
  return json.includes('\\u0000');
}
