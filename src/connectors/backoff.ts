/** Retry timing: exponential backoff with full jitter, and the vendor's own `Retry-After`. */

/**
 * Delay before retry number `retry` (1 = first retry): uniform in [0, min(maxMs, baseMs·2^(retry-1))].
 * Full jitter spreads a crowd of clients that failed together instead of having them retry in step
 * (AWS Architecture Blog, "Exponential Backoff And Jitter").
 */
export function backoffDelay(retry: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, retry - 1));
  return Math.floor(random() * ceiling);
}

/** The longest wait a `Retry-After` can ask for: anything longer (a proxy's 99999999999) is read as this. */
export const RETRY_AFTER_CEILING_MS = 24 * 3600_000;

/** asctime-date (RFC 9110 §5.6.7, obsolete but to be accepted): `Sun Nov  6 08:49:37 1994`, always GMT. */
const ASCTIME = /^[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4}$/;

/**
 * `Retry-After` in milliseconds from now, or undefined when absent or unreadable.
 * RFC 9110 §10.2.3 allows delay-seconds or an HTTP-date; a date in the past means "now". Capped
 * at RETRY_AFTER_CEILING_MS, so no answer parks work for years (or forever: Infinity).
 */
export function parseRetryAfter(header: unknown, nowMs: number): number | undefined {
  if (Array.isArray(header)) header = header[0];
  if (typeof header !== 'string' && typeof header !== 'number') return undefined;
  const text = String(header).trim();
  if (text === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(text)) return Math.min(RETRY_AFTER_CEILING_MS, Math.ceil(Number(text) * 1000));
  // IMF-fixdate and RFC 850 end in GMT; Date.parse alone would accept "-5".
  const at = /GMT$/i.test(text) ? Date.parse(text) : ASCTIME.test(text) ? Date.parse(`${text} GMT`) : NaN;
  if (Number.isNaN(at)) return undefined;
  return Math.min(RETRY_AFTER_CEILING_MS, Math.max(0, at - nowMs));
}
