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

/**
 * `Retry-After` in milliseconds from now, or undefined when absent or unreadable.
 * RFC 9110 §10.2.3 allows delay-seconds or an HTTP-date; a date in the past means "now".
 */
export function parseRetryAfter(header: unknown, nowMs: number): number | undefined {
  if (Array.isArray(header)) header = header[0];
  if (typeof header !== 'string' && typeof header !== 'number') return undefined;
  const text = String(header).trim();
  if (text === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(text)) return Math.ceil(Number(text) * 1000);
  if (!/GMT$/i.test(text)) return undefined; // IMF-fixdate; Date.parse alone would accept "-5"
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}
