/**
 * Runs the fixtures of mappings/kingdee/*.jsonata (mappings/fixtures.test.ts will run them through
 * the real engine once src/mapping/ exists; this suite keeps them honest until then) and checks
 * that every stream has a mapping and fixtures.
 */
import { existsSync, readFileSync } from 'fs';
import { join } from 'path';
import { STREAM_NAMES } from './streams';
import { evaluateMapping, MAPPINGS_DIR, parseDateStandIn } from './testing';

interface Fixture {
  name: string;
  input: unknown;
  expected?: unknown;
  expectError?: string;
  bindings?: Record<string, unknown>;
}

describe('mappings/kingdee', () => {
  it('has a mapping and fixtures for every stream', () => {
    for (const stream of STREAM_NAMES) {
      expect(existsSync(join(MAPPINGS_DIR, `${stream}.jsonata`))).toBe(true);
      expect(existsSync(join(MAPPINGS_DIR, `${stream}.fixtures.json`))).toBe(true);
    }
  });

  for (const stream of STREAM_NAMES) {
    const file = join(MAPPINGS_DIR, `${stream}.fixtures.json`);
    const fixtures: Fixture[] = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : [];
    describe(stream, () => {
      it('has at least two fixtures', () => expect(fixtures.length).toBeGreaterThanOrEqual(2));
      for (const f of fixtures) {
        it(f.name, async () => {
          if (f.expectError !== undefined) {
            // jsonata rejects with plain objects ({code, message}), not Error instances.
            const err: unknown = await evaluateMapping(stream, f.input, f.bindings).then(
              () => undefined,
              (e: unknown) => e ?? 'rejected without a reason',
            );
            expect(err).toBeDefined();
            expect(String((err as { message?: unknown }).message ?? err)).toContain(f.expectError);
          } else {
            expect(await evaluateMapping(stream, f.input, f.bindings)).toEqual(f.expected);
          }
        });
      }
    });
  }

  it('the $parseDate stand-in reads what Kingdee sends', () => {
    expect(parseDateStandIn('2026-02-18T00:00:00')).toBe('2026-02-18');
    expect(parseDateStandIn('/Date(1771372800000+0800)/')).toBe('2026-02-18');
    expect(parseDateStandIn('/Date(1771344000000+0800)/')).toBe('2026-02-18'); // 16:00 UTC the day before
    expect(parseDateStandIn('')).toBeNull();
    expect(() => parseDateStandIn('18/02/2026')).toThrow('cannot read');
  });
});
