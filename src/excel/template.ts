import { existsSync, readdirSync, readFileSync } from 'fs';
import { dirname, join } from 'path';
import { defaultMappingsRoot } from '../mapping/engine';
import { toHalfWidth } from '../identity/normalize';
import { ExcelFileError } from './errors';

/** How a cell is read: see `cells.ts`. */
export type ColumnType = 'text' | 'phone' | 'serial' | 'date' | 'int' | 'decimal' | 'enum';

export interface TemplateColumn {
  /** Name of the value in the row object the template's mapping reads. */
  field: string;
  /** The header as the template download writes it. */
  header: string;
  /** Other headers people use for the same column (matched ignoring case, width, spaces and a trailing `*`). */
  aliases?: string[];
  type: ColumnType;
  required?: boolean;
  /** enum: the allowed values (the template download offers them as a dropdown). */
  values?: string[];
  /** enum: other ways people write a value → the value (e.g. 紧急 → P0). */
  valueAliases?: Record<string, string>;
  maxLength?: number;
  /** int: the accepted range (default 0–1200, see cells.ts DEFAULT_INT_RANGE); outside it the row fails OUT_OF_RANGE. */
  min?: number;
  max?: number;
  /** Shown in the template download's sample row. */
  example?: string | number;
  /** One line of help for the instructions sheet. */
  note?: string;
  width?: number;
  /** Written by exports only (e.g. the ticket number); ignored when importing. */
  exportOnly?: boolean;
}

/** Fill empty values of a row from master data (the lookups are in `master-data.ts`). */
export interface FillRule {
  lookup: 'device' | 'customer';
  /** The row field holding the key: a serial for `device`, a phone for `customer`. */
  by: string;
  /** row field ← master data attribute; applied only where the row has no value. */
  set: Record<string, string>;
}

export interface ExcelTemplate {
  name: string;
  title: string;
  description?: string;
  sheet: string;
  /** 1-based row of the headers; when that row has none of the template's headers the next rows (up to 10) are tried. */
  headerRow: number;
  /** `merge`: rows become canonical records merged like a sync; `tickets`: each row creates a ticket. */
  target: 'merge' | 'tickets';
  /** Mapping name under mappings/ (row object → canonical records). */
  mapping: string;
  /** Fields that identify a record: two rows of one file with the same key are a conflict. */
  key?: string[];
  /** Groups of fields of which at least one must have a value. */
  requireOneOf?: string[][];
  columns: TemplateColumn[];
  fill?: FillRule[];
  /** What `excel export <template>` reads: customers, devices or tickets. */
  export?: 'customers' | 'devices' | 'tickets';
  limits?: Partial<SheetLimits>;
  /** Where each imported row's standard JSON is pushed on (legacy systems without an API): see `push.ts`. */
  push?: PushTarget[];
}

/**
 * One push target of a template: every row an import commits (IMPORTED, not UNCHANGED nor FAILED)
 * becomes one write-back to `connector` (an instance in junction.config.yaml) through its write
 * `operation`, the row's standard JSON turned into the target's document by the outbound mapping
 * `mappings/<mapping>.out.jsonata`.
 */
export interface PushTarget {
  /** Names the push in write-back routes (`excel:<template>:<name>`); unique in the template. */
  name: string;
  connector: string;
  operation: string;
  /** `<connector type>/<target>`, e.g. `http-json/mes-device` → mappings/http-json/mes-device.out.jsonata. */
  mapping: string;
}

export interface SheetLimits {
  /** Columns a row may use. */
  maxColumns: number;
  /** Data rows a sheet may have. */
  maxRows: number;
  /** Empty rows in a row (styled but empty rows) before the file is refused. */
  maxEmptyRun: number;
}

export const DEFAULT_SHEET_LIMITS: SheetLimits = { maxColumns: 200, maxRows: 2_000_000, maxEmptyRun: 10_000 };

const TYPES: ColumnType[] = ['text', 'phone', 'serial', 'date', 'int', 'decimal', 'enum'];

/** Where the template files live: `<repo>/mappings/excel`. */
export function templatesRoot(mappingsRoot = defaultMappingsRoot()): string {
  return join(mappingsRoot, 'excel');
}

/** Header text compared loosely: half-width, no spaces or line breaks, no required marker, lower case. */
export function headerKey(text: unknown): string {
  if (text === null || text === undefined) return '';
  return toHalfWidth(String(text))
    .replace(/[\s\u00a0]+/g, '')
    .replace(/^\*+|\*+$/g, '')
    .replace(/[(（]必填[)）]$/, '')
    .toLowerCase();
}

function problem(name: string, message: string): Error {
  return new Error(`Excel template "${name}": ${message}`);
}

