/**
 * Test helpers for the Kingdee connector's suites (not used at run time).
 *
 * `evaluateMapping` runs mappings/kingdee/<stream>.jsonata with bare jsonata and stand-ins for the
 * engine's helper functions (src/mapping/ is not there yet): $normalizePhone and $normalizeSerial
 * are the real identity functions, $parseDate understands what Kingdee sends. Once the engine
 * lands, switch this to it so fixtures run through exactly what production runs.
 */
import { readFileSync } from 'fs';
import { join } from 'path';
import jsonata from 'jsonata';
import type { SourcePage, SourceRecord, StreamDefinition, ReadOptions } from '../../src/connectors';
import { normalizePhone, normalizeSerial } from '../../src/identity/normalize';

export const MAPPINGS_DIR = join(__dirname, '..', '..', 'mappings', 'kingdee');

/** `YYYY-MM-DD` from a Kingdee date (`2026-02-18T00:00:00`, `/Date(ms+0800)/`), ISO dates; null for empty. */
export function parseDateStandIn(value: unknown): string | null {
  if (value === null || value === undefined || value === '') return null;
  const s = String(value).trim();
  const iso = /^(\d{4})-(\d{2})-(\d{2})(?:[T ]|$)/.exec(s);
  if (iso) return `${iso[1]}-${iso[2]}-${iso[3]}`;
  const ms = /^\/Date\((-?\d+)([+-])?(\d{2})?(\d{2})?\)\/$/.exec(s);
  if (ms) {
    const offset = ms[2] ? (ms[2] === '-' ? -1 : 1) * (Number(ms[3]) * 60 + Number(ms[4])) : 0;
    return new Date(Number(ms[1]) + offset * 60_000).toISOString().slice(0, 10);
  }
  throw new Error(`$parseDate: cannot read ${JSON.stringify(value)}`);
}

const compiled = new Map<string, ReturnType<typeof jsonata>>();

export function loadMapping(stream: string): ReturnType<typeof jsonata> {
  let expr = compiled.get(stream);
  if (!expr) {
    expr = jsonata(readFileSync(join(MAPPINGS_DIR, `${stream}.jsonata`), 'utf8'));
    expr.registerFunction('normalizePhone', (s: unknown) => (s === null || s === undefined ? null : normalizePhone(String(s))), '<x?:x>');
    expr.registerFunction('normalizeSerial', (s: unknown) => (s === null || s === undefined ? null : normalizeSerial(String(s))), '<x?:x>');
    expr.registerFunction('parseDate', (s: unknown) => parseDateStandIn(s), '<x?:x>');
    compiled.set(stream, expr);
  }
  return expr;
}

export async function evaluateMapping(stream: string, payload: unknown, bindings: Record<string, unknown> = {}): Promise<unknown> {
  return loadMapping(stream).evaluate(payload, { system: 'erp', connector: 'erp', stream, ...bindings });
}

/** Reads a stream to its end; returns every page. */
export async function readPages(stream: StreamDefinition, cursor: string | null = null, opts?: ReadOptions): Promise<SourcePage[]> {
  const pages: SourcePage[] = [];
  for await (const page of stream.read(cursor, opts)) pages.push(page);
  return pages;
}

export function recordsOf(pages: SourcePage[]): SourceRecord[] {
  return pages.flatMap((p) => p.records);
}

/** The pages up to and including the `n`-th, then the read is abandoned (a crash after storing page n). */
export async function readFirstPages(stream: StreamDefinition, n: number, cursor: string | null = null, opts?: ReadOptions): Promise<SourcePage[]> {
  const pages: SourcePage[] = [];
  for await (const page of stream.read(cursor, opts)) {
    pages.push(page);
    if (pages.length >= n) break;
  }
  return pages;
}
