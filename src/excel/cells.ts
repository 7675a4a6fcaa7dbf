import { normalizePhone, normalizeSerial, toHalfWidth } from '../identity/normalize';
import { parseDate } from '../mapping/functions';
import type { TemplateColumn } from './template';

/**
 * From what exceljs gives for a cell to the typed, normalized value a template column wants.
 * Every problem becomes a plain-language message about the value; the caller adds where it is.
 */

/** A cell that cannot be read as a value (an error cell, a formula without a cached result). */
export class CellIssue {
  constructor(readonly code: string, readonly message: string) {}
}

export type RawValue = string | number | boolean | null;

/**
 * exceljs cell value → string, number, boolean or null. Formulas are read by their cached result
 * (what Excel last showed); rich text is joined; hyperlinks give their text.
 */
export function readCell(value: unknown, date1904 = false): RawValue | CellIssue {
  if (value === null || value === undefined) return null;
  switch (typeof value) {
    case 'string':
      return value;
    case 'number':
      return Number.isFinite(value) ? value : new CellIssue('CELL_ERROR', 'the cell holds an invalid number');
    case 'boolean':
      return value;
    case 'object':
      break;
    default:
      return String(value);
  }
  if (value instanceof Date) return dateToSerial(value, date1904);
  const v = value as Record<string, any>;
  if ('formula' in v || 'sharedFormula' in v) {
    if (!('result' in v) || v.result === undefined) {
      return new CellIssue('NO_CACHED_VALUE', 'is a formula the file has no calculated value for (open the file in Excel and save it, so the results are stored)');
    }
    const r = v.result;
    if (typeof r === 'number' && Number.isNaN(r)) return new CellIssue('FORMULA_ERROR', 'is a formula whose result is an error (#N/A, #VALUE!, …)');
    if (r && typeof r === 'object' && 'error' in r) return new CellIssue('FORMULA_ERROR', `is a formula whose result is the error ${r.error}`);
    return readCell(r, date1904);
  }
  if ('error' in v) return new CellIssue('CELL_ERROR', `holds the error ${v.error}`);
  if (Array.isArray(v.richText)) return v.richText.map((r: { text?: string }) => r.text ?? '').join('');
  if ('text' in v) return readCell(v.text, date1904);
  if ('sharedString' in v) return new CellIssue('CELL_ERROR', 'refers to a shared string the file does not have');
  return new CellIssue('CELL_ERROR', 'holds a value of an unknown kind');
}

const EXCEL_EPOCH = Date.UTC(1899, 11, 30);
const EXCEL_EPOCH_1904 = Date.UTC(1904, 0, 1);

function dateToSerial(d: Date, date1904: boolean): number {
  return (d.getTime() - (date1904 ? EXCEL_EPOCH_1904 : EXCEL_EPOCH)) / 86400000;
}

