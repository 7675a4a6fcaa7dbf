/**
 * The check rules are data: `mappings/quality/rules.json` lists them (name, kind, severity,
 * scope, thresholds, JSONata predicate and message template) and the schedule they run on.
 * Loading validates the file as a whole: a rule with an unknown scope, a missing or unknown
 * threshold or a threshold out of its range refuses the file with an error naming rule and
 * field. Expressions are compiled later, per rule (compile.ts): a broken one is skipped, not fatal.
 */
import { existsSync, readFileSync } from 'fs';
import { join } from 'path';
import { defaultMappingsRoot } from '../mapping/engine';
import { parseSchedule, ScheduleSpec } from '../sync/schedule';
import { SCOPES } from './scopes';

export const SEVERITIES = ['INFO', 'WARNING', 'ERROR'] as const;
export type Severity = (typeof SEVERITIES)[number];

export interface RuleDef {
  name: string;
  kind: string;
  severity: Severity;
  /** A key of SCOPES: which slice of the unified view the rule reads. */
  scope: string;
  description?: string;
  thresholds: Record<string, number>;
  /** JSONata, inline, or `predicateFile` naming a `.jsonata` under mappings/ (e.g. `quality/stalled`). */
  predicate?: string;
  predicateFile?: string;
  /** Optional JSONata reshaping the scope's view first; its result is the evidence and what predicate/message read. */
  select?: string;
  selectFile?: string;
  /** Text with `{{ jsonata }}` placeholders over the (selected) view. */
  message: string;
  enabled: boolean;
}

export interface RuleSet {
  file: string;
  /** Scheduled runs of every rule (null: only after syncs and on demand). */
  schedule: ScheduleSpec | null;
  rules: RuleDef[];
}

/** The rules file is refused as a whole (what and where in the message). */
export class RuleFileError extends Error {
  constructor(readonly file: string, readonly path: string, message: string) {
    super(`${file}: ${path}: ${message}`);
    this.name = 'RuleFileError';
  }
}

export function defaultRulesFile(): string {
  return join(defaultMappingsRoot(), 'quality', 'rules.json');
}

const NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
const KIND = /^[A-Z][A-Z0-9_]{0,62}$/;
const FILE = /^[a-z0-9_-]+(\/[a-z0-9_.-]+)*$/i;

export function loadRules(file = defaultRulesFile()): RuleSet {
  if (!existsSync(file)) throw new RuleFileError(file, '$', 'no such file');
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new RuleFileError(file, '$', `not valid JSON (${(e as Error).message})`);
  }
  return parseRules(raw, file);
}

export function parseRules(raw: unknown, file = 'rules.json'): RuleSet {
  const fail = (path: string, message: string): never => {
    throw new RuleFileError(file, path, message);
  };
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) fail('$', 'expected an object with "rules"');
  const doc = raw as Record<string, unknown>;
  const issues: Array<{ path: string; message: string }> = [];
  const schedule = doc.schedule === undefined ? null : parseSchedule(doc.schedule, 'schedule', issues) ?? null;
  if (issues.length) fail(issues[0].path, issues[0].message);
  if (!Array.isArray(doc.rules)) fail('rules', 'expected a list of rules');
  const seen = new Set<string>();
  const rules = (doc.rules as unknown[]).map((r, i): RuleDef => {
    const at = (field: string) => `rules[${i}]${typeof (r as any)?.name === 'string' ? ` (${(r as any).name})` : ''}.${field}`;
    if (!r || typeof r !== 'object' || Array.isArray(r)) return fail(`rules[${i}]`, 'expected an object');
    const o = r as Record<string, unknown>;
    const text = (field: string, required: boolean): string | undefined => {
      const v = o[field];
      if (v === undefined && !required) return undefined;
      if (typeof v !== 'string' || !v.trim()) return fail(at(field), 'expected a non-empty text');
      return v;
    };
    const name = text('name', true)!;
    if (!NAME.test(name)) fail(at('name'), `"${name}" must be lower-case letters, digits and dashes`);
    if (seen.has(name)) fail(at('name'), `rule "${name}" is declared twice`);
    seen.add(name);
    const kind = text('kind', true)!;
    if (!KIND.test(kind)) fail(at('kind'), `"${kind}" must be upper-case letters, digits and underscores`);
    const severity = text('severity', true)! as Severity;
    if (!SEVERITIES.includes(severity)) fail(at('severity'), `"${severity}" is not one of ${SEVERITIES.join(', ')}`);
    const scopeName = text('scope', true)!;
    const scope = SCOPES[scopeName];
    if (!scope) fail(at('scope'), `unknown scope "${scopeName}"; scopes: ${Object.keys(SCOPES).join(', ')}`);
    const thresholds = parseThresholds(o.thresholds, scopeName, at, fail);
    const predicate = text('predicate', false);
    const predicateFile = text('predicateFile', false);
    if ((predicate === undefined) === (predicateFile === undefined)) fail(at('predicate'), 'give exactly one of predicate or predicateFile');
    const select = text('select', false);
    const selectFile = text('selectFile', false);
    if (select !== undefined && selectFile !== undefined) fail(at('select'), 'give at most one of select or selectFile');
    for (const [field, v] of [['predicateFile', predicateFile], ['selectFile', selectFile]] as const) {
      if (v !== undefined && (!FILE.test(v) || v.includes('..'))) fail(at(field), `"${v}" is not a mapping name like quality/stalled-ticket`);
    }
    if (o.enabled !== undefined && typeof o.enabled !== 'boolean') fail(at('enabled'), 'expected true or false');
    return {
      name, kind, severity, scope: scopeName, description: text('description', false), thresholds,
      predicate, predicateFile, select, selectFile, message: text('message', true)!, enabled: o.enabled !== false,
    };
  });
  return { file, schedule, rules };
}

function parseThresholds(
  raw: unknown, scopeName: string, at: (f: string) => string, fail: (path: string, message: string) => never,
): Record<string, number> {
  const spec = SCOPES[scopeName].thresholds;
  const given = raw === undefined ? {} : raw;
  if (!given || typeof given !== 'object' || Array.isArray(given)) return fail(at('thresholds'), 'expected an object');
  const out: Record<string, number> = {};
  for (const key of Object.keys(given)) {
    if (!spec[key]) fail(at(`thresholds.${key}`), `scope ${scopeName} has no threshold "${key}"; it takes: ${Object.keys(spec).join(', ') || 'none'}`);
  }
  for (const [key, s] of Object.entries(spec)) {
    const v = (given as Record<string, unknown>)[key];
    if (v === undefined) fail(at(`thresholds.${key}`), `missing (${s.description}, ${s.min}..${s.max})`);
    if (typeof v !== 'number' || !Number.isFinite(v)) fail(at(`thresholds.${key}`), `expected a number, got ${JSON.stringify(v)}`);
    const n = v as number;
    if (s.integer && !Number.isInteger(n)) fail(at(`thresholds.${key}`), `expected a whole number, got ${n}`);
    if (n < s.min || n > s.max) fail(at(`thresholds.${key}`), `${n} is out of range: ${s.description} must be between ${s.min} and ${s.max}`);
    out[key] = n;
  }
  return out;
}
