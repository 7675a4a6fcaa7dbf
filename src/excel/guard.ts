/**
 * Formula injection: a text cell that starts with = + - @ (or tab, CR, NUL) can be taken as a
 * formula by Excel or by whatever opens an export later (CSV especially). Such text is written
 * with a leading apostrophe, so `=HYPERLINK("http://evil","click")` comes out as
 * `'=HYPERLINK("http://evil","click")`: shown as text, never evaluated. Numbers and dates are
 * written as numbers and dates and are not touched.
 */
const DANGEROUS = /^[=+\-@\t\r\0]/;

export function neutralize<T>(value: T): T | string {
  return typeof value === 'string' && DANGEROUS.test(value) ? `'${value}` : value;
}

export function isDangerous(value: unknown): boolean {
  return typeof value === 'string' && DANGEROUS.test(value);
}
