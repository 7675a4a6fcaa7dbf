import { hashedJson } from '../sync/hash';
import { jsonMayHoldUnstorable, storable, unstorableCharacter } from './storable-text';

describe('storable', () => {
  it('replaces U+0000 and lone surrogates in strings and keys at any depth, and leaves everything else as it is', () => {
    const date = new Date(0);
    const v = { 'a\u0000': ['x\u0000y', 1, null, true, { b: 'c\uD83D' }], d: date, e: 'plain 😀', f: '\uDE00z' };
    expect(storable(v)).toEqual({ 'a\uFFFD': ['x\uFFFDy', 1, null, true, { b: 'c\uFFFD' }], d: date, e: 'plain 😀', f: '\uFFFDz' });
    expect(storable(v).d).toBe(date);
    expect(storable('no nul')).toBe('no nul');
  });

  it('keeps a "__proto__" key as a key (JSON.parse makes it one; an assignment would set the prototype)', () => {
    const v = JSON.parse('{"__proto__": "x\\u0000", "a": 1}');
    const out = storable(v);
    expect(Object.keys(out)).toEqual(['__proto__', 'a']);
    expect(JSON.stringify(out)).toBe('{"__proto__":"x\uFFFD","a":1}');
  });

  it('is told by the JSON text: a real U+0000 or lone surrogate, not a paired one, nor a backslash before "u0000" (which changes nothing)', () => {
    expect(jsonMayHoldUnstorable(hashedJson({ a: 'x\u0000' }).json)).toBe(true);
    expect(jsonMayHoldUnstorable(hashedJson({ a: 'x\uD83D' }).json)).toBe(true);
    expect(jsonMayHoldUnstorable(hashedJson({ a: 'x 😀' }).json)).toBe(false);
    const escaped = { a: 'C:\\u0000' };
    expect(jsonMayHoldUnstorable(hashedJson(escaped).json)).toBe(true);
    expect(storable(escaped)).toEqual(escaped);
    expect(hashedJson(storable(escaped)).hash).toBe(hashedJson(escaped).hash);
  });
});

describe('unstorableCharacter', () => {
  it('names the first character PostgreSQL cannot store, or null', () => {
    expect(unstorableCharacter('ok 😀 好')).toBeNull();
    expect(unstorableCharacter('a\u0000b\uD83D')).toBe('U+0000');
    expect(unstorableCharacter('ab\uD83D')).toBe('an unpaired surrogate U+D83D');
    expect(unstorableCharacter('\uDE00ab')).toBe('an unpaired surrogate U+DE00');
  });
});
