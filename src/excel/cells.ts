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

/** A date → the serial Excel gives it (`serialToDate` reverses it): before 1900-03-01, one less than days since 1899-12-30. */
function dateToSerial(d: Date, date1904: boolean): number {
  const ms = d.getTime();
  if (date1904) return (ms - EXCEL_EPOCH_1904) / 86400000;
  return (ms - (ms < Date.UTC(1900, 2, 1) ? Date.UTC(1899, 11, 31) : EXCEL_EPOCH)) / 86400000;
}

function pad(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** Last serial Excel has: 9999-12-31 (1900 system); the 1904 system ends 1,462 days earlier. */
const MAX_SERIAL = 2958465;

/**
 * Excel serial day number → YYYY-MM-DD (the time of day is dropped), or null when the number is no
 * day Excel has. The 1900 system counts 1 = 1900-01-01 and keeps Lotus 1-2-3's mistake: 60 is
 * 1900-02-29, a day that never was (null here); from 61 (1900-03-01) on, days count from 1899-12-30.
 * The 1904 system counts 0 = 1904-01-01.
 */
export function serialToDate(serial: number, date1904 = false): string | null {
  if (!Number.isFinite(serial)) return null;
  const day = Math.floor(serial + 1e-9);
  let ms: number;
  if (date1904) {
    if (day < 0 || day > MAX_SERIAL - 1462) return null;
    ms = EXCEL_EPOCH_1904 + day * 86400000;
  } else {
    if (day < 1 || day > MAX_SERIAL || day === 60) return null;
    ms = (day < 60 ? Date.UTC(1899, 11, 31) : EXCEL_EPOCH) + day * 86400000;
  }
  const d = new Date(ms);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
}

/**
 * The apostrophe Junction's exports put before text that starts like a formula (`guard.ts`:
 * = + - @ tab, CR, NUL): `'=…` reads back as `=…`, so an export imports to the values it came from.
 * Only exactly that is undone: an apostrophe before anything else is part of the text.
 */
function unguard(text: string): string {
  return text.length > 1 && text.charCodeAt(0) === 39 && /^'[=+\-@\t\r\0]/.test(text) ? text.slice(1) : text;
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
 * The range of an int column: `min`/`max` when the template declares them, else 0–1200 (the only
 * int column so far is a count of months: 100 years of warranty is already far more than any has).
 * An unbounded value went on into date arithmetic (purchase date + 99999 months = NaN-NaN-NaN).
 */
export const DEFAULT_INT_RANGE = { min: 0, max: 1200 };

function intRange(col: TemplateColumn): { min: number; max: number } {
  const c: { min?: unknown; max?: unknown } = col; // template JSON is read unchecked: still verify the types
  return {
    min: typeof c.min === 'number' && Number.isInteger(c.min) ? c.min : DEFAULT_INT_RANGE.min,
    max: typeof c.max === 'number' && Number.isInteger(c.max) ? c.max : DEFAULT_INT_RANGE.max,
  };
}

/**
 * A serial number in a date column (a number cell, or digits typed as text) → its date. A whole
 * number 1900–2100 is a year someone typed, not the serial of a day in 1905: refused, as are 60
 * (1900-02-29, which never was) and numbers that are no serial.
 */
function serialDate(n: number, raw: Exclude<RawValue, null>, ctx: ParseContext): string | BadValue {
  if (Number.isInteger(n) && n >= 1900 && n <= 2100) {
    return new BadValue('INVALID_DATE', `${show(raw)} is a year, not a date (write the whole date, like ${n}-02-18)`);
  }
  const d = serialToDate(n, ctx.date1904);
  if (!d) return new BadValue('INVALID_DATE', `${show(raw)} is not a date (write it like 2026-02-18)`);
  return d;
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
      const t = typeof raw === 'string' ? unguard(raw) : asText(raw);
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
      const text = unguard(asText(raw));
      // 1.23457E+11: a long serial Excel stored as a number and shows (or a tool wrote) in scientific notation
      if (/^[0-9０-９]([.．][0-9０-９]+)?[eEｅＥ][+＋][0-9０-９]{1,3}$/.test(text)) {
        return new BadValue('NUMBER_PRECISION', `${show(raw)} is a number in scientific notation: Excel stored the serial as a number and kept only some of its digits; format the column as text and type the serial again`);
      }
      return normalizeSerial(text);
    }
    case 'date': {
      if (typeof raw === 'number') {
        // 20260218 typed as a number (beyond any Excel serial, which ends at 2958465 = 9999-12-31)
        if (Number.isInteger(raw) && raw >= 19000101 && raw <= 21991231) {
          const d = parseDate(`${String(raw).slice(0, 4)}-${String(raw).slice(4, 6)}-${String(raw).slice(6)}`);
          if (d) return d;
        }
        return serialDate(raw, raw, ctx);
      }
      if (typeof raw === 'boolean') return new BadValue('INVALID_DATE', `${show(raw)} is not a date`);
      const t = toHalfWidth(unguard(raw)).trim();
      let d: string | null = null;
      const compact = /^(\d{4})(\d{2})(\d{2})$/.exec(t);
      if (compact) d = parseDate(`${compact[1]}-${compact[2]}-${compact[3]}`);
      else if (/^\d{1,7}(\.\d+)?$/.test(t)) {
        const serial = serialDate(Number(t), raw, ctx);
        if (serial instanceof BadValue) return serial;
        d = serial;
      }
      else if (/^\d{4}\s*[-/.年]/.test(t)) d = parseDate(t.replace(/\s+/g, '')); // a time after the date is ignored
      if (!d || d < '1900-01-01' || d > '2199-12-31') return new BadValue('INVALID_DATE', `${show(raw)} is not a date (write it like 2026-02-18)`);
      return d;
    }
    case 'int': {
      const n = typeof raw === 'number' ? raw : typeof raw === 'string' ? Number(toHalfWidth(unguard(raw)).replace(/[,\s]/g, '')) : NaN;
      if (!Number.isInteger(n)) return new BadValue('INVALID_NUMBER', `${show(raw)} is not a whole number`);
      const { min, max } = intRange(col);
      if (n < min || n > max) return new BadValue('OUT_OF_RANGE', `${show(raw)} is out of range: ${min} to ${max}`);
      return n;
    }
    case 'decimal': {
      const t = typeof raw === 'number' ? String(raw) : typeof raw === 'string' ? toHalfWidth(unguard(raw)).replace(/[,\s¥￥]/g, '') : '';
      if (!/^-?\d{1,12}(\.\d{1,4})?$/.test(t)) return new BadValue('INVALID_NUMBER', `${show(raw)} is not an amount (up to 4 decimals)`);
      return t;
    }
    case 'enum': {
      const v = enumIndex(col).get(toHalfWidth(typeof raw === 'string' ? unguard(raw) : asText(raw)).trim().toLowerCase());
      return v ?? new BadValue('NOT_ALLOWED', `${show(raw)} is not one of ${(col.values ?? []).join(', ')}`);
    }
  }
}
