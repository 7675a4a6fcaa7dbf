/**
 * Strict sameness for the fast path's tests: what JSON or jest's toEqual could miss counts too
 * (undefined vs missing key, key order, null-prototype objects, array flags like `sequence`).
 * Returns null when same, else where they differ.
 */
export function difference(a: unknown, b: unknown, at = '$'): string | null {
  if (Object.is(a, b)) return null;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') {
    return `${at}: ${describe(a)} vs ${describe(b)}`;
  }
  if (Array.isArray(a) !== Array.isArray(b)) return `${at}: array vs non-array`;
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return `${at}: different prototypes`;
  if (Array.isArray(a) && (a as any).cons !== (b as any).cons) return `${at}: cons flag ${(a as any).cons} vs ${(b as any).cons}`;
  const ka = Object.keys(a as object);
  const kb = Object.keys(b as object);
  if (ka.join('\u0000') !== kb.join('\u0000')) return `${at}: keys ${JSON.stringify(ka)} vs ${JSON.stringify(kb)}`;
  for (const k of ka) {
    const d = difference((a as any)[k], (b as any)[k], `${at}.${k}`);
    if (d) return d;
  }
  return null;
}

function describe(v: unknown): string {
  if (v === undefined) return 'undefined';
  if (typeof v === 'function') return 'function';
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 120 ? `${text.slice(0, 120)}…` : text;
}
