import { createHash } from 'crypto';
import { canonicalJson, contentHash } from './hash';

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
});
