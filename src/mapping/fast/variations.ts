/**
 * Seeded variations of a fixture input for the differential test: fields deleted, set to null,
 * numbers and strings swapped, values wrapped in arrays, empty strings, full-width digits, nested
 * objects, ... (one to three changes each, at any depth).
 */
import { mulberry32 } from '../../util/prng';

type Path = Array<string | number>;

function paths(value: unknown, at: Path = [], out: Path[] = []): Path[] {
  if (Array.isArray(value)) value.forEach((v, i) => { out.push([...at, i]); paths(v, [...at, i], out); });
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      out.push([...at, k]);
      paths(v, [...at, k], out);
    }
  }
  return out;
}

const FULL_WIDTH = (s: string): string => s.replace(/[0-9]/g, (d) => String.fromCharCode(d.charCodeAt(0) + 0xfee0));

const CHANGES: Array<(v: unknown, r: () => number) => unknown> = [
  () => undefined, // delete
  () => null,
  (v) => (typeof v === 'number' ? String(v) : typeof v === 'string' && v.trim() !== '' && !Number.isNaN(Number(v)) ? Number(v) : v),
  (v) => (typeof v === 'string' ? v.length : typeof v === 'number' ? `${v}` : 42),
  (v) => [v],
  (v) => [v, v],
  () => '',
  (v) => (typeof v === 'string' ? FULL_WIDTH(v) : v),
  (v) => ({ value: v }),
  (v) => (typeof v === 'string' ? `  ${v} \n` : v),
  (v) => (typeof v === 'boolean' ? !v : typeof v === 'string' ? 'true' : false),
  () => [],
  () => ({}),
  (v, r) => (typeof v === 'number' ? v + r() : 0.1 + 0.2),
  (v) => (typeof v === 'string' ? v.toLowerCase() + 'é' : v),
  (v) => (typeof v === 'string' ? v.slice(0, Math.max(0, v.length - 3)) : v),
];

function setAt(root: unknown, path: Path, value: unknown): unknown {
  if (path.length === 0) return value;
  const [head, ...rest] = path;
  if (Array.isArray(root)) {
    const copy = [...root];
    const next = setAt(copy[head as number], rest, value);
    if (next === undefined && rest.length === 0) copy.splice(head as number, 1);
    else copy[head as number] = next;
    return copy;
  }
  const copy = { ...(root as Record<string, unknown>) };
  const next = setAt(copy[head as string], rest, value);
  if (next === undefined && rest.length === 0) delete copy[head as string];
  else copy[head as string] = next;
  return copy;
}

function getAt(root: unknown, path: Path): unknown {
  return path.reduce<any>((v, k) => (v == null ? undefined : v[k]), root);
}

/** `count` variations of `input`, reproducible from `seed`. */
export function variations(input: unknown, count: number, seed: number): unknown[] {
  const r = mulberry32(seed);
  const out: unknown[] = [];
  for (let n = 0; n < count; n++) {
    let v = JSON.parse(JSON.stringify(input ?? null)) as unknown;
    const changes = 1 + Math.floor(r() * 3);
    for (let c = 0; c < changes; c++) {
      const ps = paths(v);
      if (ps.length === 0) break;
      const p = ps[Math.floor(r() * ps.length)];
      const change = CHANGES[Math.floor(r() * CHANGES.length)];
      v = setAt(v, p, change(getAt(v, p), r));
    }
    out.push(v);
  }
  return out;
}
