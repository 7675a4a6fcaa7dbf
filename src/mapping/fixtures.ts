/**
 * Mapping fixtures (`<name>.fixtures.json` beside `<name>.jsonata`): finding them and judging a
 * run against them. Shared by the mapping store (saving must pass them) and `junction mapping test`.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'fs';
import { join, relative, sep } from 'path';
import type { SandboxedEvaluator, SandboxResult } from './sandboxed';

export interface Fixture {
  name: string;
  input: unknown;
  bindings?: Record<string, unknown>;
  expected?: unknown;
  expectError?: string;
}

export interface FixtureFailure {
  fixture: string;
  message: string;
  /** The mapping error's code when the expression failed (e.g. MAPPING_TIMEOUT); null for a wrong output. */
  code: string | null;
}

/** Every mapping file under `root` (recursively), as names like `salesforce/accounts`. */
export function mappingFileNames(root: string): string[] {
  const walk = (dir: string): string[] =>
    readdirSync(dir).flatMap((f) => {
      const p = join(dir, f);
      if (statSync(p).isDirectory()) return f === 'node_modules' || f.startsWith('.') ? [] : walk(p);
      return f.endsWith('.jsonata') ? [relative(root, p).slice(0, -'.jsonata'.length).split(sep).join('/')] : [];
    });
  return existsSync(root) ? walk(root).sort() : [];
}

/** The fixtures beside a mapping's file, or none. */
export function fixturesOf(root: string, name: string): Fixture[] {
  const file = join(root, `${name}.fixtures.json`);
  if (!existsSync(file)) return [];
  const fixtures = JSON.parse(readFileSync(file, 'utf8')) as unknown;
  if (!Array.isArray(fixtures)) throw new Error(`${file} must hold an array of fixtures`);
  return fixtures as Fixture[];
}

/** Runs fixtures against `source` in the sandbox (killable, time budget); the failures, in file order. */
export async function checkFixtures(sandbox: SandboxedEvaluator, name: string, source: string, fixtures: Fixture[]): Promise<FixtureFailure[]> {
  const run = await sandbox.run(name, source, fixtures.map((f) => ({ input: f.input, bindings: f.bindings })));
  const failures: FixtureFailure[] = [];
  fixtures.forEach((f, i) => {
    const result = run.results[i];
    const why = fixtureMismatch(f, result);
    if (why) failures.push({ fixture: f.name, message: why, code: result.ok ? null : result.error.code });
  });
  return failures;
}

/** JSON with object keys sorted: equal values, equal text (as jest's toEqual sees JSON). */
function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${stableJson((value as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

function short(value: unknown, max = 300): string {
  const text = JSON.stringify(value) ?? 'nothing';
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/** Why a fixture's result is not what it expects, or null when it passes (same rules as mappings/fixtures.test.ts). */
export function fixtureMismatch(f: Fixture, result: SandboxResult): string | null {
  if (f.expectError !== undefined) {
    if (result.ok) return `expected an error containing ${JSON.stringify(f.expectError)} but got ${short(result.output)}`;
    return result.error.message.includes(f.expectError) ? null : `expected an error containing ${JSON.stringify(f.expectError)} but got: ${result.error.message}`;
  }
  if (!result.ok) return `expected ${short(f.expected)} but it failed: ${result.error.message}`;
  return stableJson(result.output) === stableJson(f.expected) ? null : `expected ${short(f.expected)} but got ${short(result.output)}`;
}
