import { normalizePhone, normalizeSerial } from '../identity/normalize';

/**
 * Pure helper functions every mapping can call ($normalizePhone, $parseDate, ...). They accept
 * the date formats the vendors really send and return null for empty input, never throw on
 * unreadable values (a mapping decides what a missing value means).
 */

const EXCEL_EPOCH_UTC = Date.UTC(1899, 11, 30);

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

function ymd(d: Date): string {
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
}

/** Reads a vendor date/time into a Date (UTC), or null. `zoneless` = how to read times without a zone. */
export function toInstant(value: unknown, zonelessOffsetMinutes = 480): Date | null {
  if (value === null || value === undefined || value === '') return null;
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return null;
    // Small numbers are Excel serial days; large ones epoch milliseconds (ThingsBoard ts).
    return new Date(value < 1e6 ? EXCEL_EPOCH_UTC + value * 86400000 : value);
  }
  const text = String(value).trim();
  let m = /^\/Date\((-?\d+)([+-]\d{4})?\)\/$/.exec(text); // Kingdee/.NET JSON dates
  if (m) return new Date(Number(m[1]));
  if (/^\d{10,13}$/.test(text)) return new Date(text.length === 13 ? Number(text) : Number(text) * 1000);
  if (/^\d+(\.\d+)?$/.test(text)) return toInstant(Number(text), zonelessOffsetMinutes);
  m = /^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?(?:[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?\s*(Z|[+-]\d{2}:?\d{2})?$/.exec(text);
  if (!m) return null;
  const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '0', zone] = m;
  const ms = Number(frac.slice(0, 3).padEnd(3, '0'));
  const utc = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), ms);
  const check = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d)));
  if (check.getUTCMonth() !== Number(mo) - 1 || check.getUTCDate() !== Number(d)) return null; // 2026-02-30
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

/** `YYYY-MM-DD` as written in the source (a date-only value keeps its calendar day). */
export function parseDate(value: unknown): string | null {
  if (value === null || value === undefined || value === '') return null;
  if (typeof value === 'string') {
    const m = /^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})/.exec(value.trim());
    if (m) {
      const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
      return d.getUTCMonth() === Number(m[2]) - 1 ? ymd(d) : null;
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
  return ymd(target);
}

export function monthsBetween(from: unknown, to: unknown): number | null {
  const a = parseDate(from);
  const b = parseDate(to);
  if (!a || !b) return null;
  const [y1, m1, d1] = a.split('-').map(Number);
  const [y2, m2, d2] = b.split('-').map(Number);
  let months = (y2 - y1) * 12 + (m2 - m1);
  if (months > 0 && d2 < d1) months -= 1;
  if (months < 0 && d2 > d1) months += 1;
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
