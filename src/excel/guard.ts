import { encodeXstring } from './xstring';

/**
 * Formula injection: a text cell that starts with = + - @ (or tab, CR, NUL) can be taken as a
 * formula by Excel or by whatever opens an export later (CSV especially). Such text is written
 * with a leading apostrophe, so `=HYPERLINK("http://evil","click")` comes out as
 * `'=HYPERLINK("http://evil","click")`: shown as text, never evaluated. Numbers and dates are
 * written as numbers and dates and are not touched.
 */
const DANGEROUS = /^[=+\-@\t\r\0]/;

/**
 * U+FFFE and U+FFFF are not characters XML can hold: a cell with one makes a workbook Excel refuses
 * to open (and that Junction's own reader refuses as damaged). They are written as U+FFFD. (exceljs
 * drops the C0 control characters XML cannot hold itself; a lone surrogate becomes U+FFFD when the
 * text is encoded.)
 */
const NOT_XML = /[\uFFFE\uFFFF]/g;

/** The guard every exported text cell goes through: formula injection, then characters XML cannot hold, then SpreadsheetML's escapes (`xstring.ts`). */
export function neutralize<T>(value: T): T | string {
  if (typeof value !== 'string') return value;
  const text = value.includes('\uFFFE') || value.includes('\uFFFF') ? value.replace(NOT_XML, '\uFFFD') : value;
  return encodeXstring(DANGEROUS.test(text) ? `'${text}` : text);
}

export function isDangerous(value: unknown): boolean {
  return typeof value === 'string' && DANGEROUS.test(value);
}
