import { readdirSync, readFileSync, statSync, existsSync } from 'fs';
import { join, relative } from 'path';
import { MappingEngine } from '../src/mapping/engine';

/** Every `<stream>.fixtures.json` beside a `.jsonata` file runs through the real engine. */
const root = __dirname;

function findFixtures(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) return findFixtures(p);
    return f.endsWith('.fixtures.json') ? [p] : [];
  });
}

interface Fixture {
  name: string;
  input: unknown;
  bindings?: Record<string, unknown>;
  expected?: unknown;
  expectError?: string;
}

const engine = new MappingEngine({ root });
const files = findFixtures(root);
const cases = files.flatMap((file) => {
  const mapping = relative(root, file).replace(/\.fixtures\.json$/, '').split('\\').join('/');
  const fixtures = JSON.parse(readFileSync(file, 'utf8')) as Fixture[];
  return fixtures.map((f) => [mapping, f.name, f] as const);
});

describe('mapping fixtures', () => {
  it('every fixture file belongs to a mapping and every mapping has fixtures', () => {
    for (const file of files) expect(existsSync(file.replace(/\.fixtures\.json$/, '.jsonata'))).toBe(true);
    const mappings = (function walk(dir: string): string[] {
      return readdirSync(dir).flatMap((f) => {
        const p = join(dir, f);
        if (statSync(p).isDirectory()) return walk(p);
        return f.endsWith('.jsonata') ? [p] : [];
      });
    })(root);
    for (const m of mappings) expect(existsSync(m.replace(/\.jsonata$/, '.fixtures.json'))).toBe(true);
  });

  if (cases.length === 0) return;
  it.each(cases)('%s: %s', async (mapping, _name, fixture) => {
    const run = engine.evaluate(mapping, fixture.input, fixture.bindings);
    if (fixture.expectError !== undefined) {
      await expect(run).rejects.toThrow(fixture.expectError);
    } else {
      expect(JSON.parse(JSON.stringify(await run))).toEqual(fixture.expected);
    }
  });
});
