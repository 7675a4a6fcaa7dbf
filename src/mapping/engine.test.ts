import { mkdtempSync, writeFileSync, mkdirSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { evaluateEither, MappingEngine } from './engine';
import { MappingError } from './errors';

function engineWith(files: Record<string, string>, opts: { timeoutMs?: number } = {}) {
  const root = mkdtempSync(join(tmpdir(), 'junction-map-'));
  for (const [name, source] of Object.entries(files)) {
    mkdirSync(join(root, name, '..'), { recursive: true });
    writeFileSync(join(root, `${name}.jsonata`), source);
  }
  return new MappingEngine({ root, ...opts });
}

describe('MappingEngine', () => {
  it('evaluates a file with helper functions and bindings', async () => {
    const e = engineWith({ 'crm/accounts': `{ "entity": "customer", "phone": $normalizePhone(Phone), "name": $trim(Name), "id": $externalId }` });
    await expect(e.evaluate('crm/accounts', { Phone: '138 0013 8000', Name: ' 张伟 ' }, { externalId: '001' }))
      .resolves.toEqual({ entity: 'customer', phone: '+8613800138000', name: '张伟', id: '001' });
  });

  it('compiles once and reuses the compiled expression', () => {
    const e = engineWith({ a: '1 + 1' });
    expect(e.get('a')).toBe(e.get('a'));
    expect(e.get('a').version).toMatch(/^file:[0-9a-f]{12}$/);
  });

  it('names the mapping and the position when an expression does not compile', () => {
    const e = engineWith({ broken: '{ "a": Name ' });
    try {
      e.get('broken');
      throw new Error('should not compile');
    } catch (err) {
      expect(err).toBeInstanceOf(MappingError);
      expect(err).toMatchObject({ code: 'MAPPING_COMPILE_FAILED', mapping: 'broken' });
      expect((err as Error).message).toMatch(/^Mapping broken: .*position/);
    }
  });

  it('stops an expression that loops after the time budget', async () => {
    const e = engineWith({ loop: '( $f := function($n) { $n < 0 ? 0 : $f($n + 1) }; $f(0) )' }, { timeoutMs: 200 });
    await expect(e.evaluate('loop', {})).rejects.toMatchObject({ code: 'MAPPING_TIMEOUT', mapping: 'loop' });
    const slow = engineWith({ slow: '$count([1..100000].($ * 2).($ + 1).($ - 1))' }, { timeoutMs: 20 });
    await expect(slow.evaluate('slow', {})).rejects.toMatchObject({ code: 'MAPPING_TIMEOUT', mapping: 'slow' });
  });

  it('reports a runtime failure with the mapping name', async () => {
    const e = engineWith({ bad: '$number("x1")' });
    await expect(e.evaluate('bad', {})).rejects.toMatchObject({ code: 'MAPPING_FAILED', mapping: 'bad' });
  });

  it('lets an override replace the file and be cleared, refusing one that does not compile', async () => {
    const e = engineWith({ m: '"file"' });
    expect(await e.evaluate('m', {})).toBe('file');
    e.setOverride('m', '"saved"', 'v2');
    expect(await e.evaluate('m', {})).toBe('saved');
    expect(e.get('m').version).toBe('v2');
    expect(() => e.setOverride('m', '"unclosed', 'v3')).toThrow(MappingError);
    expect(await e.evaluate('m', {})).toBe('saved');
    e.clearOverride('m');
    expect(await e.evaluate('m', {})).toBe('file');
  });

  it('refuses names that escape the mappings folder', () => {
    const e = engineWith({});
    expect(() => e.get('../secrets')).toThrow(/not a valid mapping name/);
    expect(() => e.get('nope')).toThrow(MappingError);
  });

  it('evaluateEither gives the fast path\'s value without a promise and JSONata\'s answer as a promise', async () => {
    const e = engineWith({ 'x/name': `{ "name": $trim(Name), "n": $number(N) }` });
    const m = e.get('x/name');
    const fast = evaluateEither(m, { Name: ' a ', N: '2' });
    expect(fast).not.toBeInstanceOf(Promise);
    expect(fast).toEqual({ name: 'a', n: 2 });
    // $number of a word fails: the fast path bails, JSONata answers with its error.
    const slow = evaluateEither(m, { Name: 'a', N: 'two' });
    expect(slow).toBeInstanceOf(Promise);
    await expect(slow).rejects.toBeInstanceOf(MappingError);
  });
});
