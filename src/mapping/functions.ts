import { normalizePhone, normalizeSerial } from '../identity/normalize';

/**
 * Pure helper functions every mapping can call ($normalizePhone, $parseDate, ...). They accept
 * the date formats the vendors really send and return null for empty input, never throw on
 * unreadable values (a mapping decides what a missing value means).
 */

const EXCEL_EPOCH_UTC = Date.UTC(1899, 11, 30);

/**
 * The years a vendor date may have: 1900–2199, as the Excel import reads them (src/excel/cells.ts).
 * Anything else is a misreading (a number taken in the wrong unit, .NET's DateTime.MinValue
 * `/Date(-62135596800000)/` that Kingdee sends for "no date", `0001-01-01`, `9999-12-31`) and is null.
 */
export const MIN_YEAR = 1900;
export const MAX_YEAR = 2199;
/** The same window for instants: 1900-01-01 00:00 up to (not including) 2200-01-01 00:00, China time. */
const MIN_INSTANT = Date.UTC(MIN_YEAR, 0, 1) - 480 * 60000;
const MAX_INSTANT = Date.UTC(MAX_YEAR + 1, 0, 1) - 480 * 60000;

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

function ymd(d: Date): string {
  return `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
}

/** Midnight UTC of a calendar day, or null when there is no such day (2026-02-30) or its year is out of range. */
function calendarDay(y: number, mo: number, d: number): Date | null {
  if (y < MIN_YEAR || y > MAX_YEAR) return null;
  const date = new Date(0);
  date.setUTCFullYear(y, mo - 1, d); // not Date.UTC, which reads years 0–99 as 1900–1999
  return date.getUTCMonth() === mo - 1 && date.getUTCDate() === d ? date : null;
}

function withinRange(ms: number): Date | null {
  return Number.isFinite(ms) && ms >= MIN_INSTANT && ms < MAX_INSTANT ? new Date(ms) : null;
}

/**
 * What a number means, by its size (the same rule for a JSON number and for text of digits):
 * - below 1,000,000: Excel serial days (46071 = 2026-02-18; a fraction is the time of day, UTC);
 * - 8 digits, whole: `YYYYMMDD` (20260115), null when that is no calendar day;
 * - from 10^8 up to 10^11: epoch seconds (1767225600 = 2026-01-01T00:00:00Z);
 * - 10^11 and above: epoch milliseconds (ThingsBoard ts).
 * Seconds and milliseconds overlap nowhere in 1973–2199. Anything else (negative, 7 digits, an
 * 8-digit fraction) and anything outside 1900–2199 is null.
 */
function fromNumber(value: number, zonelessOffsetMinutes: number): Date | null {
  if (!Number.isFinite(value) || value < 0) return null;
  if (value < 1e6) return withinRange(EXCEL_EPOCH_UTC + value * 86400000);
  if (value < 1e8) {
    if (value < 1e7 || !Number.isInteger(value)) return null;
    const day = calendarDay(Math.floor(value / 10000), Math.floor(value / 100) % 100, value % 100);
    return day ? new Date(day.getTime() - zonelessOffsetMinutes * 60000) : null;
  }
  return withinRange(value < 1e11 ? value * 1000 : value);
}

/**
 * Reads a vendor date/time into a Date (UTC), or null. `zonelessOffsetMinutes` = how to read times
 * without a zone (China time by default). Numbers: see `fromNumber`.
 */
export function toInstant(value: unknown, zonelessOffsetMinutes = 480): Date | null {
  if (value === null || value === undefined || value === '') return null;
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : withinRange(value.getTime());
  if (typeof value === 'number') return fromNumber(value, zonelessOffsetMinutes);
  const text = String(value).trim();
  let m = /^\/Date\((-?\d+)([+-]\d{4})?\)\/$/.exec(text); // Kingdee/.NET JSON dates
  if (m) return withinRange(Number(m[1]));
  if (/^\d+(\.\d+)?$/.test(text)) return fromNumber(Number(text), zonelessOffsetMinutes);
  m = /^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?(?:[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?\s*(Z|[+-]\d{2}:?\d{2})?$/.exec(text);
  if (!m) return null;
  const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '0', zone] = m;
  const day = calendarDay(Number(y), Number(mo), Number(d)); // null for 2026-02-30 and out-of-range years
  if (!day) return null;
  const ms = Number(frac.slice(0, 3).padEnd(3, '0'));
  const utc = day.getTime() + ((Number(h) * 60 + Number(mi)) * 60 + Number(s)) * 1000 + ms;
  let offset = zonelessOffsetMinutes;
  if (zone === 'Z') offset = 0;
  else if (zone) {
    const z = zone.replace(':', '');
    offset = (z[0] === '-' ? -1 : 1) * (Number(z.slice(1, 3)) * 60 + Number(z.slice(3, 5)));
  }
  return new Date(utc - offset * 60000);
}

/** The sources' calendar (China time, UTC+8): the day an instant falls on there, `YYYY-MM-DD`. */
export function sourceCalendarDay(instant: Date): string {
  return ymd(new Date(instant.getTime() + 480 * 60000));
}

/**
 * `YYYY-MM-DD` as written in the source (a date-only value keeps its calendar day): `2026-01-15`,
 * `2026/1/15`, `2026年1月15日`, `20260115` (text or number); years 1900–2199, else null.
 */
export function parseDate(value: unknown): string | null {
  if (value === null || value === undefined || value === '') return null;
  if (typeof value === 'string') {
    const text = value.trim();
    const m = /^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})/.exec(text) ?? /^(\d{4})(\d{2})(\d{2})$/.exec(text);
    if (m) {
      const d = calendarDay(Number(m[1]), Number(m[2]), Number(m[3]));
      return d ? ymd(d) : null;
    }
  }
  // Instants (epoch, /Date()/) are read as China time, the calendar the sources keep.
  const instant = toInstant(value);
  return instant ? sourceCalendarDay(instant) : null;
}

export function parseDateTime(value: unknown): string | null {
  const instant = toInstant(value);
  return instant ? instant.toISOString() : null;
}

export function addMonths(date: unknown, months: unknown): string | null {
  const start = parseDate(date);
  const n = Number(months);
  if (!start || !Number.isInteger(n)) return null;
  const [y, m, d] = start.split('-').map(Number);
  const target = new Date(Date.UTC(y, m - 1 + n, 1));
  const lastDay = new Date(Date.UTC(target.getUTCFullYear(), target.getUTCMonth() + 1, 0)).getUTCDate();
  target.setUTCDate(Math.min(d, lastDay));
  const year = target.getUTCFullYear();
  return year >= MIN_YEAR && year <= MAX_YEAR ? ymd(target) : null;
}

/**
 * Whole months from `from` to `to`, by the same end-of-month rule as addMonths: the largest n with
 * addMonths(from, n) <= to (counting forward), so monthsBetween('2026-01-31', '2026-02-28') = 1 as
 * addMonths('2026-01-31', 1) = '2026-02-28'; backwards, the most negative n with addMonths(from, n) >= to.
 */
export function monthsBetween(from: unknown, to: unknown): number | null {
  const a = parseDate(from);
  const b = parseDate(to);
  if (!a || !b) return null;
  const [y1, m1] = a.split('-').map(Number);
  const [y2, m2] = b.split('-').map(Number);
  let months = (y2 - y1) * 12 + (m2 - m1);
  if (months > 0 && addMonths(a, months)! > b) months -= 1;
  if (months < 0 && addMonths(a, months)! < b) months += 1;
  return months;
}

/** name → [implementation, JSONata signature] */
export const MAPPING_FUNCTIONS: Record<string, [(...args: any[]) => unknown, string]> = {
  normalizePhone: [(v: unknown) => (v === undefined ? undefined : normalizePhone(v as string)), '<(sn)?:s>'],
  normalizeSerial: [(v: unknown) => (v === undefined ? undefined : normalizeSerial(v as string)), '<(sn)?:s>'],
  parseDate: [(v: unknown) => (v === undefined ? undefined : parseDate(v)), '<(sn)?:s>'],
  parseDateTime: [(v: unknown) => (v === undefined ? undefined : parseDateTime(v)), '<(sn)?:s>'],
  addMonths: [(d: unknown, n: unknown) => (d === undefined ? undefined : addMonths(d, n)), '<(sn)?n:s>'],
  monthsBetween: [(a: unknown, b: unknown) => (a === undefined || b === undefined ? undefined : monthsBetween(a, b)), '<(sn)?(sn)?:n>'],
};