/** Checks a template's shape so a broken file fails at load time, not on the first row. */
export function checkTemplate(t: ExcelTemplate, name: string): ExcelTemplate {
  if (!t || typeof t !== 'object') throw problem(name, 'is not a JSON object');
  if (t.name !== name) throw problem(name, `"name" is "${t.name}", expected "${name}" (the file name)`);
  for (const k of ['title', 'sheet', 'mapping'] as const) if (typeof t[k] !== 'string' || !t[k]) throw problem(name, `"${k}" must be a non-empty string`);
  if (!Number.isInteger(t.headerRow) || t.headerRow < 1) throw problem(name, '"headerRow" must be a positive whole number');
  if (t.target !== 'merge' && t.target !== 'tickets') throw problem(name, '"target" must be "merge" or "tickets"');
  if (!Array.isArray(t.columns) || !t.columns.length) throw problem(name, '"columns" must list at least one column');
  const fields = new Set<string>();
  const headers = new Map<string, string>();
  for (const c of t.columns) {
    if (!c.field || !/^[A-Za-z][A-Za-z0-9_]*$/.test(c.field)) throw problem(name, `column field "${c.field}" must be an identifier`);
    if (fields.has(c.field)) throw problem(name, `field "${c.field}" appears twice`);
    fields.add(c.field);
    if (!TYPES.includes(c.type)) throw problem(name, `column ${c.field}: type "${c.type}" is not one of ${TYPES.join(', ')}`);
    if (c.type === 'enum' && (!Array.isArray(c.values) || !c.values.length)) throw problem(name, `column ${c.field}: an enum needs "values"`);
    for (const [alias, value] of Object.entries(c.valueAliases ?? {})) {
      if (!c.values?.includes(value)) throw problem(name, `column ${c.field}: value alias "${alias}" points at "${value}", which is not one of its values`);
    }
    for (const h of [c.header, ...(c.aliases ?? [])]) {
      const k = headerKey(h);
      if (!k) throw problem(name, `column ${c.field}: empty header or alias`);
      const other = headers.get(k);
      if (other && other !== c.field) throw problem(name, `header "${h}" is used by both ${other} and ${c.field}`);
      headers.set(k, c.field);
    }
  }
  for (const k of t.key ?? []) if (!fields.has(k)) throw problem(name, `key field "${k}" is not a column`);
  for (const g of t.requireOneOf ?? []) for (const k of g) if (!fields.has(k)) throw problem(name, `requireOneOf field "${k}" is not a column`);
  for (const f of t.fill ?? []) {
    if (f.lookup !== 'device' && f.lookup !== 'customer') throw problem(name, `fill lookup "${f.lookup}" is not device or customer`);
    if (!fields.has(f.by)) throw problem(name, `fill "by" field "${f.by}" is not a column`);
    for (const k of Object.keys(f.set)) if (!fields.has(k)) throw problem(name, `fill sets "${k}", which is not a column`);
  }
  checkPush(t, name);
  return t;
}

const WORD = /^[A-Za-z0-9_-]+$/;

/** The `push` section: a list of {name, connector, operation, mapping}, each field named in the error. */
function checkPush(t: ExcelTemplate, name: string): void {
  if (t.push === undefined) return;
  if (!Array.isArray(t.push)) throw problem(name, '"push" must be a list of {name, connector, operation, mapping}');
  const names = new Set<string>();
  t.push.forEach((p, i) => {
    const at = `push[${i}]`;
    if (!p || typeof p !== 'object' || Array.isArray(p)) throw problem(name, `${at} must be an object {name, connector, operation, mapping}`);
    for (const k of ['name', 'connector', 'operation', 'mapping'] as const) {
      if (typeof p[k] !== 'string' || !p[k]) throw problem(name, `${at}.${k} must be a non-empty string`);
    }
    for (const k of ['name', 'connector', 'operation'] as const) if (!WORD.test(p[k])) throw problem(name, `${at}.${k} "${p[k]}" may use letters, digits, - and _ only`);
    if (!/^[a-z0-9_-]+\/[a-z0-9_-]+$/i.test(p.mapping)) throw problem(name, `${at}.mapping "${p.mapping}" must be <connector type>/<target> (mappings/<type>/<target>.out.jsonata)`);
    const extra = Object.keys(p).filter((k) => !['name', 'connector', 'operation', 'mapping'].includes(k));
    if (extra.length) throw problem(name, `${at}: unknown field "${extra[0]}" (a push has name, connector, operation, mapping)`);
    if (names.has(p.name)) throw problem(name, `${at}.name "${p.name}" is used twice`);
    names.add(p.name);
  });
}

const cache = new Map<string, ExcelTemplate>();

/** Names of the templates under mappings/excel (`<name>.template.json`). */
export function listTemplates(root = templatesRoot()): string[] {
  if (!existsSync(root)) return [];
  return readdirSync(root).filter((f) => f.endsWith('.template.json')).map((f) => f.replace(/\.template\.json$/, '')).sort();
}

/** Loads and checks `mappings/excel/<name>.template.json` (cached per process). */
export function loadTemplate(name: string, root = templatesRoot()): ExcelTemplate {
  const key = `${root}\u0000${name}`;
  const hit = cache.get(key);
  if (hit) return hit;
  if (!/^[a-z0-9_-]+$/i.test(name)) throw new ExcelFileError('UNKNOWN_TEMPLATE', `"${name}" is not a template name`, { file: name });
  const file = join(root, `${name}.template.json`);
  if (!existsSync(file)) {
    throw new ExcelFileError('UNKNOWN_TEMPLATE', `no Excel template "${name}"; templates: ${listTemplates(root).join(', ') || 'none'}`, { file: name });
  }
  const t = checkTemplate(JSON.parse(readFileSync(file, 'utf8')) as ExcelTemplate, name);
  (t.push ?? []).forEach((p, i) => {
    if (!existsSync(join(dirname(root), `${p.mapping}.out.jsonata`))) {
      throw problem(name, `push[${i}].mapping: no outbound mapping mappings/${p.mapping}.out.jsonata`);
    }
  });
  cache.set(key, t);
  return t;
}

export function sheetLimits(t: ExcelTemplate): SheetLimits {
  return { ...DEFAULT_SHEET_LIMITS, ...(t.limits ?? {}) };
}

/** Columns an import reads (export-only ones are recognized but ignored). */
export function importColumns(t: ExcelTemplate): TemplateColumn[] {
  return t.columns.filter((c) => !c.exportOnly);
}

/** Header key → column, for headers and aliases. */
export function headerIndex(t: ExcelTemplate): Map<string, TemplateColumn> {
  const m = new Map<string, TemplateColumn>();
  for (const c of t.columns) for (const h of [c.header, ...(c.aliases ?? [])]) m.set(headerKey(h), c);
  return m;
}
