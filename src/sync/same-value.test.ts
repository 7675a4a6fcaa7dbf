import { sameValue } from './same-value';

/** The comparison as first written: the fast path for primitives must not change an answer. */
const reference = (a: unknown, b: unknown) =>
  (typeof a === 'string' && typeof b === 'string' ? a === b : JSON.stringify(a ?? null) === JSON.stringify(b ?? null));

describe('sameValue', () => {
  const values: unknown[] = [
    null, undefined, '', 'a', 'A', '1', '1.0', 0, -0, 1, 1.5, NaN, Infinity, -Infinity, true, false, 'true', 'null',
    [], ['a'], ['a', 'b'], ['b', 'a'], {}, { a: 1 }, { a: '1' }, [null], '2026-11-23', '2026-11-23T08:00:00.000Z',
  ];
  it('answers as JSON equality for every pair of sample values', () => {
    for (const a of values) for (const b of values) expect([a, b, sameValue(a, b)]).toEqual([a, b, reference(a, b)]);
  });
});