function pad(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** Excel serial day number → YYYY-MM-DD (the time of day is dropped). */
export function serialToDate(serial: number, date1904 = false): string | null {
  if (!Number.isFinite(serial) || serial < 1 || serial > 2958465) return null;
  const d = new Date((date1904 ? EXCEL_EPOCH_1904 : EXCEL_EPOCH) + Math.floor(serial + 1e-9) * 86400000);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
}

/** Leading apostrophe that our own exports add against formula injection: `'=…` reads back as `=…`. */
function unguard(text: string): string {
  return text.length > 1 && text.charCodeAt(0) === 39 && /^'[=+\-@]/.test(text) ? text.slice(1) : text;
}

const TRIM = /^[\s\u3000\u00a0]+|[\s\u3000\u00a0]+$/g;

function asText(raw: Exclude<RawValue, null>): string {
  return typeof raw === 'string' ? raw.replace(TRIM, '') : String(raw);
}

// ---- phones ------------------------------------------------------------------------------------

const mobileValidity = new Map<string, boolean>();

/**
 * normalizePhone with a fast path for the common case, an 11-digit Chinese mobile number: its
 * validity depends only on the leading digits (number ranges), so it is computed once per
 * 7-digit prefix by normalizePhone itself and remembered. Anything else goes to normalizePhone.
 */
export function normalizePhoneFast(input: string | number): string | null {
  let text = typeof input === 'number' ? String(input) : input;
  if (/[\uff10-\uff19\uff0b\uff0d\u3000]/.test(text)) text = toHalfWidth(text);
  let digits = text.replace(/[\s\-()]/g, '');
  if (digits.startsWith('+86')) digits = digits.slice(3);
  else if (digits.startsWith('0086')) digits = digits.slice(4);
  if (digits.length === 11 && digits.charCodeAt(0) === 49 && /^\d{11}$/.test(digits)) {
    const prefix = digits.slice(0, 7);
    let ok = mobileValidity.get(prefix);
    if (ok === undefined) {
      ok = normalizePhone(digits) === `+86${digits}`;
      mobileValidity.set(prefix, ok);
    }
    return ok ? `+86${digits}` : null;
  }
  return normalizePhone(text);
}

// ---- typed values ------------------------------------------------------------------------------

/** A value that does not fit its column: the message says what is wrong with it. */
export class BadValue {
  constructor(readonly code: string, readonly message: string) {}
}

export interface ParseContext {
  date1904: boolean;
}

const MAX_TEXT = 4000;

function show(raw: Exclude<RawValue, null>): string {
  const s = typeof raw === 'string' ? raw : String(raw);
  return JSON.stringify(s.length > 60 ? `${s.slice(0, 57)}…` : s);
}

const enumIndexes = new WeakMap<TemplateColumn, Map<string, string>>();

function enumIndex(col: TemplateColumn): Map<string, string> {
  let m = enumIndexes.get(col);
  if (!m) {
    m = new Map();
    for (const v of col.values ?? []) m.set(toHalfWidth(v).trim().toLowerCase(), v);
    for (const [alias, v] of Object.entries(col.valueAliases ?? {})) m.set(toHalfWidth(alias).trim().toLowerCase(), v);
    enumIndexes.set(col, m);
  }
  return m;
}

/**
 * A raw cell value → the column's typed value (null when empty), or a BadValue.
 * Dates: Excel serial numbers or text (2026-02-18, 2026/2/18, 2026年2月18日, 20260218);
 * phones: numbers or text in any written form, full-width digits too; numbers: full-width, with
 * thousands separators.
 */
export function parseValue(col: TemplateColumn, raw: RawValue, ctx: ParseContext): unknown {
  if (raw === null) return null;
  if (typeof raw === 'string') {
    raw = raw.replace(TRIM, '');
    if (!raw) return null;
  }
  switch (col.type) {
    case 'text': {
      const t = asText(raw);
      const max = col.maxLength ?? MAX_TEXT;
      if (t.length > max) return new BadValue('TOO_LONG', `is ${t.length} characters long; at most ${max}`);
      return t;
    }
    case 'phone': {
      if (typeof raw === 'number' && !Number.isSafeInteger(raw)) return new BadValue('INVALID_PHONE', `${show(raw)} is not a phone number`);
      const p = normalizePhoneFast(typeof raw === 'string' ? unguard(raw) : String(raw));
      return p ?? new BadValue('INVALID_PHONE', `${show(raw)} is not a valid phone number`);
    }
    case 'serial': {
      if (typeof raw === 'number') {
        if (!Number.isSafeInteger(raw) || raw >= 1e15) {
          return new BadValue('NUMBER_PRECISION', `${show(raw)} was stored as a number and Excel keeps only 15 digits of it: format the column as text and type the serial again`);
        }
        return String(raw);
      }
      return normalizeSerial(unguard(asText(raw)));
    }
    case 'date': {
      if (typeof raw === 'number') {
        // 20260218 typed as a number (beyond any Excel serial, which ends at 2958465 = 9999-12-31)
        if (Number.isInteger(raw) && raw >= 19000101 && raw <= 21991231) {
          const d = parseDate(`${String(raw).slice(0, 4)}-${String(raw).slice(4, 6)}-${String(raw).slice(6)}`);
          if (d) return d;
        }
        return serialToDate(raw, ctx.date1904) ?? new BadValue('INVALID_DATE', `${show(raw)} is not a date`);
      }
      if (typeof raw === 'boolean') return new BadValue('INVALID_DATE', `${show(raw)} is not a date`);
      const t = toHalfWidth(unguard(raw)).trim();
      let d: string | null = null;
      const compact = /^(\d{4})(\d{2})(\d{2})$/.exec(t);
      if (compact) d = parseDate(`${compact[1]}-${compact[2]}-${compact[3]}`);
      else if (/^\d{1,5}(\.\d+)?$/.test(t)) d = serialToDate(Number(t), ctx.date1904);
      else if (/^\d{4}\s*[-/.年]/.test(t)) d = parseDate(t.replace(/\s+/g, '')); // a time after the date is ignored
      if (!d || d < '1900-01-01' || d > '2199-12-31') return new BadValue('INVALID_DATE', `${show(raw)} is not a date (write it like 2026-02-18)`);
      return d;
    }
    case 'int': {
      const n = typeof raw === 'number' ? raw : typeof raw === 'string' ? Number(toHalfWidth(unguard(raw)).replace(/[,\s]/g, '')) : NaN;
      if (!Number.isInteger(n) || Math.abs(n) > 2_147_483_647) return new BadValue('INVALID_NUMBER', `${show(raw)} is not a whole number`);
      return n;
    }
    case 'decimal': {
      const t = typeof raw === 'number' ? String(raw) : typeof raw === 'string' ? toHalfWidth(unguard(raw)).replace(/[,\s¥￥]/g, '') : '';
      if (!/^-?\d{1,12}(\.\d{1,4})?$/.test(t)) return new BadValue('INVALID_NUMBER', `${show(raw)} is not an amount (up to 4 decimals)`);
      return t;
    }
    case 'enum': {
      const v = enumIndex(col).get(toHalfWidth(asText(raw)).trim().toLowerCase());
      return v ?? new BadValue('NOT_ALLOWED', `${show(raw)} is not one of ${(col.values ?? []).join(', ')}`);
    }
  }
}
