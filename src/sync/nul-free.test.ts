import { hashedJson } from './hash';
import { jsonHasNul, withoutNul } from './nul-free';

describe('withoutNul', () => {
  it('replaces U+0000 in strings and keys at any depth, and leaves everything else as it is', () => {
    const date = new Date(0);
    const v = { 'a\u0000': ['x\u0000y', 1, null, true, { b: 'c\u0000' }], d: date, e: 'plain' };
    expect(withoutNul(v)).toEqual({ 'a\uFFFD': ['x\uFFFDy', 1, null, true, { b: 'c\uFFFD' }], d: date, e: 'plain' });
    expect(withoutNul(v).d).toBe(date);
    expect(withoutNul('no nul')).toBe('no nul');
  });

  it('is told by the JSON text: a real U+0000, not a backslash before "u0000" (which changes nothing)', () => {
    expect(jsonHasNul(hashedJson({ a: 'x\u0000' }).json)).toBe(true);
    expect(jsonHasNul(hashedJson({ a: 'x' }).json)).toBe(false);
    const escaped = { a: 'C:\\u0000' };
    expect(withoutNul(escaped)).toEqual(escaped);
    expect(hashedJson(withoutNul(escaped)).hash).toBe(hashedJson(escaped).hash);
  });
});
