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

/**
 * SpreadsheetML's own escapes (ST_Xstring, which Excel and Junction's reader decode; exceljs writes
 * text as it is): a literal `_xHHHH_` in a value would be shown as the character HHHH, so it is
 * written `_x005F_xHHHH_`; a carriage return would become a line feed (XML normalizes line ends),
 * so it is written `_x000D_`, as Excel does.
 */
const XSTRING_LOOKALIKE = /_x([0-9A-Fa-f]{4})_/g;

function escapeXstring(text: string): string {
  const literal = text.includes('_x') ? text.replace(XSTRING_LOOKALIKE, '_x005F_x$1_') : text;
  return literal.includes('\r') ? literal.replaceAll('\r', '_x000D_') : literal;
}

/** The guard every exported text cell goes through: formula injection, then characters XML cannot hold, then SpreadsheetML's escapes. */
export function neutralize<T>(value: T): T | string {
  if (typeof value !== 'string') return value;
  const text = value.includes('\uFFFE') || value.includes('\uFFFF') ? value.replace(NOT_XML, '\uFFFD') : value;
  return escapeXstring(DANGEROUS.test(text) ? `'${text}` : text);
}

export function isDangerous(value: unknown): boolean {
  return typeof value === 'string' && DANGEROUS.test(value);
}
