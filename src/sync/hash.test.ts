import { createHash } from 'crypto';
import { mulberry32 } from '../util/prng';
import { canonicalJson, contentHash, hashedJson } from './hash';

/** The canonical form as first written: source_record.hash holds hashes of it, so it must never change. */
function reference(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(reference).join(',')}]`;
  const obj = value as Record<string, unknown>;
  return `{${Object.keys(obj).sort().filter((k) => obj[k] !== undefined).map((k) => `${JSON.stringify(k)}:${reference(obj[k])}`).join(',')}}`;
}

describe('content hash', () => {
  const samples: unknown[] = [
    null, 0, -1.5, 'text', '', true, [], {}, [undefined, null, 1],
    { b: 1, a: { d: [3, { z: null, y: 'é"\\\n' }], c: undefined }, '': 'empty key', '10': 'ten', '9': 'nine' },
    { FNumber: 'CUST10001', FName: '张伟', FTEL: '13800138000', nested: { list: [{ k: 2, j: 1 }], when: '2026-11-23T08:00:00Z' } },
    { only: undefined },
  ];

  it.each(samples.map((s) => [JSON.stringify(s) ?? String(s), s]))('keeps the stored canonical form of %s', (_label, value) => {
    expect(canonicalJson(value)).toBe(reference(value));
    expect(contentHash(value)).toBe(createHash('sha256').update(reference(value)).digest('hex'));
  });

  it('does not depend on key order', () => {
    expect(contentHash({ a: 1, b: { c: 2, d: 3 } })).toBe(contentHash({ b: { d: 3, c: 2 }, a: 1 }));
    expect(contentHash({ a: 1 })).not.toBe(contentHash({ a: 2 }));
  });

  /** Records of a few shapes (key orders, missing and undefined fields, nesting), as a stream sends them. */
  function generated(seed: number, count: number): unknown[] {
    const rand = mulberry32(seed);
    const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)];
    const keys = ['Id', 'Name', 'Phone', 'a', 'b', '10', '9', '', 'é', '名称', 'z"q', 'k\\n', 'toString', '__proto__x'];
    const scalar = (): unknown => pick([
      null, undefined, 0, -0, 1.5, -2e-7, 1e21, 123456789012345, NaN, Infinity, true, false, '', 'text',
      '张伟 \u3000１３８', 'emoji 😀', 'quote " and \\ and \n', '\ud800 lone', String(rand()),
    ]);
    const value = (depth: number): unknown => {
      const r = rand();
      if (depth > 3 || r < 0.5) return scalar();
      if (r < 0.65) return Array.from({ length: Math.floor(rand() * 4) }, () => value(depth + 1));
      const obj: Record<string, unknown> = {};
      const n = Math.floor(rand() * 6);
      for (let i = 0; i < n; i++) obj[pick(keys)] = value(depth + 1);
      return obj;
    };
    // Shapes repeat (the per-shape cache is hit), in varying key orders and with varying undefined fields.
    const shapes = Array.from({ length: 6 }, () => Array.from({ length: 1 + Math.floor(rand() * 7) }, () => pick(keys)));
    return Array.from({ length: count }, () => {
      const shape = pick(shapes);
      const order = rand() < 0.3 ? [...shape].reverse() : shape;
      const obj: Record<string, unknown> = {};
      for (const k of order) obj[k] = rand() < 0.15 ? undefined : value(1);
      return rand() < 0.1 ? [obj, value(2)] : obj;
    });
  }

  it('gives the stored canonical form and hash for generated records', () => {
    for (const value of generated(7, 3000)) {
      const text = reference(value);
      expect(canonicalJson(value)).toBe(text);
      const h = hashedJson(value);
      expect(h.hash).toBe(createHash('sha256').update(text).digest('hex'));
      expect(JSON.parse(h.json)).toEqual(JSON.parse(JSON.stringify(value)));
    }
  });

  it('stages plain data as its canonical text, and anything else as JSON.stringify writes it', () => {
    const plain = { b: [1, { d: null, c: 'x' }], a: undefined };
    expect(hashedJson(plain).json).toBe(canonicalJson(plain));
    const when = new Date('2026-12-05T00:00:00Z');
    const withDate = { at: when, n: 1 };
    expect(hashedJson(withDate).hash).toBe(createHash('sha256').update(reference(withDate)).digest('hex'));
    expect(JSON.parse(hashedJson(withDate).json)).toEqual({ at: '2026-12-05T00:00:00.000Z', n: 1 });
    const inherited = Object.assign(Object.create({ inheritedKey: 1 }), { own: 2 });
    expect(canonicalJson(inherited)).toBe(reference(inherited));
  });
});
