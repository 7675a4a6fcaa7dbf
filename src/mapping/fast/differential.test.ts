/**
 * Differential test: for every mapping under mappings/** and every fixture input, plus hundreds
 * of seeded variations of each (fields deleted, null, number↔string, wrapped in arrays, empty
 * strings, full-width digits, nested objects, ... in the input and the bindings), the fast path
 * gives exactly JSONata's output (strict: key order, missing vs undefined, array flags), or bails.
 * Through the engine, fast path on and off give the same value or fail with the same code.
 * Prints which mappings have a fast path, why the others do not, and the bail rate.
 */
import { readFileSync } from 'fs';
import { join } from 'path';
import jsonata from 'jsonata';
import { MappingEngine } from '../engine';
import { MappingError } from '../errors';
import { fixturesOf, mappingFileNames } from '../fixtures';
import { MAPPING_FUNCTIONS } from '../functions';
import { BAILED, compileFast } from '.';
import { difference } from './same';
import { variations } from './variations';

const root = join(__dirname, '..', '..', '..', 'mappings');
/** Variations per mapping (spread over its fixtures). */
const VARIATIONS = 300;
const names = mappingFileNames(root);
const fastOn = new MappingEngine({ root });
const fastOff = new MappingEngine({ root, fastPath: false });

interface Case {
  input: unknown;
  bindings?: Record<string, unknown>;
}

function casesOf(name: string): Case[] {
  const fixtures = fixturesOf(root, name);
  const cases: Case[] = fixtures.map((f) => ({ input: f.input, bindings: f.bindings }));
  fixtures.forEach((f, i) => {
    for (const v of variations({ input: f.input, bindings: f.bindings ?? {} }, Math.ceil(VARIATIONS / fixtures.length), 1000 * i + name.length)) {
      const { input, bindings } = (v ?? {}) as { input?: unknown; bindings?: Record<string, unknown> };
      cases.push({ input, bindings });
    }
  });
  // Odd whole inputs: an array (JSONata's outer wrapper), null, a string, nothing.
  const first = fixtures[0];
  for (const input of [[first?.input], [first?.input, first?.input], null, 'text', undefined, {}]) cases.push({ input, bindings: first?.bindings });
  return cases;
}

const settle = async (p: () => Promise<unknown>): Promise<{ ok: true; value: unknown } | { ok: false; code: string }> => {
  try {
    return { ok: true, value: await p() };
  } catch (e) {
    if (e instanceof MappingError) return { ok: false, code: `${e.code}/${e.details.jsonataCode}` };
    return { ok: false, code: String((e as { code?: string }).code) };
  }
};

const report: string[] = [];

describe('fast path vs JSONata on every mapping', () => {
  afterAll(() => {
    // The report asked for: which mappings have a fast path, why not, how often records bail.
    console.log(`mapping fast path report\n${report.join('\n')}`);
  });

  it('every mapping but ticket/enrich (sorting, $round, $sum) has a fast path', () => {
    const without = names.filter((n) => !fastOn.get(n).fast);
    expect(without).toEqual(['ticket/enrich']);
  });

  it.each(names)('%s', async (name) => {
    const source = readFileSync(join(root, `${name}.jsonata`), 'utf8');
    const reference = (jsonata as (s: string, o: unknown) => jsonata.Expression)(source, { timeout: 1000, stack: 300 });
    for (const [fn, [impl, signature]] of Object.entries(MAPPING_FUNCTIONS)) reference.registerFunction(fn, impl, signature);
    const compiled = compileFast(jsonata(source).ast(), 300);
    const cases = casesOf(name);
    let bailed = 0;
    let bailedOnError = 0;
    for (const [n, c] of cases.entries()) {
      const want = await settle(async () => reference.evaluate(c.input, c.bindings));
      if (compiled.fast) {
        const got = compiled.fast.run(c.input, c.bindings);
        if (got === BAILED) {
          bailed++;
          if (!want.ok) bailedOnError++;
        }
        else {
          if (!want.ok) throw new Error(`${name} case ${n}: fast path gave a value where JSONata fails with ${want.code}: ${JSON.stringify(c).slice(0, 400)}`);
          const d = difference(got, want.value);
          if (d) throw new Error(`${name} case ${n}: ${d}\ninput: ${JSON.stringify(c).slice(0, 600)}`);
        }
      }
      const a = await settle(() => fastOn.evaluate(name, c.input, c.bindings));
      const b = await settle(() => fastOff.evaluate(name, c.input, c.bindings));
      if (a.ok !== b.ok || (a.ok && b.ok && difference(a.value, b.value)) || (!a.ok && !b.ok && a.code !== b.code)) {
        throw new Error(`${name} case ${n}: engine with and without the fast path differ: ${JSON.stringify(a).slice(0, 300)} vs ${JSON.stringify(b).slice(0, 300)}`);
      }
    }
    report.push(compiled.fast
      ? `  ${name.padEnd(32)} fast   ${cases.length} inputs, ${bailed} bailed (${((100 * bailed) / cases.length).toFixed(1)}%; ` +
        `${bailedOnError} where JSONata fails, ${bailed - bailedOnError} where it succeeds)`
      : `  ${name.padEnd(32)} JSONata only: ${compiled.reason}`);
    expect(cases.length).toBeGreaterThanOrEqual(VARIATIONS);
  });
});
