/**
 * K3 datetime values as the Kingdee streams read them: every row of an incremental page carries
 * one (its FModifyDate), so the common shape is parsed by hand and the UTC instant formatted by
 * hand; `new Date(ms).toISOString()` and a regex match per row were most of the connector's own
 * CPU per record. Same results as those (datetime.test.ts checks against them).
 */

export interface KdTime {
  /** As a FilterString literal wants it: `2026-02-18 10:12:33.123` (server-local). */
  literal: string;
  /** Sorts as the instant does (fraction padded to 7 digits). */
  sortKey: string;
  /** ISO 8601 UTC. */
  iso: string;
}

const MS_DATE = /^\/Date\((-?\d+)([+-]\d{4})?\)\/$/;

function pad(n: number, w = 2): string {
  return String(n).padStart(w, '0');
}

const TWO_DIGITS = Array.from({ length: 100 }, (_, i) => pad(i));
/** Zeros that pad a `…:ss[.f…]` literal of this length to a 7-digit fraction. */
const SORT_PADDING = Array.from({ length: 28 }, (_, n) => (n === 19 ? '.0000000' : n > 20 ? '0'.repeat(27 - n) : ''));

/** `v[at..at+len)` as a number when all digits, else -1. */
function digitsAt(v: string, at: number, len: number): number {
  let x = 0;
  for (let i = at; i < at + len; i++) {
    const c = v.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    x = x * 10 + c;
  }
  return x;
}

/** `new Date(ms).toISOString()` without the Date: civil date from days (H. Hinnant's algorithm). */
export function isoOf(ms: number): string {
  const days = Math.floor(ms / 86_400_000);
  const rem = ms - days * 86_400_000;
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  // Years of other widths (and NaN, which throws there) as the Date does.
  if (!(year >= 1000 && year <= 9999)) return new Date(ms).toISOString();
  const f = rem % 1000;
  const hms = `${TWO_DIGITS[Math.floor(rem / 3_600_000)]}:${TWO_DIGITS[Math.floor(rem / 60_000) % 60]}:${TWO_DIGITS[Math.floor(rem / 1000) % 60]}`;
  return `${year}-${TWO_DIGITS[month]}-${TWO_DIGITS[day]}T${hms}.${f < 10 ? '00' : f < 100 ? '0' : ''}${f}Z`;
}

/** `YYYY-MM-DD[T ]HH:mm:ss[.f{1,7}]` (server-local); null when `v` is not in that shape. */
function parseLocal(v: string, utcOffsetMinutes: number): KdTime | undefined | null {
  const n = v.length;
  if (n < 19 || n === 20 || n > 27) return null;
  const sep = v.charCodeAt(10);
  if (v.charCodeAt(4) !== 45 || v.charCodeAt(7) !== 45 || (sep !== 84 && sep !== 32) || v.charCodeAt(13) !== 58 || v.charCodeAt(16) !== 58) return null;
  if (n > 19 && (v.charCodeAt(19) !== 46 || digitsAt(v, 20, n - 20) < 0)) return null;
  const y = digitsAt(v, 0, 4);
  const mo = digitsAt(v, 5, 2);
  const d = digitsAt(v, 8, 2);
  const h = digitsAt(v, 11, 2);
  const mi = digitsAt(v, 14, 2);
  const s = digitsAt(v, 17, 2);
  if (y < 0 || mo < 0 || d < 0 || h < 0 || mi < 0 || s < 0) return null;
  // Milliseconds: the fraction's first three digits, padded.
  let frac = 0;
  for (let i = 20; i < 23; i++) frac = frac * 10 + (i < n ? v.charCodeAt(i) - 48 : 0);
  const ms = Date.UTC(y, mo - 1, d, h, mi, s, frac) - utcOffsetMinutes * 60_000;
  if (Number.isNaN(ms)) return undefined;
  const literal = sep === 32 ? v : `${v.slice(0, 10)} ${v.slice(11)}`;
  return { literal, sortKey: literal + SORT_PADDING[n], iso: isoOf(ms) };
}

/**
 * A K3 datetime value: server-local `2026-02-18T10:12:33[.fff]`, or `/Date(ms+0800)/`. Returns
 * undefined for anything else (including empty).
 */
export function parseKingdeeDateTime(value: unknown, utcOffsetMinutes: number): KdTime | undefined {
  if (typeof value !== 'string') return undefined;
  const v = value.trim();
  const local = parseLocal(v, utcOffsetMinutes);
  if (local !== null) return local;
  const d = MS_DATE.exec(v);
  if (d) {
    const ms = Number(d[1]);
    const local = new Date(ms + utcOffsetMinutes * 60_000);
    const base = `${local.getUTCFullYear()}-${pad(local.getUTCMonth() + 1)}-${pad(local.getUTCDate())} ${pad(local.getUTCHours())}:${pad(local.getUTCMinutes())}:${pad(local.getUTCSeconds())}`;
    const frac = pad(local.getUTCMilliseconds(), 3);
    return { literal: `${base}.${frac}`, sortKey: `${base}.${frac}0000`, iso: new Date(ms).toISOString() };
  }
  return undefined;
}
